"""Turn catalog facts into short spoken sentences, in Chinese or English, from templates.

Shared by the catalog answerer and the idle pitches so a price is always said the same
way the guard reads it back. Every number in a sentence comes from a fact field: the
templates have no numbers of their own. Variants rotate so the host does not sound canned.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from host.catalog.facts import ProductFacts
from host.chat.normalize import has_cjk, readable
from host.reply.money import format_money
from host.reply.prompts import Language, Phrasebook

PERCENT_PART = re.compile(r"(\d+(?:\.\d+)?%)")
MAX_NAME_CHARS = 12
LOW_STOCK = 10


@dataclass(frozen=True)
class Line:
    """One sentence before it becomes a `Sentence`: its text and the products it states facts of."""

    text: str
    intent: str
    skus: tuple[str, ...] = ()


def _join(items: Sequence[str], language: Language) -> str:
    if language == "zh":
        return "、".join(items)
    if len(items) <= 2:
        return " and ".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def speakable_name(name: str) -> str:
    """A viewer's display name fit to say aloud: no emoji or symbols, not too long."""
    kept = "".join(ch for ch in readable(name) if ch.isalnum() or ch in " _-.")
    return kept.strip()[:MAX_NAME_CHARS].strip()


def askers_phrase(askers: Sequence[str], language: Language) -> str:
    fallback = "宝宝" if language == "zh" else "friend"
    names = list(dict.fromkeys(n for n in map(speakable_name, askers) if n)) or [fallback]
    if len(names) > 3:
        names = [*names[:2], "大家" if language == "zh" else "everyone"]
    if language == "zh" and len(names) > 1:
        return f"{'、'.join(names[:-1])}和{names[-1]}"
    return _join(names, language)


class Phraser:
    def __init__(self, book: Phrasebook, seed: int = 0) -> None:
        self.book = book
        self.seed = seed
        self._turns: Counter[tuple[str, Language]] = Counter()

    def rotate(self, key: str, language: Language, variants: Sequence[str]) -> str:
        """The next of several wordings of the same thing, starting at the seed."""
        turn = self._turns[(key, language)]
        self._turns[(key, language)] += 1
        return variants[(self.seed + turn) % len(variants)]

    def say(self, key: str, language: Language, **fields: object) -> str:
        """The next variant of a template, filled in."""
        return self.rotate(key, language, self.book.variants(key, language)).format(**fields)

    def to_english(self, value: str) -> str | None:
        """A zh attribute value in English through the glossary; None if some term is unknown."""
        for term, english in self.book.glossary:
            value = value.replace(term, english)
        return None if has_cjk(value) else value

    def values(self, value: str | None, language: Language) -> str | None:
        """ "黑色/米白" -> "black and off-white" / "黑色、米白"."""
        if not value:
            return None
        parts = [p.strip() for p in value.split("/") if p.strip()]
        if language == "en":
            english = [self.to_english(p) for p in parts]
            if any(e is None for e in english):
                return None
            parts = [e for e in english if e is not None]
        return _join(parts, language)

    def material(self, value: str | None, language: Language) -> str | None:
        """ "棉98% 氨纶2%" -> "98% cotton and 2% spandex"; zh keeps the merchant's words."""
        if not value or language == "zh":
            return value
        parts = []
        for part in re.split(r"[\s+/、,]+", value):
            if not part:
                continue
            percent = PERCENT_PART.search(part)
            term = self.to_english(PERCENT_PART.sub("", part).strip())
            if term is None:
                return None
            parts.append(f"{percent.group(1)} {term}" if percent else term)
        return _join(parts, language)

    def promotion(self, product: ProductFacts, language: Language) -> str | None:
        if not product.promotion:
            return None
        if language == "zh":
            return product.promotion
        for rule in self.book.promotions_en:
            match = rule.pattern.search(product.promotion)
            if match:
                return rule.en.format(*match.groups())
        return None

    def name(self, product: ProductFacts, language: Language) -> str:
        return product.name_en if language == "en" and product.name_en else product.name

    def fields(self, product: ProductFacts, language: Language) -> dict[str, object]:
        return {
            "name": self.name(product, language),
            "price": format_money(product.price, product.currency, language),
            "list_price": (
                format_money(product.list_price, product.currency, language)
                if product.list_price is not None
                else ""
            ),
            "link": product.link,
            "stock": product.stock,
        }

    def line(
        self, key: str, product: ProductFacts, language: Language, intent: str, **extra: object
    ) -> Line:
        text = self.say(key, language, **self.fields(product, language), **extra)
        return Line(text, intent, (product.sku,))

    def price(self, product: ProductFacts, language: Language, intent: str = "price") -> Line:
        on_sale = product.list_price is not None and product.list_price > product.price
        return self.line("price_sale" if on_sale else "price", product, language, intent)

    def promotion_line(
        self, product: ProductFacts, language: Language, intent: str = "discount"
    ) -> Line | None:
        promotion = self.promotion(product, language)
        if promotion is None:
            return None
        return self.line("promotion", product, language, intent, promotion=promotion)

    def stock(self, product: ProductFacts, language: Language) -> Line:
        if product.stock is None:
            key = "stock_unknown"
        elif product.stock == 0:
            key = "stock_out"
        elif product.stock <= LOW_STOCK:
            key = "stock_low"
        else:
            key = "stock"
        return self.line(key, product, language, "stock")

    def size(self, product: ProductFacts, language: Language) -> Line:
        attrs = product.attributes
        size = attrs.get("size")
        # a size list or a measured spec (500ml, 60x40cm); not a bare word such as 标准
        spec = size and ("/" in size or any(ch.isdigit() for ch in size))
        sizes = self.values(size, language) if spec else None
        colors = self.values(attrs.get("color") or attrs.get("colour"), language)
        if sizes and colors:
            return self.line("size_color", product, language, "size", sizes=sizes, colors=colors)
        if sizes:
            return self.line("size", product, language, "size", sizes=sizes)
        if colors:
            return self.line("color", product, language, "size", colors=colors)
        return self.line("details_card", product, language, "size")

    def material_line(self, product: ProductFacts, language: Language) -> Line:
        material = self.material(product.attributes.get("material"), language)
        if material is None:
            return self.line("details_card", product, language, "material")
        return self.line("material", product, language, "material", material=material)

    def link(self, product: ProductFacts, language: Language) -> Line:
        key = "link" if product.link is not None else "no_link"
        return self.line(key, product, language, "link")

    def summary(self, product: ProductFacts, language: Language, intent: str = "other") -> Line:
        key = "summary" if product.link is not None else "summary_unlisted"
        return self.line(key, product, language, intent)

    def compare(self, first: ProductFacts, second: ProductFacts, language: Language) -> Line:
        other = self.fields(second, language)
        text = self.say(
            "compare",
            language,
            **self.fields(first, language),
            name2=other["name"],
            price2=other["price"],
        )
        return Line(text, "compare", (first.sku, second.sku))
