"""Changes an operator makes during a stream: one price, one stock count, a promotion, the lineup.

Each is one short transaction that stamps `updated_at`, so every `DbCatalog` (in this
process or another) reads the new fact on its very next call: nothing caches facts.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from host.catalog.facts import ProductFacts
from host.catalog.limits import MAX_INT
from host.catalog.money import PriceError, parse_price
from host.catalog.product_rows import active_products, facts_of
from host.catalog.skus import normalise_sku
from host.catalog.validation import text_problem
from host.db.models import Merchant, PriceHistory, Product, utcnow
from host.errors import HostError


class Unset(enum.Enum):
    """The type of UNSET: "leave this field as it is", as opposed to None ("clear it")."""

    UNSET = "unset"


UNSET = Unset.UNSET


class UnknownProduct(HostError, KeyError):
    """No such product for this merchant (the API answers 404)."""

    def __str__(self) -> str:
        return str(self.args[0])


class EditError(HostError, ValueError):
    """A value an operator typed that cannot be applied (the API answers 422)."""


@dataclass(frozen=True)
class ProductEdit:
    """Fields to change on one product; UNSET leaves a field alone, None clears it."""

    price: Decimal | str | Unset = UNSET
    stock: int | Unset | None = UNSET
    promotion: str | Unset | None = UNSET


def edit_product(engine: Engine, merchant: str, sku: str, edit: ProductEdit) -> ProductFacts:
    """Apply `edit` in one transaction, all of it or (on any bad value) none of it.

    A price change writes a price history row; the next `get` or `search` of any
    `DbCatalog` sees the new facts.
    """
    if isinstance(edit.stock, int) and not 0 <= edit.stock <= MAX_INT:
        raise EditError(f"stock must be a whole number from 0 to {MAX_INT}")
    if isinstance(edit.promotion, str):
        problem = text_problem(edit.promotion)
        if problem is not None:
            raise EditError(f"promotion: {problem}")
    with Session(engine) as session, session.begin():
        product = _product(session, merchant, sku)
        if not isinstance(edit.price, Unset):
            amount = _amount(edit.price, product.currency)
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
        if not isinstance(edit.stock, Unset):
            product.stock = edit.stock
        if not isinstance(edit.promotion, Unset):
            product.promotion = (edit.promotion or "").strip() or None
        product.updated_at = utcnow()
        session.flush()
        return facts_of(product)


def set_price(engine: Engine, merchant: str, sku: str, price: Decimal | str) -> ProductFacts:
    """Change one price now ("359", "¥359.00"); a currency other than the product's is refused."""
    return edit_product(engine, merchant, sku, ProductEdit(price=price))


def set_stock(engine: Engine, merchant: str, sku: str, stock: int | None) -> ProductFacts:
    """Change one product's stock now (None: unknown)."""
    return edit_product(engine, merchant, sku, ProductEdit(stock=stock))


def set_lineup(engine: Engine, merchant: str, skus: Sequence[str]) -> list[ProductFacts]:
    """Put `skus` on sale as links 1..n in this order; every other product loses its link."""
    skus = [normalise_sku(sku) for sku in skus]
    if len(set(skus)) != len(skus):
        repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
        raise EditError(f"SKU listed twice in the lineup: {', '.join(repeated)}")
    with Session(engine) as session, session.begin():
        rows = session.scalars(active_products(merchant).where(Product.sku.in_(list(skus))))
        found = {p.sku: p for p in rows}
        missing = [sku for sku in skus if sku not in found]
        if missing:
            raise UnknownProduct(
                f"no active product {', '.join(missing)} for merchant {merchant!r}"
            )
        merchant_id = session.scalar(select(Merchant.id).where(Merchant.name == merchant))
        session.execute(
            update(Product)
            .where(Product.merchant_id == merchant_id, Product.link.is_not(None))
            .values(link=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.expire_all()
        for link, sku in enumerate(skus, start=1):
            found[sku].link = link
            found[sku].updated_at = utcnow()
        session.flush()
        return [facts_of(found[sku]) for sku in skus]


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


def _amount(price: Decimal | str, currency: str) -> Decimal:
    try:
        amount, named = parse_price(price)
    except PriceError as exc:
        raise EditError(f"price: {exc}") from exc
    if named is not None and named != currency:
        raise EditError(f"price is in {named} but the product is priced in {currency}")
    return amount


def _product(session: Session, merchant: str, sku: str) -> Product:
    product = session.scalar(active_products(merchant).where(Product.sku == normalise_sku(sku)))
    if product is None:
        raise UnknownProduct(f"no active product {sku!r} for merchant {merchant!r}")
    return product
