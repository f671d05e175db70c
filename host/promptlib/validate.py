"""Validation on save: a version that fails here is never stored, so it never reaches a session.

Each item kind is parsed by the same code that reads it on air (template syntax, required
sections, variables the code fills), and every line the host could speak is checked for
banned claims by the guard's own rules, each problem naming its advertising-law class.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from functools import cache
from typing import Any

import jinja2
import jinja2.meta

from host.errors import HostError
from host.promptlib.items import ItemSpec
from host.promptlib.scripts import script_book_from, spoken_texts, typed_numbers
from host.reply.guard import Guard
from host.reply.prompts import (
    DEFAULT_PROMPTS_DIR,
    PromptsError,
    banned_from,
    faq_from,
    parse_yaml,
    phrasebook_from,
)

# What each LLM template is given (host/reply/llm_prompt.py renders them).
JINJA_VARIABLES = {
    "llm/system.j2": {
        "persona",
        "reply_style",
        "language_rule",
        "current",
        "lineup",
        "facts",
        "policy",
    },
    "llm/reply.j2": {
        "comment",
        "askers",
        "history",
        "gift",
        "spoken",
        "correction",
        "compact",
        "late",
    },
    "llm/pitch.j2": {"product", "spoken", "correction"},
}
PERSONA_KEYS = ("version", "persona", "reply_style", "language_rule")
# Fields the answerer passes with any product line (host/reply/phrasing.py `fields`).
PRODUCT_FIELDS = frozenset({"name", "price", "list_price", "link", "stock", "is", "has", "comes"})
# banned.yaml must keep every class the law names; a marketer may add more.
CLAIM_CLASSES = ("absolute", "medical", "guarantee", "urgency", "off_platform")


class PromptInvalid(HostError):
    """A version that may not be saved; `problems` lists each one."""

    def __init__(self, ref: str, problems: list[str]) -> None:
        self.ref = ref
        self.problems = problems
        super().__init__(f"{ref} not saved: " + "; ".join(problems))


def _fields(template: str, where: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as error:
        raise PromptsError(f"{where}: template syntax: {error} in {template!r}") from None


@cache
def _seed_answer_fields() -> dict[str, set[str]]:
    """Template key -> the fields the answerer fills for it, read from the seed phrasebook."""
    data = parse_yaml((DEFAULT_PROMPTS_DIR / "answers.yaml").read_text(encoding="utf-8"), "seed")
    book = phrasebook_from(data, "seed")
    out = {}
    for key, by_lang in book.templates.items():
        names = {n for texts in by_lang.values() for t in texts for n in _fields(t, key)}
        out[key] = names | PRODUCT_FIELDS if "name" in names else names
    return out


def _phrasebook(data: Any, where: str) -> Iterator[tuple[str, str]]:
    book = phrasebook_from(data, where)
    allowed = _seed_answer_fields()
    missing = sorted(set(allowed) - set(book.templates))
    if missing:
        raise PromptsError(f"{where}: required section missing: {', '.join(missing)}")
    problems = []
    for key, by_lang in book.templates.items():
        known = allowed.get(key)
        if known is None:
            problems.append(f"{where}: unknown section {key!r} (the answerer never says it)")
            continue
        for lang, texts in by_lang.items():
            for n, text in enumerate(texts):
                spot = f"{where}: {key}.{lang}[{n}]"
                for name in sorted(_fields(text, spot) - known):
                    problems.append(
                        f"{spot}: unknown variable {{{name}}} (known: {', '.join(sorted(known))})"
                    )
                problems += typed_numbers(text, spot)
                yield spot, text
    if problems:
        raise PromptsError("; ".join(problems))


def _faq(data: Any, where: str) -> Iterator[tuple[str, str]]:
    for topic in faq_from(data, where):
        for lang, texts in topic.unknown.items():
            for n, text in enumerate(texts):
                yield f"{where}: {topic.name}.unknown.{lang}[{n}]", text


def _persona(data: Any, where: str) -> Iterator[tuple[str, str]]:
    if not isinstance(data, dict):
        raise PromptsError(f"{where}: expected a mapping")
    missing = [key for key in PERSONA_KEYS if not data.get(key)]
    rule = data.get("language_rule")
    if isinstance(rule, dict):
        missing += [f"language_rule.{lang}" for lang in ("zh", "en") if not rule.get(lang)]
    elif "language_rule" not in missing:
        missing.append("language_rule.zh/en")
    if missing:
        raise PromptsError(f"{where}: required section missing: {', '.join(missing)}")
    return iter(())  # instructions to the model, not lines it speaks


def _jinja(text: str, spec: ItemSpec) -> None:
    env = jinja2.Environment(autoescape=False)
    try:
        tree = env.parse(text)
    except jinja2.TemplateSyntaxError as error:
        raise PromptsError(
            f"{spec.ref}: line {error.lineno}: template syntax: {error.message}"
        ) from None
    unknown = sorted(jinja2.meta.find_undeclared_variables(tree) - JINJA_VARIABLES[spec.path])
    if unknown:
        known = ", ".join(sorted(JINJA_VARIABLES[spec.path]))
        raise PromptsError(f"{spec.ref}: unknown variable {unknown[0]} (known: {known})")


def spoken_lines(spec: ItemSpec, text: str) -> list[tuple[str, str]]:
    """(where, line) of every line the host could speak from this item; raises PromptsError
    for syntax, structure and variable problems."""
    if spec.kind == "jinja":
        _jinja(text, spec)
        return []
    data = parse_yaml(text, spec.ref)
    if spec.kind == "persona":
        return list(_persona(data, spec.ref))
    if spec.kind == "phrasebook":
        return list(_phrasebook(data, spec.ref))
    if spec.kind == "faq":
        return list(_faq(data, spec.ref))
    if spec.kind == "banned":
        banned = banned_from(data, spec.ref)
        missing = [c for c in CLAIM_CLASSES if not banned.claims.get(c)]
        if missing:
            raise PromptsError(f"{spec.ref}: required claim class missing: {', '.join(missing)}")
        return []
    if spec.kind == "script":
        book = script_book_from(data, spec.ref)
        return [(spec.ref, line) for line in spoken_texts(book)]
    raise AssertionError(spec.kind)


def validate(spec: ItemSpec, text: str, guard: Guard) -> None:
    """Raise PromptInvalid listing every problem; `guard` holds the banned claims in force."""
    try:
        lines = spoken_lines(spec, text)
    except PromptsError as error:
        raise PromptInvalid(spec.ref, [str(error)]) from None
    problems = [
        f"{where}: {kind} claim {claim!r} in {line!r}"
        for where, line in lines
        for kind, claim in guard.claims_in(line)
    ]
    if problems:
        raise PromptInvalid(spec.ref, problems)
