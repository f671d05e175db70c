"""Which colours and sizes a comment asks about ("1号有黑色L码吗", "is the hoodie in XXL?").

A viewer about to buy asks for a variant, not a price: the answer must say whether the
product comes in it, and what it comes in when it does not. The product's own colour and
size lists say what exists; a colour or size named in the comment but not in those lists is
one the product lacks. Sizes are matched as whole tokens, so "L" is not found inside "XL".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from host.catalog.facts import ProductFacts
from host.reply.prompts import Language

if TYPE_CHECKING:
    from host.reply.phrasing import Phraser

DIMENSIONS = ("color", "size")
# Letter sizes as viewers type them: S, M, L, XL, XXL, 3XL (upper case, so "I'm" is no M).
LETTER_SIZE = re.compile(r"(?<![A-Za-z])(X{0,3}[SML]|[2-5]XL)(?![A-Za-z])")
NUMBER_SIZE = re.compile(r"(?<![\d.])(\d{2,3})\s*码")
ZH_COLOUR = re.compile(r"[浅深亮暗淡]?[红黄蓝绿紫黑白灰粉棕橙金银青咖驼杏]色")
EN_COLOURS = frozenset(
    {
        "black",
        "white",
        "red",
        "blue",
        "green",
        "pink",
        "grey",
        "gray",
        "brown",
        "yellow",
        "purple",
        "orange",
        "navy",
        "beige",
        "khaki",
        "silver",
        "gold",
        "cream",
        "ivory",
        "burgundy",
    }
)


def split_values(value: str | None) -> list[str]:
    """ "黑色/米白" -> ["黑色", "米白"]: how a catalog lists sizes and colours."""
    return [p.strip() for p in re.split(r"[/|,，、]", value or "") if p.strip()]


@dataclass(frozen=True)
class VariantAsk:
    """The colours and sizes a comment names: those the product has, and those it lacks."""

    found: tuple[str, ...]
    missing: tuple[str, ...]
    available: tuple[str, ...]  # everything in the dimension where something is missing


def _size_label(value: str, language: Language) -> str:
    """ "L" -> "L码" in Chinese, as a shop assistant says it; "500ml" stays as it is."""
    bare = value.isdigit() or LETTER_SIZE.fullmatch(value) is not None
    return f"{value}码" if language == "zh" and bare else value


def _named(value: str, text: str) -> bool:
    """Is this colour or size named in `text`? ("黑色", "黑的", "black", "XL"; no "L" in "XL")."""
    if value.isascii():
        flags = 0 if LETTER_SIZE.fullmatch(value) else re.IGNORECASE
        pattern = rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])"
        return re.search(pattern, text, flags) is not None
    stem = value.removesuffix("色")
    return (
        value in text
        or (len(stem) > 1 and stem in text)
        or f"{stem}的" in text
        or f"{stem}色" in text
    )


def _named_anywhere(dimension: str, text: str) -> set[str]:
    """Colours or sizes the comment names, whatever the product has."""
    if dimension == "size":
        return set(LETTER_SIZE.findall(text)) | set(NUMBER_SIZE.findall(text))
    return set(ZH_COLOUR.findall(text)) | (set(re.findall(r"[a-z]+", text.lower())) & EN_COLOURS)


def asked_variants(
    text: str, product: ProductFacts, phraser: Phraser, language: Language
) -> VariantAsk | None:
    """What the comment asks of `product`'s colours and sizes; None when it names none."""
    found: list[str] = []
    missing: list[str] = []
    available: list[str] = []
    for dimension in DIMENSIONS:
        own = split_values(product.attributes.get(dimension))
        said = phraser.parts(product, dimension, language)
        if not own or said is None or len(said) != len(own):
            continue  # nothing known, or nothing sayable in the viewer's language
        english = phraser.parts(product, dimension, "en") or []
        names = [(v, english[i] if len(english) == len(own) else v) for i, v in enumerate(own)]
        labels = [_size_label(v, language) if dimension == "size" else v for v in said]
        hits = [i for i, (v, en) in enumerate(names) if _named(v, text) or _named(en, text)]
        found += [labels[i] for i in hits]
        lacking = [
            a
            for a in sorted(_named_anywhere(dimension, text))
            if not any(_named(a, v) or _named(a, en) or _named(v, a) for v, en in names)
        ]
        if lacking:
            missing += [_size_label(a, language) if dimension == "size" else a for a in lacking]
            available += labels
    if not found and not missing:
        return None
    return VariantAsk(tuple(found), tuple(missing), tuple(available))
