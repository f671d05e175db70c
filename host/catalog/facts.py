"""What the reply stage may know about a product, and how it asks for it.

Facts are read fresh from the database for every reply, so a price changed a second ago is
the price spoken now; only the search index (names, aliases) is cached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


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


def facts_for(catalog: CatalogView, skus: Sequence[str]) -> list[ProductFacts]:
    """Fresh facts for the products a sentence names; a SKU gone from the catalog is left out."""
    return [p for p in map(catalog.get, skus) if p is not None]
