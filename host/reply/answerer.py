"""The offline responder: answers viewers from catalog facts and the FAQ, with no LLM.

It is the default on a fresh machine and the fallback when an LLM endpoint is down, so it
must be right rather than eloquent: it finds the product a comment means (link number,
then catalog search, then the product on screen), states only facts the catalog holds, in
the viewer's language, and greets the askers first in a short sentence so speech starts
fast. Injection attempts get a neutral catalog line; their text is never followed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from host.catalog.facts import CatalogView, ProductFacts, facts_for
from host.chat.events import Triaged
from host.reply.events import Sentence
from host.reply.intents import Intent, detect, is_product_question
from host.reply.phrasing import Line, Phraser, askers_phrase
from host.reply.pitches import pitch_lines
from host.reply.prompts import (
    DEFAULT_PROMPTS_DIR,
    FaqTopic,
    Language,
    load_faq,
    load_phrasebook,
)
from host.reply.variants import asked_variants

DIGITS = re.compile(r"\d+")
COLOUR_QUESTION = re.compile(r"颜色|什么色|几个色|啥色|colou?rs?\b", re.IGNORECASE)
MAX_CONTENT_LINES = 2  # after the greeting: replies stay at 2-3 sentences
# Intents that ask about one product; with none named, the product on screen is meant.
NEEDS_PRODUCT: frozenset[str] = frozenset(
    {"price", "stock", "size", "material", "discount", "link", "compare"}
)
# Questions about buying it: for a sold-out product the answer is that it is sold out.
BUYING: frozenset[str] = frozenset({"price", "stock", "discount", "link"})
# Loud-room templates that say a fact and the link in one short sentence, by (intent, stock).
COMPACT_FACTS: dict[tuple[str, str], str] = {
    **{("price", state): "compact_price" for state in ("in", "low", "unknown")},
    ("stock", "in"): "compact_stock",
    ("stock", "low"): "compact_stock",
}
# Intents that are no question about a product or the store.
SMALL_TALK: frozenset[str] = frozenset({"greeting", "thanks", "other", "identity", "browse"})


def find_products(text: str, catalog: CatalogView, limit: int = 2) -> list[ProductFacts]:
    """Products the comment names (link number, name, alias), with fresh facts."""
    return [c.product for c in catalog.search(text, limit=limit)]


def _focus(intents: list[Intent], text: str, products: Sequence[ProductFacts]) -> list[Intent]:
    """Drop intents another answer already covers, so no fact is said twice."""
    dropped: set[str] = set()
    if "compare" in intents and len(products) > 1:
        dropped |= {"price"}  # the comparison states both prices
    if "price" in intents:
        dropped |= {"discount"}  # the price answer carries the promotion
    first = products[0] if products else None
    if first is not None and first.link is not None and str(first.link) in DIGITS.findall(text):
        dropped |= {"link"}  # "link 6 price?": the viewer knows the link
    return [i for i in intents if i not in dropped] or intents


class CatalogAnswerer:
    name = "catalog"

    def __init__(
        self,
        faq_path: Path = DEFAULT_PROMPTS_DIR / "faq.yaml",
        seed: int = 0,
        phrasebook_path: Path = DEFAULT_PROMPTS_DIR / "answers.yaml",
    ) -> None:
        self.faq = {topic.name: topic for topic in load_faq(faq_path)}
        self.phraser = Phraser(load_phrasebook(phrasebook_path), seed)

    async def respond(self, item: Triaged, catalog: CatalogView) -> AsyncIterator[Sentence]:
        for sentence in self.compose(item, catalog):
            yield sentence

    def compose(self, item: Triaged, catalog: CatalogView) -> list[Sentence]:
        """The whole reply at once (the answerer does no slow work, so nothing to stream)."""
        lang = item.language
        say = self.phraser.say
        names = askers_phrase(item.askers, lang)
        paid = item.comment.kind in ("gift", "superchat")
        if item.compact:
            return self._sentences(self._compact(item, catalog, names), lang)
        opener = "late" if item.late else "greeting"
        lines = [Line(say(opener, lang, names=names), "greeting")]
        if paid:
            thanks = "thanks" if len(item.askers) == 1 else "thanks_all"
            lines.append(Line(say(thanks, lang), "thanks"))
        if item.injection:
            lines += self._neutral(catalog, lang)
        elif not paid or is_product_question(detect(item.text)):  # a gift's thanks is its answer
            budget = MAX_CONTENT_LINES - (len(lines) - 1)
            lines += self._content(item.text, catalog, lang)[:budget]
        return self._sentences(lines, lang)

    def _compact(self, item: Triaged, catalog: CatalogView, names: str) -> list[Line]:
        """A loud room: the askers' names, the one fact asked and its link; no greeting, no
        second fact, no pleasantries. The names are a sentence of their own, so speech starts
        while the fact is synthesized. A paid viewer's names come with the thanks they are
        owed, and the apology when late."""
        say, lang = self.phraser.say, item.language
        facts = self._compact_facts(item, catalog)
        if item.comment.kind in ("gift", "superchat"):
            thanks = "thanks_late" if item.late else "thanks_named"
            return [Line(say(thanks, lang, names=names), "thanks"), *facts]
        if not facts:  # small talk: a short hello
            return [Line(say("greeting", lang, names=names), "greeting")]
        return [Line(say("compact_names", lang, names=names), "greeting"), *facts]

    def _compact_facts(self, item: Triaged, catalog: CatalogView) -> list[Line]:
        """The one fact asked, with the link; nothing when no fact was asked."""
        lang = item.language
        if item.injection:
            return self._neutral(catalog, lang)
        if not is_product_question(detect(item.text)):
            return []
        content = self._content(item.text, catalog, lang)
        if not content:
            return []
        fact = content[0]
        for product in facts_for(catalog, fact.skus[:1]):
            if product.link is None:
                break
            short = COMPACT_FACTS.get((fact.intent, product.stock_state))
            if short is not None:  # "Link 1, ¥399.": the price or stock said with the link
                return [self.phraser.line(short, product, lang, fact.intent)]
            if fact.intent == "size" and self._variant(item.text, product, lang) is None:
                colours = COLOUR_QUESTION.search(item.text) is not None
                listed = self.phraser.listed(product, lang, colours_only=colours)
                if listed is not None:  # "Link 1, sizes S, M, L and XL.": no colours unless asked
                    return [listed]
            if product.stock_state != "out" and str(product.link) not in DIGITS.findall(fact.text):
                return [fact, self.phraser.line("compact_link", product, lang, "link")]
        return [fact]

    def _sentences(self, lines: Sequence[Line], lang: Language) -> list[Sentence]:
        return [
            Sentence(
                text=line.text,
                language=lang,
                intent=line.intent,
                skus=line.skus,
                backend=self.name,
                index=i,
                last=i == len(lines) - 1,
            )
            for i, line in enumerate(lines)
        ]

    def pitch_reply(self, product: ProductFacts, language: Language) -> list[Sentence]:
        lines = pitch_lines(self.phraser, product, language)
        return [
            Sentence(
                line.text,
                language,
                "pitch",
                line.skus or (product.sku,),
                self.name,
                i,
                i == len(lines) - 1,
            )
            for i, line in enumerate(lines)
        ]

    async def pitch_sentences(
        self, product: ProductFacts, language: Language, catalog: CatalogView
    ) -> AsyncIterator[Sentence]:
        for sentence in self.pitch_reply(product, language):
            yield sentence

    def answers_alone(self, text: str) -> bool:
        """Comments this answerer settles best without an LLM: store policy only, or "are you
        a real person?" (the answer must be that the host is an AI, never up to a model)."""
        intents = detect(text)
        if "identity" in intents:
            return True
        about_product = any(i in NEEDS_PRODUCT for i in intents)
        return not about_product and bool(self._faq_topics(text))

    def _neutral(self, catalog: CatalogView, lang: Language) -> list[Line]:
        lines = [Line(self.phraser.say("neutral", lang), "other")]
        product = catalog.current() or next(iter(catalog.lineup()), None)
        if product is not None:
            lines.append(self.phraser.summary(product, lang))
        return lines

    def _content(self, text: str, catalog: CatalogView, lang: Language) -> list[Line]:
        detected = detect(text)
        lines = (
            [Line(self.phraser.say("ai_host", lang), "identity")] if "identity" in detected else []
        )
        intents = [i for i in detected if i not in SMALL_TALK]
        products = find_products(text, catalog)
        meant = products or [p for p in [catalog.current()] if p is not None]
        if meant and "size" not in intents and self._variant(text, meant[0], lang):
            intents.append("size")  # "1号有黑色吗", "有XL吗": a variant named is a question
            products = meant
        listing = self._category(text, catalog, lang) if "browse" in detected else None
        if listing is not None:
            return [*lines, listing]
        if not intents:
            return lines or self._small_talk(text, detected, products, catalog, lang)
        topics = self._faq_topics(text)
        if topics and not products:  # "invoice available?" is about the store, not the product
            return lines + [self._faq(topic, catalog, lang) for topic in topics]
        if not products and any(i in NEEDS_PRODUCT for i in intents):
            current = catalog.current()
            products = [current] if current else []
        intents = _focus(intents, text, products)
        answers = [self._answer(intent, text, products, catalog, lang) for intent in intents]
        primary = [a[0] for a in answers if a]
        secondary = [line for a in answers for line in a[1:]]
        return list(dict.fromkeys(lines + primary + secondary))

    def _small_talk(
        self,
        text: str,
        intents: Sequence[Intent],
        products: Sequence[ProductFacts],
        catalog: CatalogView,
        lang: Language,
    ) -> list[Line]:
        """No product question: an FAQ answer, a welcome, or a word on the product named.

        `intents` and `products` are those `_content` already found for `text`.
        """
        topics = self._faq_topics(text)
        if topics:
            return [self._faq(topic, catalog, lang) for topic in topics]
        if "greeting" in intents or "thanks" in intents:
            current = catalog.current()
            if current is None:
                return [Line(self.phraser.say("welcome_plain", lang), "greeting")]
            name = self.phraser.name(current, lang)
            return [Line(self.phraser.say("welcome", lang, current=name), "greeting")]
        if products:
            product = products[0]
            if product.stock_state == "out":
                return self._sold_out(product, catalog, lang, "other")
            return [self.phraser.summary(product, lang)]
        return [Line(self.phraser.say("invite", lang), "other")]

    def _answer(
        self,
        intent: Intent,
        text: str,
        products: Sequence[ProductFacts],
        catalog: CatalogView,
        lang: Language,
    ) -> list[Line]:
        if intent in ("shipping", "returns"):
            return [self._faq(self.faq[intent], catalog, lang)] if intent in self.faq else []
        if not products:
            return [Line(self.phraser.say("clarify", lang), intent)]
        product = products[0]
        if product.stock_state == "out" and intent in BUYING:
            return self._sold_out(product, catalog, lang, intent)
        p = self.phraser
        low = product.stock_state == "low"
        builders: dict[str, Callable[[], list[Line | None]]] = {
            "price": lambda: [
                p.price(product, lang),
                p.stock(product, lang, "price") if low else None,
                p.promotion_line(product, lang, "price", after_price=True),
            ],
            "stock": lambda: [p.stock(product, lang)],
            "size": lambda: [
                self._variant(text, product, lang)
                or p.size(product, lang, colours_only=COLOUR_QUESTION.search(text) is not None)
            ],
            "material": lambda: [p.material_line(product, lang)],
            "discount": lambda: [
                p.promotion_line(product, lang) or p.price(product, lang, "discount")
            ],
            "link": lambda: [p.link(product, lang)],
            "compare": lambda: [
                p.compare(products[0], products[1], lang)
                if len(products) > 1
                else p.summary(product, lang, "compare")
            ],
        }
        lines = [line for line in builders[intent]() if line is not None]
        if product.stock_state == "out":  # a size or material answer says first it is gone
            lines.insert(0, p.stock(product, lang, intent))
        return lines

    def _variant(self, text: str, product: ProductFacts, lang: Language) -> Line | None:
        asked = asked_variants(text, product, self.phraser, lang)
        return None if asked is None else self.phraser.variant(product, asked, lang)

    def _sold_out(
        self, product: ProductFacts, catalog: CatalogView, lang: Language, intent: str
    ) -> list[Line]:
        """Sold out, said first; then the closest in-stock product of the same category."""
        lines = [self.phraser.stock(product, lang, intent)]
        alternative = in_stock_alternative(product, catalog.lineup())
        if alternative is not None:
            offer = self.phraser.alternative(alternative, lang, intent)
            if offer is not None:  # None when the alternative has no link to name
                lines.append(offer)
        return lines

    def _category(self, text: str, catalog: CatalogView, lang: Language) -> Line | None:
        """ "有什么数码产品": the lineup's in-stock products of the category the comment names."""
        lineup = [p for p in catalog.lineup() if p.stock_state != "out"]
        for product in lineup:
            labels = [c for c in (product.category, product.english("category")) if c]
            if any(_mentions(text, label) for label in labels):
                matching = [p for p in lineup if p.category == product.category]
                label = product.english("category") if lang == "en" else product.category
                return self.phraser.category(label or labels[0], matching, lang)
        return None

    def _faq_topics(self, text: str) -> list[FaqTopic]:
        lowered = text.lower()
        return [t for t in self.faq.values() if any(k in lowered for k in t.keywords)]

    def _faq(self, topic: FaqTopic, catalog: CatalogView, lang: Language) -> Line:
        """The merchant's own policy on the topic; without one, where to read it, no promise."""
        given = catalog.policy().says(topic.name, lang)
        key = f"policy:{topic.name}" if given else f"unknown:{topic.name}"
        return Line(self.phraser.rotate(key, lang, given or topic.unknown[lang]), topic.name)


def _mentions(text: str, label: str) -> bool:
    """Chinese labels as substrings (数码 in 数码产品), Latin ones as whole words."""
    if label.isascii():
        return re.search(rf"\b{re.escape(label)}\b", text, re.IGNORECASE) is not None
    return label in text


def in_stock_alternative(
    product: ProductFacts, lineup: Sequence[ProductFacts]
) -> ProductFacts | None:
    """The lineup product of the same category, in stock, closest in price; None if none."""
    others = [
        p
        for p in lineup
        if p.sku != product.sku
        and p.category is not None
        and p.category == product.category
        and p.stock_state in ("in", "low")
        and p.currency == product.currency
    ]
    return min(others, key=lambda p: (abs(p.price - product.price), p.link or 0), default=None)
