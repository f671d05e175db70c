"""A merchant's active catalog written back as a file that `import_file` reads unchanged.

Merchants edit prices in a spreadsheet and upload it again, so the export uses the import's
own column names and notations: re-importing an untouched export changes nothing. CSV cells
that a spreadsheet would run as formulas are neutralised (see `formulas`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from host.catalog.columns import FIELDS
from host.catalog.facts import ProductFacts
from host.catalog.formulas import neutralise
from host.catalog.store import DbCatalog

EXPORT_FORMATS = ("csv", "json")
_COLUMNS = tuple(f for f in FIELDS if f != "active")  # exported products are all active


def export_catalog(engine: Engine, merchant: str, fmt: str = "csv") -> str:
    """The merchant's active products as CSV (one column per attribute) or a JSON list."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unsupported export format {fmt!r}; use one of {EXPORT_FORMATS}")
    products = DbCatalog(engine, merchant).products()
    if fmt == "json":
        return json.dumps([product_json(p) for p in products], ensure_ascii=False, indent=1)
    attributes = sorted({key for p in products for key in p.attributes})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise(header) for header in (*_COLUMNS, *attributes)])
    for p in products:
        cells = product_json(p)
        row = [_cell(cells[column]) for column in _COLUMNS]
        row += [p.attributes.get(key, "") for key in attributes]
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """Write `path` whole or not at all: a crash mid-write leaves the old file, never half."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def product_json(product: ProductFacts) -> dict[str, Any]:
    """One product as JSON-ready values: money as strings (never floats), aliases as a list."""
    return {
        "sku": product.sku,
        "name": product.name,
        "name_en": product.name_en,
        "category": product.category,
        "price": str(product.price),
        "list_price": None if product.list_price is None else str(product.list_price),
        "currency": product.currency,
        "stock": product.stock,
        "link": product.link,
        "promotion": product.promotion,
        "aliases": list(product.aliases),
        "attributes": dict(product.attributes),
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(value)
    return str(value)
