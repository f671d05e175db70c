"""Turn catalog facts into short spoken sentences, in Chinese or English, from templates.

Shared by the catalog answerer and the idle pitches so a price is always said the same
way the guard reads it back. Every number in a sentence comes from a fact field: the
templates have no numbers of their own. Variants rotate so the host does not sound canned.

English comes from the merchant's own English first (`name_en`, and `color_en`,
`material_en`, `promotion_en`... columns), then from a small glossary of common colours,
materials and units; a value neither covers is left unsaid rather than half-translated.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from host.catalog.facts import ProductFacts
from host.chat.normalize import has_cjk, readable
from host.reply.money import format_money
from host.reply.prompts import Language, Phrasebook
from host.reply.variants import VariantAsk, split_values

PERCENT_PART = re.compile(r"(\d+(?:\.\d+)?%)")
NAME_WORDS = re.compile(r"[^\s_.\-]+")
MAX_NAME_CHARS = 16  # "Hello " + name + "!" stays a short first sentence
MAX_LIST = 3  # products named in one category answer
# A name ending in these is singular although it ends in "s" (Glass, Bus, Chassis, Lens).
SINGULAR_ENDINGS = ("ss", "us", "is")
SINGULAR_WORDS = frozenset({"lens", "series", "news", "gas", "canvas", "species"})


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
    """A viewer's display name fit to say aloud: no emoji or symbols, whole words, not too long.

    "prompt_hacker" is said "prompt hacker"; a longer name keeps its first words, and a
    single word too long to say is left out (the greeting then names nobody).
    """
    kept = "".join(ch for ch in readable(name) if ch.isalnum() or ch in " _-.")
    words = NAME_WORDS.findall(kept)
    said = ""
    for word in words:
        longer = f"{said} {word}".strip()
        if len(longer) > MAX_NAME_CHARS:
            break
        said = longer
    return said


def askers_phrase(askers: Sequence[str], language: Language) -> str:
    """Every asker by name: a viewer who asked hears that the answer is theirs (triage keeps
    only a few names per item, so the list stays short to say)."""
    fallback = "宝宝" if language == "zh" else "friend"
    names = list(dict.fromkeys(n for n in map(speakable_name, askers) if n)) or [fallback]
    if language == "zh" and len(names) > 1:
        return f"{'、'.join(names[:-1])}和{names[-1]}"
    return _join(names, language)


def is_plural(name: str) -> bool:
    """ "Wireless Earbuds" are, "Air Fryer" is: the last word of the name decides."""
    words = re.sub(r"\(.*?\)", " ", name).split()
    last = words[-1].lower() if words else ""
    singular = last.endswith(SINGULAR_ENDINGS) or last in SINGULAR_WORDS
    return last.isascii() and last.endswith("s") and not singular


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
        """A value in English through the glossary; None if some Chinese is left."""
        for term, english in self.book.glossary:
            value = value.replace(term, english)
        return None if has_cjk(value) else value.strip()

    def parts(self, product: ProductFacts, key: str, language: Language) -> list[str] | None:
        """The listed values of an attribute, in the viewer's language; None if unsayable."""
        if language == "zh" or product.english(key) is None:
            parts = split_values(product.attributes.get(key))
        else:
            return split_values(product.english(key))
        if language == "zh" or not parts:
            return parts
        english = [self.to_english(p) for p in parts]
        return None if any(e is None for e in english) else [e for e in english if e]

    def values(self, product: ProductFacts, key: str, language: Language) -> str | None:
        """ "黑色/米白" -> "black and off-white" / "黑色、米白"; None when nothing is sayable."""
        parts = self.parts(product, key, language)
        return _join(parts, language) if parts else None

    def material(self, product: ProductFacts, language: Language) -> str | None:
        """ "棉98% 氨纶2%" -> "98% cotton and 2% spandex"; zh keeps the merchant's words."""
        value = product.attributes.get("material")
        if language == "zh" or not value:
            return value
        if product.english("material"):
            return product.english("material")
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

    def restates_saving(self, product: ProductFacts) -> bool:
        """ "立减300元" on a 699 -> 399 product is the same ¥300 the price line already says."""
        if not product.promotion or product.list_price is None:
            return False
        saving = product.list_price - product.price
        for pattern in self.book.savings:
            match = pattern.search(product.promotion.strip())
            if match and Decimal(match.group(1)) == saving:
                return True
        return False

    def promotion(self, product: ProductFacts, language: Language) -> str | None:
        """The promotion as the merchant wrote it (its English when given), or None."""
        if not product.promotion:
            return None
        if language == "zh":
            return product.promotion
        if product.english("promotion"):
            return product.english("promotion")
        for rule in self.book.promotions_en:
            match = rule.pattern.search(product.promotion)
            if match:
                return rule.en.format(*match.groups())
        return None

    def name(self, product: ProductFacts, language: Language) -> str:
        return product.name_en if language == "en" and product.name_en else product.name

    def fields(self, product: ProductFacts, language: Language) -> dict[str, object]:
        plural = language == "en" and is_plural(self.name(product, language))
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
            "is": "are" if plural else "is",
            "has": "have" if plural else "has",
            "comes": "come" if plural else "comes",
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
        self,
        product: ProductFacts,
        language: Language,
        intent: str = "discount",
        after_price: bool = False,
    ) -> Line | None:
        """The promotion as said alone ("any deal?") or after the price line ("Plus, ...");
        None when there is none, or when it only restates the saving the price line says."""
        promotion = self.promotion(product, language)
        if promotion is None or self.restates_saving(product):
            return None
        key = "promotion_also" if after_price else "promotion"
        return self.line(key, product, language, intent, promotion=promotion)

    def stock(self, product: ProductFacts, language: Language, intent: str = "stock") -> Line:
        key = {"unknown": "stock_unknown", "out": "stock_out", "low": "stock_low", "in": "stock"}
        return self.line(key[product.stock_state], product, language, intent)

    def alternative(
        self, product: ProductFacts, language: Language, intent: str = "stock"
    ) -> Line | None:
        if product.link is None:
            return None
        return self.line("alternative", product, language, intent)

    def size(self, product: ProductFacts, language: Language, colours_only: bool = False) -> Line:
        """Sizes (with colours when both are known); only colours when those were asked."""
        size = product.attributes.get("size")
        # a measured spec (500ml, 60x40cm) or a list of sizes; not a bare word such as 标准
        listed = size is not None and len(split_values(size)) > 1
        spec = size is not None and not listed and any(ch.isdigit() for ch in size)
        sizes = self.values(product, "size", language) if listed or spec else None
        colors = self.values(product, "color", language)
        kind = "size" if listed else "spec"
        if colours_only and colors:
            return self.line("color", product, language, "size", colors=colors)
        if sizes and colors:
            return self.line(f"{kind}_color", product, language, "size", sizes=sizes, colors=colors)
        if sizes:
            return self.line(kind, product, language, "size", sizes=sizes)
        return self.details(product, language, "size")

    def listed(
        self, product: ProductFacts, language: Language, colours_only: bool = False
    ) -> Line | None:
        """The sizes (or the colours) with the link, for a loud room; None without a list."""
        key = "color" if colours_only else "size"
        many = len(split_values(product.attributes.get(key))) > 1
        values = self.values(product, key, language) if many else None
        if values is None or product.link is None:
            return None
        template = "compact_colors" if colours_only else "compact_sizes"
        return self.line(template, product, language, "size", values=values)

    def variant(self, product: ProductFacts, asked: VariantAsk, language: Language) -> Line:
        """ "1号有黑色L码吗": yes with what was asked, or what is missing and what there is."""
        if asked.missing:
            return self.line(
                "variant_no",
                product,
                language,
                "size",
                missing=_join(asked.missing, language),
                available=_join(asked.available, language),
            )
        return self.line(
            "variant_yes", product, language, "size", asked=_join(asked.found, language)
        )

    def material_line(self, product: ProductFacts, language: Language) -> Line:
        material = self.material(product, language)
        if material is None:
            return self.details(product, language, "material")
        return self.line("material", product, language, "material", material=material)

    def details(self, product: ProductFacts, language: Language, intent: str) -> Line:
        """The merchant's description when it has one in this language, else the product card."""
        description = (
            product.english("description")
            if language == "en"
            else product.attributes.get("description")
        )
        if description and has_cjk(description) == (language == "zh"):
            return self.line("description", product, language, intent, description=description)
        return self.line("details_card", product, language, intent)

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
            is2=other["is"],
        )
        return Line(text, "compare", (first.sku, second.sku))

    def category(self, label: str, products: Sequence[ProductFacts], language: Language) -> Line:
        """ "有什么数码产品": the lineup's products of that category, by link number."""
        shown = products[:MAX_LIST]
        items = _join(
            [self.say("category_item", language, **self.fields(p, language)) for p in shown],
            language,
        )
        more = len(products) - len(shown)
        key = "category_more" if more else "category"
        text = self.say(key, language, category=label, items=items, more=more, count=len(products))
        return Line(text, "browse", tuple(p.sku for p in shown))
