"""Catalog files to rows of cells: CSV in whatever encoding a merchant's Excel wrote, JSON, XLSX.

Chinese Excel saves CSV as GBK by default and Mac/online tools as UTF-8 with or without a
BOM; the encoding is detected, not asked for.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host.catalog.errors import CatalogError

FORMATS = ("csv", "json", "xlsx")
_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class RawRow:
    number: int  # as the merchant sees it (see CatalogError)
    cells: dict[str, Any]  # header as written -> value


def detect_format(path: Path, fmt: str | None) -> str:
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen in ("tsv", "txt"):
        chosen = "csv"
    if chosen not in FORMATS:
        raise CatalogError(None, None, f"unsupported format {chosen!r}; use one of {FORMATS}")
    return chosen


def decode(data: bytes) -> str:
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CatalogError(None, None, "cannot read the file as UTF-8 or GBK/GB18030 text")


def read_rows(data: bytes, fmt: str) -> list[RawRow]:
    if fmt == "csv":
        return _csv_rows(decode(data))
    if fmt == "json":
        return _json_rows(decode(data))
    return _xlsx_rows(data)


def _csv_rows(text: str) -> list[RawRow]:
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise CatalogError(None, None, "the file is empty")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            raise CatalogError(number, None, f"{len(cells)} cells but {len(header)} headers")
        rows.append(RawRow(number, dict(zip(header, cells, strict=False))))
    return rows


def _json_rows(text: str) -> list[RawRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(None, None, f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        data = data["products"]
    if not isinstance(data, list):
        raise CatalogError(None, None, "JSON must be a list of product objects")
    rows = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise CatalogError(number, None, "not an object")
        rows.append(RawRow(number, item))
    return rows


def _xlsx_rows(data: bytes) -> list[RawRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise CatalogError(None, None, f"not a readable XLSX workbook: {exc}") from exc
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    header_cells = next(values, None)
    if not header_cells:
        raise CatalogError(None, None, "the workbook's first sheet is empty")
    header = ["" if cell is None else str(cell) for cell in header_cells]
    rows = []
    for number, cells in enumerate(values, start=2):
        if all(cell is None or str(cell).strip() == "" for cell in cells):
            continue
        rows.append(
            RawRow(
                number, {h: c for h, c in zip(header, cells, strict=False) if h and c is not None}
            )
        )
    workbook.close()
    return rows
