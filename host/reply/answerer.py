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

from host.catalog.facts import CatalogView, ProductFacts
from host.chat.events import Triaged
from host.reply.events import Sentence
from host.reply.intents import Intent, detect
from host.reply.phrasing import Line, Phraser, askers_phrase
from host.reply.pitches import pitch_lines
from host.reply.prompts import (
    DEFAULT_PROMPTS_DIR,
    FaqTopic,
    Language,
    load_faq,
    load_phrasebook,
)

DIGITS = re.compile(r"\d+")
MAX_CONTENT_LINES = 2  # after the greeting: replies stay at 2-3 sentences
# Intents that ask about one product; with none named, the product on screen is meant.
NEEDS_PRODUCT: frozenset[str] = frozenset(
    {"price", "stock", "size", "material", "discount", "link", "compare"}
)


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
        lines = [Line(say("greeting", lang, names=askers_phrase(item.askers, lang)), "greeting")]
        if item.comment.kind in ("gift", "superchat"):
            lines.append(Line(say("thanks", lang), "thanks"))
        if item.injection:
            lines += self._neutral(catalog, lang)
        else:
            budget = MAX_CONTENT_LINES - (len(lines) - 1)
            gift = item.comment.kind in ("gift", "superchat")
            lines += self._content(item.text, catalog, lang, gift)[:budget]
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

    def faq_only(self, text: str) -> bool:
        """A store-policy question with no product question in it: the FAQ answers it best."""
        about_product = any(i in NEEDS_PRODUCT for i in detect(text))
        return not about_product and bool(self._faq_topics(text))

    def _neutral(self, catalog: CatalogView, lang: Language) -> list[Line]:
        lines = [Line(self.phraser.say("neutral", lang), "other")]
        product = catalog.current() or next(iter(catalog.lineup()), None)
        if product is not None:
            lines.append(self.phraser.summary(product, lang))
        return lines

    def _content(self, text: str, catalog: CatalogView, lang: Language, gift: bool) -> list[Line]:
        detected = detect(text)
        intents = [i for i in detected if i not in ("greeting", "thanks", "other")]
        if not intents:
            return self._small_talk(text, detected, catalog, lang, gift)
        products = find_products(text, catalog)
        topics = self._faq_topics(text)
        if topics and not products:  # "invoice available?" is about the store, not the product
            return [self._faq(topic, lang) for topic in topics]
        if not products and any(i in NEEDS_PRODUCT for i in intents):
            current = catalog.current()
            products = [current] if current else []
        intents = _focus(intents, text, products)
        answers = [self._answer(intent, products, lang) for intent in intents]
        primary = [a[0] for a in answers if a]
        secondary = [line for a in answers for line in a[1:]]
        return list(dict.fromkeys(primary + secondary))

    def _small_talk(
        self, text: str, intents: Sequence[Intent], catalog: CatalogView, lang: Language, gift: bool
    ) -> list[Line]:
        """No product question: an FAQ answer, a welcome, or a word on the product named.

        `intents` are those `_content` already detected in `text`, so it is not parsed twice.
        """
        topics = self._faq_topics(text)
        if topics:
            return [self._faq(topic, lang) for topic in topics]
        if gift or "greeting" in intents or "thanks" in intents:
            current = catalog.current()
            if current is None:
                return [Line(self.phraser.say("welcome_plain", lang), "greeting")]
            name = self.phraser.name(current, lang)
            return [Line(self.phraser.say("welcome", lang, current=name), "greeting")]
        products = find_products(text, catalog, limit=1)
        if products:
            return [self.phraser.summary(products[0], lang)]
        return [Line(self.phraser.say("invite", lang), "other")]

    def _answer(
        self, intent: Intent, products: Sequence[ProductFacts], lang: Language
    ) -> list[Line]:
        if intent in ("shipping", "returns"):
            return [self._faq(self.faq[intent], lang)] if intent in self.faq else []
        if not products:
            return [Line(self.phraser.say("clarify", lang), intent)]
        product = products[0]
        p = self.phraser
        builders: dict[str, Callable[[], list[Line | None]]] = {
            "price": lambda: [p.price(product, lang), p.promotion_line(product, lang, "price")],
            "stock": lambda: [p.stock(product, lang)],
            "size": lambda: [p.size(product, lang)],
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
        return [line for line in builders[intent]() if line is not None]

    def _faq_topics(self, text: str) -> list[FaqTopic]:
        lowered = text.lower()
        return [t for t in self.faq.values() if any(k in lowered for k in t.keywords)]

    def _faq(self, topic: FaqTopic, lang: Language) -> Line:
        return Line(self.phraser.rotate(f"faq:{topic.name}", lang, topic.answers[lang]), topic.name)
