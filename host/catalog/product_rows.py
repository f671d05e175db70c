"""`ProductFacts` <-> `Product` rows: the one place that knows how facts are stored."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import Select, select

from host.catalog.facts import ProductFacts
from host.db.models import Merchant, Product

FACT_FIELDS = tuple(f.name for f in fields(ProductFacts))


def active_products(merchant: str) -> Select[Product]:
    """The merchant's products on sale; deactivated ones keep their history but are not sold."""
    return select(Product).join(Merchant).where(Merchant.name == merchant, Product.active.is_(True))


def facts_of(product: Product) -> ProductFacts:
    return ProductFacts(
        sku=product.sku,
        name=product.name,
        price=product.price,
        currency=product.currency,
        name_en=product.name_en,
        stock=product.stock,
        link=product.link,
        category=product.category,
        list_price=product.list_price,
        promotion=product.promotion,
        aliases=tuple(product.aliases or ()),
        attributes=dict(product.attributes or {}),
    )


def row_values(facts: ProductFacts) -> dict[str, Any]:
    """Column values of a `products` row for bulk INSERT/UPDATE statements."""
    values: dict[str, Any] = {name: getattr(facts, name) for name in FACT_FIELDS}
    values["aliases"] = list(facts.aliases)
    values["attributes"] = dict(facts.attributes)
    return values


def fact_changes(old: ProductFacts, new: ProductFacts) -> dict[str, list[Any]]:
    """Changed fields as JSON-ready [old, new] pairs (money as strings, never floats)."""
    changes = {}
    for name in FACT_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if name == "attributes":
            before, after = dict(before), dict(after)
        if before != after:
            changes[name] = [_jsonable(before), _jsonable(after)]
    return changes


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if value is None or isinstance(value, str | int | dict | list):
        return value
    return str(value)
