"""The catalog a live session reads: fresh facts from the database, a cached search index.

Prices and stock are read from the database on every call, so a price changed a second
ago is the price spoken now. Only the search index (names, aliases, words) is cached, and it
is rebuilt when a cheap version check (count and newest `updated_at`) says the catalog moved.
"""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from host.catalog.facts import Candidate, ProductFacts
from host.catalog.importer import import_file
from host.catalog.money import parse_price
from host.catalog.product_rows import facts_of
from host.catalog.retrieval import ProductIndex
from host.config import Settings
from host.db.models import Merchant, PriceHistory, Product

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
                self._active().where(Product.link.is_not(None)).order_by(Product.link, Product.sku)
            )
            return [facts_of(p) for p in rows]

    def products(self) -> list[ProductFacts]:
        """Every active product: lineup first in link order, then the rest by SKU."""
        with Session(self._engine) as session:
            rows = session.scalars(
                self._active().order_by(Product.link.is_(None), Product.link, Product.sku)
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
        self._current_sku = sku

    def get(self, sku: str) -> ProductFacts | None:
        with Session(self._engine) as session:
            product = session.scalar(self._active().where(Product.sku == sku))
            return None if product is None else facts_of(product)

    def search(self, text: str, limit: int = 3) -> list[Candidate]:
        """Matches from the cached index, with every fact re-read so none is stale."""
        index = self._fresh_index()
        lineup = [p.sku for p in self.lineup()]
        found = index.search(text, lineup, limit)
        if not found:
            return []
        with Session(self._engine) as session:
            rows = session.scalars(
                self._active().where(Product.sku.in_([c.product.sku for c in found]))
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
                    products = [facts_of(p) for p in session.scalars(self._active())]
                    self._index, self._version = ProductIndex(products), version
                return self._index

    def _active(self) -> Select[Product]:
        return (
            select(Product)
            .join(Merchant)
            .where(Merchant.name == self.merchant, Product.active.is_(True))
        )


def set_price(engine: Engine, merchant: str, sku: str, price: Decimal | str) -> ProductFacts:
    """Change one price now (with a price history row); the next `get` or `search` sees it."""
    amount = price if isinstance(price, Decimal) else parse_price(price)[0]
    with Session(engine) as session, session.begin():
        product = _product(session, merchant, sku)
        if product.price != amount:
            session.add(
                PriceHistory(
                    product_id=product.id,
                    old_price=product.price,
                    new_price=amount,
                    currency=product.currency,
                )
            )
            product.price = amount
        session.flush()
        return facts_of(product)


def set_stock(engine: Engine, merchant: str, sku: str, stock: int | None) -> ProductFacts:
    """Change one product's stock now (None: unknown)."""
    if stock is not None and stock < 0:
        raise ValueError("stock cannot be negative")
    with Session(engine) as session, session.begin():
        product = _product(session, merchant, sku)
        product.stock = stock
        session.flush()
        return facts_of(product)


def price_history(engine: Engine, merchant: str, sku: str) -> list[tuple[Decimal | None, Decimal]]:
    """(old, new) price pairs of one product, oldest first."""
    with Session(engine) as session:
        product = _product(session, merchant, sku)
        rows = session.scalars(
            select(PriceHistory)
            .where(PriceHistory.product_id == product.id)
            .order_by(PriceHistory.id)
        )
        return [(row.old_price, row.new_price) for row in rows]


def merchant_has_products(engine: Engine, merchant: str) -> bool:
    with Session(engine) as session:
        found = session.scalar(
            select(Product.id).join(Merchant).where(Merchant.name == merchant).limit(1)
        )
        return found is not None


def ensure_demo_catalog(engine: Engine, settings: Settings) -> None:
    """Import the demo catalog for `settings.demo_merchant` unless that merchant has products."""
    if merchant_has_products(engine, settings.demo_merchant):
        return
    path = settings.products_dir / "demo" / "catalog.csv"
    report = import_file(engine, path, settings.demo_merchant, by="demo")
    if report.errors:
        raise ValueError(f"demo catalog {path}: " + "; ".join(str(e) for e in report.errors))


def _product(session: Session, merchant: str, sku: str) -> Product:
    product = session.scalar(
        select(Product).join(Merchant).where(Merchant.name == merchant, Product.sku == sku)
    )
    if product is None:
        raise KeyError(f"no product {sku!r} for merchant {merchant!r}")
    return product
