"""What the reply stage may know about a product, and how it asks for it.

Facts are read fresh from the database for every reply, so a price changed a second ago is
the price spoken now; only the search index (names, aliases) is cached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

LOW_STOCK = 10  # at or below this many, the host says stock is low ("only 9 left")
StockState = Literal["unknown", "out", "low", "in"]
# What a store policy may cover; prompts/faq.yaml says how viewers ask about each.
POLICY_TOPICS = ("shipping", "delivery", "returns", "invoice", "authenticity", "payment")


@dataclass(frozen=True)
class ProductFacts:
    sku: str
    name: str  # the merchant's name, often Chinese
    price: Decimal
    currency: str  # ISO 4217, e.g. "CNY"
    name_en: str | None = None
    stock: int | None = None  # None = unknown
    link: int | None = None  # link number in the stream's lineup (1号链接)
    category: str | None = None
    list_price: Decimal | None = None  # price before the promotion
    promotion: str | None = None
    aliases: tuple[str, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)  # size, color, material, ...

    @property
    def stock_state(self) -> StockState:
        """What a viewer must hear before anything else about buying it."""
        if self.stock is None:
            return "unknown"
        if self.stock <= 0:
            return "out"
        return "low" if self.stock <= LOW_STOCK else "in"

    def english(self, key: str) -> str | None:
        """The merchant's own English for a fact (a `color_en`, `promotion_en` column), if given."""
        return self.attributes.get(f"{key}_en") or None


@dataclass(frozen=True)
class StorePolicy:
    """What a merchant promises about shipping, returns, invoices..., in the merchant's words.

    Policy differs from shop to shop, so the host states only what this merchant gave, per
    topic and language; a topic it lacks is answered "see the shop page", never guessed.
    """

    answers: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def says(self, topic: str, language: str) -> tuple[str, ...]:
        return self.answers.get(topic, {}).get(language, ())

    def texts(self) -> list[str]:
        """Every wording of every topic, in every language."""
        return [
            w for by_language in self.answers.values() for ws in by_language.values() for w in ws
        ]

    def lines(self, language: str) -> list[str]:
        """One wording per topic, in `language` where the merchant gave it, else in another."""
        out: list[str] = []
        for by_language in self.answers.values():
            wordings = by_language.get(language) or next(iter(by_language.values()), ())
            out += wordings[:1]
        return out


@dataclass(frozen=True)
class Candidate:
    product: ProductFacts
    score: float  # 0..1, higher is closer


class CatalogView(Protocol):
    """The catalog as a running session sees it."""

    def lineup(self) -> Sequence[ProductFacts]:
        """Products on sale now, in link order, with fresh prices."""
        ...

    def current(self) -> ProductFacts | None:
        """The product the host is presenting now (or None)."""
        ...

    def search(self, text: str, limit: int = 3) -> Sequence[Candidate]:
        """Products a comment means, best first; empty when nothing is close."""
        ...

    def get(self, sku: str) -> ProductFacts | None:
        """Fresh facts for one product."""
        ...

    def policy(self) -> StorePolicy:
        """The merchant's store policy as it is now (empty when the merchant gave none)."""
        ...


def facts_for(catalog: CatalogView, skus: Sequence[str]) -> list[ProductFacts]:
    """Fresh facts for the products a sentence names; a SKU gone from the catalog is left out."""
    return [p for p in map(catalog.get, skus) if p is not None]
