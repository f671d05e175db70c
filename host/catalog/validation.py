"""Raw rows to validated products, collecting every bad cell instead of stopping at the first.

A merchant fixing a 500-row sheet wants the whole list of problems in one go. This is the
one validation layer for every way in (CLI, HTTP, any database): text lengths are the
schema's (`limits.MAX_TEXT`), prices fit the money columns, counts fit an INTEGER, and no
text holds a NUL or a lone surrogate (PostgreSQL refuses both; SQLite would store them).

Shop exports list a multi-variant item as several rows sharing the shop's item id (Shopify's
Handle): the first row names the item, later rows leave the name empty and carry a
variant's SKU, price, stock and options. Each variant becomes a product named like its item;
a later row with no SKU, price or stock (Shopify's extra-picture rows) is not a product.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from host.catalog.columns import ATTRIBUTES, IGNORED, ITEM_ID, canonical, is_field, option_of
from host.catalog.errors import CatalogError
from host.catalog.facts import ProductFacts
from host.catalog.limits import MAX_INT, MAX_TEXT, Deadline, ImportLimits
from host.catalog.money import PriceError, parse_currency, parse_price
from host.catalog.reading import RawRow
from host.catalog.skus import normalise_sku

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
_TRUE = {
    "1", "true", "yes", "y", "是", "上架", "在售", "active", "on",
    "已上架", "出售中", "在售中", "销售中", "售卖中", "上柜", "onsale", "live",
}  # fmt: skip
_FALSE = {
    "0", "false", "no", "n", "否", "下架", "停售", "inactive", "off",
    "已下架", "仓库中", "下柜", "已下柜", "draft", "archived", "deactivated", "frozen",
}  # fmt: skip
# Cells a variant row leaves empty and takes from its item's first row.
_ITEM_LEVEL = (
    "name", "name_en", "category", "promotion", "aliases", "active", "currency",
    "brand", "material", "image",
)  # fmt: skip
_NO_OPTION = "default title"  # Shopify's option value for an item without options
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
    *,
    limits: ImportLimits | None = None,
    deadline: Deadline | None = None,
) -> tuple[list[ProductRecord], list[CatalogError]]:
    """Every row checked; `tick(done, total)` is called after each one (for a progress bar)."""
    limits = limits or ImportLimits()
    errors: list[CatalogError] = []
    records: list[ProductRecord] = []
    first_row_of_sku: dict[str, tuple[int, str]] = {}
    first_row_of_link: dict[int, int] = {}
    errors.extend(_header_errors(rows))
    if errors:
        return [], errors
    items: dict[str, dict[str, Any]] = {}  # item id -> its first row's cells, by field
    for done, raw in enumerate(rows, start=1):
        if tick is not None:
            tick(done, len(rows))
        if deadline is not None:
            deadline.check(raw.number)
        cells = _fields(raw)
        item = _text(cells.get(ITEM_ID))
        if item and item in items:
            if not any(_text(cells.get(key)) for key in ("sku", "price", "stock")):
                continue  # a picture row of a multi-variant item, not a product
            _inherit(cells, items[item])
        elif item:
            items[item] = {key: cells[key] for key in (*_ITEM_LEVEL, "options") if key in cells}
        record, row_errors = _parse_row(raw.number, cells, default_currency, limits)
        errors.extend(row_errors)
        if record is None:
            continue
        sku, link = record.facts.sku, record.facts.link
        written = _text(cells.get("sku")) or item
        if sku in first_row_of_sku:
            first, spelled = first_row_of_sku[sku]
            spelling = f" as {spelled!r}" if spelled != written else ""
            errors.append(
                CatalogError(
                    raw.number, "sku", f"duplicate sku {sku} (first on row {first}{spelling})"
                )
            )
            continue
        first_row_of_sku[sku] = (raw.number, written)
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
        if option_of(header) is not None:
            continue
        if key in seen and key not in ("attributes", IGNORED):
            errors.append(CatalogError(None, header, f"same column as {seen[key]!r} ({key})"))
        seen.setdefault(key, header)
    if rows:
        errors.extend(
            CatalogError(None, key, "missing column")
            for key in ("sku", "name", "price")
            if key not in seen and not (key == "sku" and ITEM_ID in seen)
        )
    return errors


def _fields(raw: RawRow) -> dict[str, Any]:
    """A row's cells keyed by field, known attribute or header; options under "options"."""
    cells: dict[str, Any] = {}
    options: dict[int, dict[str, str]] = {}
    for header, value in raw.cells.items():
        option = option_of(str(header))
        key = canonical(str(header))
        if option is not None:
            number, part = option
            options.setdefault(number, {})[part] = _text(value)
            if part == "value":
                options[number]["header"] = str(header).strip()
        elif key == IGNORED:
            continue
        elif key == "attributes" and isinstance(value, dict):
            cells.setdefault("attributes", {}).update(value)
        elif is_field(key) or key in ATTRIBUTES or key == ITEM_ID:
            cells[key] = value
        elif _text(value):
            cells.setdefault("attributes", {})[str(header).strip()] = value
    if options:
        cells["options"] = options
    return cells


def _inherit(cells: dict[str, Any], item: dict[str, Any]) -> None:
    """Fill a variant row's empty item-level cells and option names from its item's row."""
    for key in _ITEM_LEVEL:
        if not _text(cells.get(key)) and key in item:
            cells[key] = item[key]
    for number, option in cells.get("options", {}).items():
        if not option.get("name"):
            option["name"] = item.get("options", {}).get(number, {}).get("name", "")


def _option_attributes(options: dict[int, dict[str, str]]) -> dict[str, str]:
    """Variant options as attributes: "Color"/"Black" or a "Variation 1" cell "Color: Black"."""
    found = {}
    for number in sorted(options):
        value, name = options[number].get("value", ""), options[number].get("name", "")
        if not name and ":" in value.replace("：", ":"):
            name, _, value = value.replace("：", ":").partition(":")
        if not value.strip() or value.strip().lower() == _NO_OPTION:
            continue
        name = name.strip() or options[number].get("header", f"option {number}")
        key = canonical(name)
        found[key if key in ATTRIBUTES else name] = value.strip()
    return found


def _parse_row(
    number: int, values: dict[str, Any], default_currency: str, limits: ImportLimits
) -> tuple[ProductRecord | None, list[CatalogError]]:
    errors: list[CatalogError] = []

    def fail(column: str, reason: str) -> None:
        errors.append(CatalogError(number, column, reason))

    for key, value in values.items():
        if key not in ("attributes", "options") and not isinstance(value, list):
            _check_text(key, _text(value), fail)
    sku = normalise_sku(_text(values.get("sku")) or _text(values.get(ITEM_ID)))
    name = _text(values.get("name"))
    if not sku:
        fail("sku", "missing")
    if not name:
        fail("name", "missing")
    for column in ("sku", "name", "name_en", "category"):
        text = sku if column == "sku" else _text(values.get(column))
        if len(text) > MAX_TEXT[column]:
            fail(column, f"longer than {MAX_TEXT[column]} characters")
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
    aliases = _aliases(values.get("aliases"))
    attributes = _attributes(values, limits, fail)
    if len(aliases) > limits.max_attributes:
        fail("aliases", f"more than {limits.max_attributes} aliases")
    for alias in aliases:
        _check_text("aliases", alias, fail)
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
        aliases=aliases,
        attributes=attributes,
    )
    return ProductRecord(number, facts, active), []


def _attributes(values: dict[str, Any], limits: ImportLimits, fail: Any) -> dict[str, str]:
    """Known attributes and extra columns, bounded: they all go into the LLM's prompt."""
    found = {str(k).strip(): _text(v) for k, v in values.get("attributes", {}).items()}
    found |= _option_attributes(values.get("options", {}))
    found |= {key: _text(values[key]) for key in ATTRIBUTES if key in values}
    found = {k: v for k, v in found.items() if k and v}
    if len(found) > limits.max_attributes:
        fail(
            "attributes",
            f"{len(found)} attributes; at most {limits.max_attributes} (CATALOG_MAX_ATTRIBUTES)",
        )
        return {}
    for key, value in found.items():
        _check_text(key, key, fail)
        _check_text(key, value, fail)
        if max(len(key), len(value)) > limits.max_attribute_chars:
            fail(key, f"longer than {limits.max_attribute_chars} characters")
    return dict(sorted(found.items()))


def _check_text(column: str, text: str, fail: Any) -> None:
    problem = text_problem(text)
    if problem is not None:
        fail(column, problem)


def text_problem(text: str) -> str | None:
    """Why a text cannot be stored on every database (NUL, lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an invalid character (a lone surrogate)"
    return None


def _text(value: Any) -> str:
    """A cell as text; a whole number typed in Excel (1001.0) reads as the merchant wrote it."""
    if value is None:
        return ""
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        value = int(value) if -MAX_INT < value < MAX_INT else value
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
        fail("stock", "negative" if text.startswith("-") else f"not a count: {text[:40]!r}")
        return None
    if len(match.group(1)) > 10 or int(match.group(1)) > MAX_INT:
        fail("stock", f"too large (at most {MAX_INT})")
        return None
    return int(match.group(1))


def _link(value: Any, fail: Any) -> int | None:
    text = _text(value).lower()
    if not text:
        return None
    match = _LINK.match(text)
    if match is None or len(match.group(1)) > 10 or not 1 <= int(match.group(1)) <= MAX_INT:
        fail("link", f"not a link number: {text[:40]!r}")
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
    fail("active", f"not yes/no: {text[:40]!r}")
    return True


def _aliases(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else _ALIAS_SPLIT.split(_text(value))
    seen: dict[str, None] = {}
    for item in items:
        if _text(item):
            seen.setdefault(_text(item), None)
    return tuple(seen)
