"""Idle pitches: what the host says about the product on screen when nobody is asking.

Three short sentences (which product and where to buy it, its price, then the best extra
fact: scarcity, the promotion, or the sizes), built from the same templates as answers so
they pass the same guard. A sold-out product is never pitched as buyable: its price gives
way to "sold out".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from host.catalog.facts import ProductFacts
from host.reply.phrasing import Line, Phraser
from host.reply.prompts import DEFAULT_PROMPTS_DIR, Language, Phrasebook, load_phrasebook


@cache
def _book(path: Path) -> Phrasebook:
    return load_phrasebook(path)


def pitch_lines(phraser: Phraser, product: ProductFacts, language: Language) -> list[Line]:
    intro = "pitch_intro" if product.link is not None else "pitch_intro_unlisted"
    first = phraser.line(intro, product, language, "pitch")
    if product.stock_state == "out":
        return [first, phraser.stock(product, language, "pitch")]
    extra: Line | None = None
    if product.stock_state == "low":
        extra = phraser.stock(product, language, "pitch")
    if extra is None:
        extra = phraser.promotion_line(product, language, "pitch", after_price=True)
    if extra is None and product.attributes.get("size"):
        extra = phraser.size(product, language)
    return [first, phraser.price(product, language, "pitch"), *([extra] if extra else [])]


def pitch(
    product: ProductFacts,
    language: Language,
    variant: int = 0,
    phrasebook_path: Path = DEFAULT_PROMPTS_DIR / "answers.yaml",
) -> list[str]:
    """The pitch's sentences; `variant` picks the wording, so a loop can vary it."""
    phraser = Phraser(_book(phrasebook_path), seed=variant)
    return [line.text for line in pitch_lines(phraser, product, language)]
