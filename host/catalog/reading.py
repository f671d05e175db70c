"""Catalog files to rows of cells: CSV in whatever encoding a merchant's Excel wrote, JSON, XLSX.

Chinese Excel saves CSV as GBK by default and Mac/online tools as UTF-8 with or without a
BOM; the encoding is detected, not asked for. Shop exports put a title row or two ("出售中的
宝贝 导出时间：…") above the column names, so the header is the first of the top rows that
names a product's name and price.

Every bound in `ImportLimits` is checked while the file is read, never after: an XLSX's
unpacked size and declared dimension before a row is parsed (read-only mode, which streams),
and rows, columns and cell lengths as they come.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from host.catalog.columns import ITEM_ID, canonical
from host.catalog.errors import CatalogError
from host.catalog.formulas import restore
from host.catalog.limits import Deadline, ImportLimits, mb

FORMATS = ("csv", "json", "xlsx")
_ENCODINGS = ("utf-8-sig", "gb18030")
HEADER_SEARCH = 20  # top rows searched for the header (title rows of shop exports above it)
# Every reader loads an XLSX's shared-strings table whole, before the first row, at about
# six times its unpacked size in memory (measured: 58 MB of short strings took 25 s and
# 360 MB), so it gets a tighter share of the unpacked limit than the streamed sheet does.
SHARED_STRINGS_SHARE = 8


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


def read_rows(path: Path, fmt: str, limits: ImportLimits, deadline: Deadline) -> list[RawRow]:
    """Every product row of the file at `path`; a CatalogError as soon as a limit is passed."""
    if path.stat().st_size > limits.max_file_bytes:
        raise limits.too_big()
    if fmt == "csv":
        return _csv_rows(path, limits, deadline)
    if fmt == "json":
        return _json_rows(path, limits, deadline)
    return _xlsx_rows(path, limits, deadline)


def _csv_rows(path: Path, limits: ImportLimits, deadline: Deadline) -> list[RawRow]:
    for encoding in _ENCODINGS:
        try:
            with path.open(encoding=encoding, newline="") as text:
                sample = text.read(8192)
                text.seek(0)
                try:
                    dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
                except csv.Error:
                    dialect = csv.excel
                return _table(_csv_records(csv.reader(text, dialect)), limits, deadline)
        except UnicodeDecodeError:
            continue
    raise CatalogError(None, None, "cannot read the file as UTF-8 or GBK/GB18030 text")


def _csv_records(reader: Iterator[list[str]]) -> Iterator[Sequence[Any]]:
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):  # noqa: B007 - read after the loop
            yield [restore(cell) for cell in cells]
    except csv.Error as exc:
        raise CatalogError(number + 1, None, f"unreadable CSV: {exc}") from exc


def _json_rows(path: Path, limits: ImportLimits, deadline: Deadline) -> list[RawRow]:
    raw = path.read_bytes()
    text = _decode(raw)
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise CatalogError(None, None, f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
    except RecursionError as exc:
        raise CatalogError(None, None, "invalid JSON: nested too deeply") from exc
    except ValueError as exc:
        raise CatalogError(None, None, f"invalid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        data = data["products"]
    if not isinstance(data, list):
        raise CatalogError(None, None, "JSON must be a list of product objects")
    if len(data) > limits.max_rows:
        raise _too_many_rows(limits)
    rows = []
    for number, item in enumerate(data, start=1):
        deadline.check(number)
        if not isinstance(item, dict):
            raise CatalogError(number, None, "not an object")
        if len(item) > limits.max_columns:
            raise _too_many_columns(limits, len(item))
        for key, value in item.items():
            _check_cell(number, str(key), value, limits)
        rows.append(RawRow(number, item))
    return rows


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _decode(data: bytes) -> str:
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CatalogError(None, None, "cannot read the file as UTF-8 or GBK/GB18030 text")


def _xlsx_rows(path: Path, limits: ImportLimits, deadline: Deadline) -> list[RawRow]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            sizes = {member.filename: member.file_size for member in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise CatalogError(None, None, f"not a readable XLSX workbook: {exc}") from exc
    unpacked = sum(sizes.values())
    if unpacked > limits.max_unzipped_bytes:  # zipfile never inflates past a declared size
        raise CatalogError(
            None,
            None,
            f"the workbook unpacks to {mb(unpacked)}, more than {mb(limits.max_unzipped_bytes)}"
            " (CATALOG_MAX_UNZIPPED_MB)",
        )
    strings = sum(
        size for name, size in sizes.items() if name.lower().endswith("sharedstrings.xml")
    )
    if strings > limits.max_unzipped_bytes // SHARED_STRINGS_SHARE:
        raise CatalogError(
            None,
            None,
            f"the workbook's text table unpacks to {mb(strings)}, more than"
            f" {mb(limits.max_unzipped_bytes // SHARED_STRINGS_SHARE)}"
            f" (1/{SHARED_STRINGS_SHARE} of CATALOG_MAX_UNZIPPED_MB)",
        )
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise CatalogError(None, None, f"not a readable XLSX workbook: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        rows, columns = sheet.max_row or 0, sheet.max_column or 0
        if rows > limits.max_rows + HEADER_SEARCH:
            raise CatalogError(
                None,
                None,
                f"the sheet declares {rows} rows; at most {limits.max_rows} allowed"
                " (CATALOG_MAX_ROWS)",
            )
        if columns > limits.max_columns:
            raise _too_many_columns(limits, columns)
        # No max_row: openpyxl pads only the gap before a row that exists, so a far-away
        # cell is met (and refused) when the row count passes the limit, never skipped.
        values = sheet.iter_rows(values_only=True, max_col=limits.max_columns + 1)
        return _table(values, limits, deadline)
    finally:
        workbook.close()


def _table(
    records: Iterable[Sequence[Any]], limits: ImportLimits, deadline: Deadline
) -> list[RawRow]:
    """Rows under the header of a CSV or sheet, each a dict keyed by the header's cells."""
    top: list[Sequence[Any]] = []
    records = iter(records)
    for cells in records:
        top.append(cells)
        if len(top) == HEADER_SEARCH:
            break
    if not any(_filled(cells) for cells in top):
        raise CatalogError(None, None, "the file is empty")
    at = _header_index(top)
    header = [_header_text(cell) for cell in top[at]]
    while header and not header[-1]:
        header.pop()
    if len(header) > limits.max_columns:
        raise _too_many_columns(limits, len(header))
    rows: list[RawRow] = []
    last_row = limits.max_rows + at + 1
    for number, cells in enumerate(_chain(top[at + 1 :], records), start=at + 2):
        deadline.check(number)
        if number > last_row:
            raise _too_many_rows(limits)
        if not _filled(cells):
            continue
        if len(cells) > len(header) and _filled(cells[len(header) :]):
            used = max(i for i, cell in enumerate(cells) if _filled([cell])) + 1
            raise CatalogError(number, None, f"{used} cells but {len(header)} headers")
        row: dict[str, Any] = {}
        for name, value in zip(header, cells, strict=False):
            if name and value is not None:
                _check_cell(number, name, value, limits)
                row[name] = value
        rows.append(RawRow(number, row))
    return rows


def _header_index(top: Sequence[Sequence[Any]]) -> int:
    """The first top row whose cells name a product's name and price (and an id), else 0."""
    for index, cells in enumerate(top):
        keys = {canonical(_header_text(cell)) for cell in cells if _header_text(cell)}
        if {"name", "price"} <= keys and keys & {"sku", ITEM_ID}:
            return index
    return next(index for index, cells in enumerate(top) if _filled(cells))


def _chain(first: Iterable[Sequence[Any]], rest: Iterator[Sequence[Any]]) -> Iterator[Any]:
    yield from first
    yield from rest


def _header_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _filled(cells: Sequence[Any]) -> bool:
    return any(cell is not None and str(cell).strip() for cell in cells)


def _check_cell(number: int, column: str, value: Any, limits: ImportLimits) -> None:
    if isinstance(value, str) and len(value) > limits.max_cell_chars:
        raise CatalogError(
            number,
            column,
            f"cell longer than {limits.max_cell_chars} characters (CATALOG_MAX_CELL_CHARS)",
        )


def _too_many_rows(limits: ImportLimits) -> CatalogError:
    return CatalogError(
        None, None, f"more than {limits.max_rows} rows (CATALOG_MAX_ROWS); split the catalog"
    )


def _too_many_columns(limits: ImportLimits, columns: int) -> CatalogError:
    return CatalogError(
        None,
        None,
        f"{columns} columns; at most {limits.max_columns} allowed (CATALOG_MAX_COLUMNS)",
    )
