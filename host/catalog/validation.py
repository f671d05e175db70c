"""Raw rows to validated products, collecting every bad cell instead of stopping at the first.

A merchant fixing a 500-row sheet wants the whole list of problems in one go.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from host.catalog.columns import ATTRIBUTES, canonical, is_field
from host.catalog.errors import CatalogError
from host.catalog.facts import ProductFacts
from host.catalog.money import PriceError, parse_currency, parse_price
from host.catalog.reading import RawRow

_IN_STOCK = {"有货", "现货", "有", "in stock", "available", "yes", "充足"}
_SOLD_OUT = {
    "售罄",
    "无货",
    "缺货",
    "没货",
    "卖完",
    "已售罄",
    "sold out",
    "out of stock",
    "no",
    "none",
}
_TRUE = {"1", "true", "yes", "y", "是", "上架", "在售", "active", "on"}
_FALSE = {"0", "false", "no", "n", "否", "下架", "停售", "inactive", "off"}
_ALIAS_SPLIT = re.compile(r"[|｜、;；]")
_LINK = re.compile(r"^(?:#|no\.?|链接)?\s*(\d+)\s*(?:号)?\s*(?:链接)?$")
_COUNT = re.compile(r"^(\d+)\s*(?:件|个|pcs|units?)?$")


@dataclass(frozen=True)
class ProductRecord:
    row: int
    facts: ProductFacts
    active: bool = True


def parse_records(
    rows: Sequence[RawRow],
    default_currency: str = "CNY",
    tick: Callable[[int, int], None] | None = None,
) -> tuple[list[ProductRecord], list[CatalogError]]:
    """Every row checked; `tick(done, total)` is called after each one (for a progress bar)."""
    errors: list[CatalogError] = []
    records: list[ProductRecord] = []
    first_row_of_sku: dict[str, int] = {}
    first_row_of_link: dict[int, int] = {}
    errors.extend(_header_errors(rows))
    if errors:
        return [], errors
    for done, raw in enumerate(rows, start=1):
        if tick is not None:
            tick(done, len(rows))
        record, row_errors = _parse_row(raw, default_currency)
        errors.extend(row_errors)
        if record is None:
            continue
        sku, link = record.facts.sku, record.facts.link
        if sku in first_row_of_sku:
            errors.append(
                CatalogError(
                    raw.number, "sku", f"duplicate sku {sku} (first on row {first_row_of_sku[sku]})"
                )
            )
            continue
        first_row_of_sku[sku] = raw.number
        if link is not None and record.active:
            if link in first_row_of_link:
                errors.append(
                    CatalogError(
                        raw.number,
                        "link",
                        f"duplicate link {link} (first on row {first_row_of_link[link]})",
                    )
                )
                continue
            first_row_of_link[link] = raw.number
        records.append(record)
    return records, errors


def _header_errors(rows: Sequence[RawRow]) -> list[CatalogError]:
    headers: dict[str, str] = {}
    for raw in rows:
        for header in raw.cells:
            headers.setdefault(str(header), canonical(str(header)))
    errors = []
    seen: dict[str, str] = {}
    for header, key in headers.items():
        if key in seen and key != "attributes":
            errors.append(CatalogError(None, header, f"same column as {seen[key]!r} ({key})"))
        seen.setdefault(key, header)
    if rows:
        errors.extend(
            CatalogError(None, key, "missing column")
            for key in ("sku", "name", "price")
            if key not in seen
        )
    return errors


def _parse_row(
    raw: RawRow, default_currency: str
) -> tuple[ProductRecord | None, list[CatalogError]]:
    errors: list[CatalogError] = []
    values: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for header, value in raw.cells.items():
        key = canonical(str(header))
        if key == "attributes" and isinstance(value, dict):
            attributes.update({str(k): _text(v) for k, v in value.items() if _text(v)})
        elif is_field(key):
            values[key] = value
        elif _text(value):
            attributes[key if key in ATTRIBUTES else str(header).strip()] = _text(value)

    def fail(column: str, reason: str) -> None:
        errors.append(CatalogError(raw.number, column, reason))

    sku, name = _text(values.get("sku")), _text(values.get("name"))
    if not sku:
        fail("sku", "missing")
    if not name:
        fail("name", "missing")
    currencies: dict[str, str] = {}
    if _text(values.get("currency")):
        try:
            currencies["currency"] = parse_currency(_text(values["currency"]))
        except PriceError as exc:
            fail("currency", str(exc))
    price = _money(values.get("price"), "price", currencies, fail, required=True)
    list_price = _money(values.get("list_price"), "list_price", currencies, fail, required=False)
    if len(set(currencies.values())) > 1:
        fail(
            "currency",
            "currencies disagree: " + ", ".join(f"{k} {v}" for k, v in currencies.items()),
        )
    stock = _stock(values.get("stock"), fail)
    link = _link(values.get("link"), fail)
    active = _active(values.get("active"), fail)
    if errors or price is None:
        return None, errors
    facts = ProductFacts(
        sku=sku,
        name=name,
        price=price,
        currency=next(iter(currencies.values()), default_currency),
        name_en=_text(values.get("name_en")) or None,
        stock=stock,
        link=link,
        category=_text(values.get("category")) or None,
        list_price=list_price,
        promotion=_text(values.get("promotion")) or None,
        aliases=_aliases(values.get("aliases")),
        attributes=dict(sorted(attributes.items())),
    )
    return ProductRecord(raw.number, facts, active), []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def _money(
    value: Any, column: str, currencies: dict[str, str], fail: Any, *, required: bool
) -> Decimal | None:
    if isinstance(value, str | type(None)) and not _text(value):
        if required:
            fail(column, "missing")
        return None
    try:
        amount, currency = parse_price(
            value if isinstance(value, int | float | Decimal) else _text(value)
        )
    except PriceError as exc:
        fail(column, str(exc))
        return None
    if currency is not None:
        currencies[column] = currency
    return amount


def _stock(value: Any, fail: Any) -> int | None:
    text = _text(value).lower()
    if not text or text in _IN_STOCK:
        return None
    if text in _SOLD_OUT:
        return 0
    match = _COUNT.match(text.replace(",", ""))
    if match is None:
        fail("stock", "negative" if text.startswith("-") else f"not a count: {text!r}")
        return None
    return int(match.group(1))


def _link(value: Any, fail: Any) -> int | None:
    text = _text(value).lower()
    if not text:
        return None
    match = _LINK.match(text)
    if match is None or int(match.group(1)) < 1:
        fail("link", f"not a link number: {text!r}")
        return None
    return int(match.group(1))


def _active(value: Any, fail: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if not text or text in _TRUE:
        return True
    if text in _FALSE:
        return False
    fail("active", f"not yes/no: {text!r}")
    return True


def _aliases(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else _ALIAS_SPLIT.split(_text(value))
    seen: dict[str, None] = {}
    for item in items:
        if _text(item):
            seen.setdefault(_text(item), None)
    return tuple(seen)
