"""The catalog a live session reads: fresh facts from the database, a cached search index.

Prices and stock are read from the database on every call, so a price changed a second
ago is the price spoken now. Only the search index (names, aliases, words, lineup) is cached,
and it is rebuilt when a cheap version check (count and newest `updated_at`) says the catalog
moved: every edit, import and lineup change stamps `updated_at`.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from host.catalog.facts import Candidate, ProductFacts, StorePolicy
from host.catalog.importer import import_file
from host.catalog.policy import load_policy, read_policy, set_policy
from host.catalog.product_rows import active_products, facts_of
from host.catalog.retrieval import ProductIndex
from host.catalog.skus import normalise_sku
from host.config import Settings
from host.db.models import Merchant, Product

_Version = tuple[int, datetime | None]


class DbCatalog:
    """`CatalogView` over one merchant's products in the database."""

    def __init__(self, engine: Engine, merchant: str) -> None:
        self._engine = engine
        self.merchant = merchant
        self._current_sku: str | None = None
        self._index: ProductIndex | None = None
        self._version: _Version | None = None
        self._lock = threading.Lock()

    def lineup(self) -> list[ProductFacts]:
        with Session(self._engine) as session:
            rows = session.scalars(
                active_products(self.merchant)
                .where(Product.link.is_not(None))
                .order_by(Product.link, Product.sku)
            )
            return [facts_of(p) for p in rows]

    def products(self) -> list[ProductFacts]:
        """Every active product: lineup first in link order, then the rest by SKU."""
        with Session(self._engine) as session:
            rows = session.scalars(
                active_products(self.merchant).order_by(
                    Product.link.is_(None), Product.link, Product.sku
                )
            )
            return [facts_of(p) for p in rows]

    def current(self) -> ProductFacts | None:
        if self._current_sku is not None:
            chosen = self.get(self._current_sku)
            if chosen is not None:
                return chosen
        lineup = self.lineup()
        return lineup[0] if lineup else None

    def set_current(self, sku: str | None) -> None:
        """Present `sku` from now on (None: back to the first product of the lineup)."""
        if sku is not None and self.get(sku) is None:
            raise KeyError(f"no active product {sku!r} for merchant {self.merchant!r}")
        self._current_sku = None if sku is None else normalise_sku(sku)

    def get(self, sku: str) -> ProductFacts | None:
        with Session(self._engine) as session:
            product = session.scalar(
                active_products(self.merchant).where(Product.sku == normalise_sku(sku))
            )
            return None if product is None else facts_of(product)

    def policy(self) -> StorePolicy:
        return read_policy(self._engine, self.merchant)

    def search(self, text: str, limit: int = 3) -> list[Candidate]:
        """Matches from the cached index, with every fact re-read so none is stale."""
        index = self._fresh_index()
        found = index.search(text, index.lineup_skus, limit)
        if not found:
            return []
        with Session(self._engine) as session:
            rows = session.scalars(
                active_products(self.merchant).where(
                    Product.sku.in_([c.product.sku for c in found])
                )
            )
            fresh = {p.sku: facts_of(p) for p in rows}
        return [Candidate(fresh[c.product.sku], c.score) for c in found if c.product.sku in fresh]

    def _fresh_index(self) -> ProductIndex:
        with Session(self._engine) as session:
            count, newest = session.execute(
                select(func.count(Product.id), func.max(Product.updated_at))
                .join(Merchant)
                .where(Merchant.name == self.merchant, Product.active.is_(True))
            ).one()
            version = (count, newest)
            with self._lock:
                if self._index is None or version != self._version:
                    products = [
                        facts_of(p) for p in session.scalars(active_products(self.merchant))
                    ]
                    self._index, self._version = ProductIndex(products), version
                return self._index


def merchant_has_products(engine: Engine, merchant: str) -> bool:
    with Session(engine) as session:
        found = session.scalar(
            select(Product.id).join(Merchant).where(Merchant.name == merchant).limit(1)
        )
        return found is not None


def ensure_demo_catalog(engine: Engine, settings: Settings) -> None:
    """Import the demo catalog and its store policy for `settings.demo_merchant`, once."""
    if merchant_has_products(engine, settings.demo_merchant):
        return
    demo = settings.products_dir / "demo"
    report = import_file(engine, demo / "catalog.csv", settings.demo_merchant, by="demo")
    if report.errors:
        raise ValueError(
            f"demo catalog {demo / 'catalog.csv'}: " + "; ".join(str(e) for e in report.errors)
        )
    set_policy(engine, settings.demo_merchant, load_policy(demo / "policy.yaml"))
