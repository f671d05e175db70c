"""Pitch scripts (话术): a marketer's lines with alternatives and catalog variables.

A line such as `{家人们|宝宝们|老铁们}，{link}号链接{name}，直播间价{price}！` is spoken with
one alternative of each `{a|b|c}` group and the product's live facts in `{name}`, `{price}`,
`{link}`, `{promotion}`, `{list_price}`, `{stock}`. Numbers are never typed into a script:
a typed price would outlive the next price change, so validation refuses digits and the
catalog fills them at the moment of speaking.

Viewers stay for an hour and hear the same product pitched again and again, so choices
rotate without repeats: each opening and each alternative comes from a shuffled bag that
is emptied before it is refilled, and a refill never starts with the choice just used.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from host.catalog.facts import CatalogView, ProductFacts
from host.reply.events import Pitcher, Sentence
from host.reply.phrasing import Phraser
from host.reply.prompts import Language, PromptsError

VARIABLES = ("name", "price", "list_price", "link", "promotion", "stock")
SECTIONS = ("openings", "lines")
PLACE = re.compile(r"\{([^{}]*)\}")
DIGIT = re.compile(r"[0-9０-９]")


class ScriptError(PromptsError):
    """A script line that cannot be spoken as written."""


@dataclass(frozen=True)
class Script:
    openings: tuple[str, ...]
    lines: tuple[str, ...]


@dataclass(frozen=True)
class ScriptBook:
    """One language's scripts: the default, and per-product ones by SKU."""

    default: Script
    products: Mapping[str, Script]

    def for_product(self, sku: str) -> Script:
        return self.products.get(sku, self.default)


def check_line(line: str, where: str) -> list[str]:
    """Every problem of one script line, each as a sentence a marketer can act on."""
    problems = []
    depth = 0
    for i, char in enumerate(line):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0 or depth > 1:
            problems.append(f"{where}: unbalanced or nested braces at character {i + 1}")
            break
    else:
        if depth:
            problems.append(f"{where}: a '{{' is never closed")
    for match in PLACE.finditer(line):
        body = match.group(1)
        if "|" in body:
            if any(not alt.strip() for alt in body.split("|")):
                problems.append(f"{where}: empty alternative in {{{body}}}")
        elif body not in VARIABLES:
            problems.append(f"{where}: unknown variable {{{body}}} (known: {', '.join(VARIABLES)})")
    problems += typed_numbers(line, where)
    return problems


def typed_numbers(line: str, where: str) -> list[str]:
    """A digit outside `{...}`: a number that would outlive the catalog's next change."""
    if not DIGIT.search(PLACE.sub("", line)):
        return []
    return [
        f"{where}: typed number in {line!r}: use {{price}}, {{link}} or {{stock}}, which"
        " the live catalog fills"
    ]


def _script(data: Any, where: str) -> Script:
    if not isinstance(data, dict):
        raise ScriptError(f"{where}: expected 'openings' and 'lines'")
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise ScriptError(f"{where}: unknown section {sorted(unknown)[0]!r} (use openings, lines)")
    parts: dict[str, tuple[str, ...]] = {}
    for section in SECTIONS:
        items = data.get(section)
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            raise ScriptError(f"{where}.{section}: required, a list of lines")
        problems = [
            p for n, item in enumerate(items) for p in check_line(item, f"{where}.{section}[{n}]")
        ]
        if problems:
            raise ScriptError("; ".join(problems))
        parts[section] = tuple(items)
    return Script(parts["openings"], parts["lines"])


def script_book_from(data: Any, where: str) -> ScriptBook:
    """A script file's data (`default:` and optional `products: {SKU: ...}`) as a book."""
    if not isinstance(data, dict) or "default" not in data:
        raise ScriptError(f"{where}: required section 'default' (openings and lines)")
    products = data.get("products") or {}
    if not isinstance(products, dict):
        raise ScriptError(f"{where}: products: expected a mapping of SKU to a script")
    return ScriptBook(
        default=_script(data["default"], f"{where}: default"),
        products={str(sku): _script(s, f"{where}: products.{sku}") for sku, s in products.items()},
    )


def spoken_texts(book: ScriptBook) -> list[str]:
    """Every line of the book, alternatives spelled out, for the advertising-law check."""
    scripts = [book.default, *book.products.values()]
    return [line for s in scripts for line in (*s.openings, *s.lines)]


class Bag:
    """Choices in shuffled rounds: none repeats until all were used, and none twice in a row."""

    def __init__(self, choices: Sequence[str], rng: random.Random) -> None:
        self._choices = list(choices)
        self._rng = rng
        self._left: list[str] = []
        self._last: str | None = None

    def take(self) -> str:
        if not self._left:
            self._left = self._choices[:]
            self._rng.shuffle(self._left)
            if len(self._left) > 1 and self._left[-1] == self._last:
                self._left[0], self._left[-1] = self._left[-1], self._left[0]
        self._last = self._left.pop()
        return self._last


class ScriptPitcher:
    """Idle pitches from a script book; `Pitcher` for the session."""

    name = "script"

    def __init__(
        self,
        books: Mapping[Language, ScriptBook],
        phraser: Phraser,
        fallback: Pitcher,
        seed: int = 0,
    ) -> None:
        self._books = books
        self._phraser = phraser
        self._fallback = fallback
        self._rng = random.Random(seed)
        self._bags: dict[tuple[str, ...], Bag] = {}

    def _take(self, key: tuple[str, ...], choices: Sequence[str]) -> str:
        bag = self._bags.get(key)
        if bag is None:
            bag = self._bags[key] = Bag(choices, self._rng)
        return bag.take()

    def _fill(self, line: str, facts: Mapping[str, object], where: tuple[str, ...]) -> str | None:
        """The line spoken, or None when it names a fact the product lacks (no promotion)."""
        missing = False

        def place(match: re.Match[str]) -> str:
            nonlocal missing
            body = match.group(1)
            if "|" in body:
                return self._take((*where, body), body.split("|"))
            value = facts.get(body)
            if value is None or value == "":
                missing = True
                return ""
            return str(value)

        text = PLACE.sub(place, line)
        return None if missing else text

    def render(self, product: ProductFacts, language: Language) -> list[str]:
        """The pitch's sentences: one opening in rotation, then each line the facts allow."""
        script = self._books[language].for_product(product.sku)
        facts: dict[str, object] = {
            **self._phraser.fields(product, language),
            "promotion": self._phraser.promotion(product, language),
        }
        where = (language, product.sku)
        opening = self._take((*where, "opening"), script.openings)
        texts = [self._fill(opening, facts, where)]
        texts += [self._fill(line, facts, where) for line in script.lines]
        return [t for t in texts if t]

    async def pitch_sentences(
        self, product: ProductFacts, language: Language, catalog: CatalogView
    ) -> AsyncIterator[Sentence]:
        if language not in self._books:
            async for sentence in self._fallback.pitch_sentences(product, language, catalog):
                yield sentence
            return
        texts = self.render(product, language)
        for i, text in enumerate(texts):
            yield Sentence(
                text, language, "pitch", (product.sku,), self.name, i, i == len(texts) - 1
            )
