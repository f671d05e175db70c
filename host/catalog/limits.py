"""What one catalog import may cost, and the schema's own limits every path checks against.

A catalog file comes from outside (an upload, a merchant's disk), so its size, shape and
the time spent on it are bounded before and while it is read, never after: a 1.8 KB XLSX
can declare a million rows, a 2 MB one can unpack to gigabytes. The per-value limits are
read from the database schema itself, so a file that imports on SQLite imports on
PostgreSQL too (SQLite would store a 65-character SKU; PostgreSQL refuses it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import String

from host.catalog.errors import CatalogError
from host.config import Settings
from host.db.models import Product

_MB = 1024 * 1024

MAX_TEXT = {
    column.name: column.type.length
    for column in Product.__table__.columns
    if isinstance(column.type, String) and column.type.length
}
"""Longest text each `products` column holds, e.g. {"sku": 64, "name": 200, ...}."""

MAX_INT = 2**31 - 1  # stock and link are INTEGER columns


@dataclass(frozen=True)
class ImportLimits:
    """Bounds on one import; `from_settings` reads them from the CATALOG_MAX_* settings."""

    max_file_bytes: int = 32 * _MB
    max_unzipped_bytes: int = 256 * _MB
    max_rows: int = 200_000
    max_columns: int = 300
    max_cell_chars: int = 10_000
    max_attributes: int = 50
    max_attribute_chars: int = 1_000
    max_seconds: float = 120.0
    max_photo_bytes: int = 10 * _MB
    max_photo_pixels: int = 40_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> ImportLimits:
        return cls(
            max_file_bytes=int(settings.catalog_max_file_mb * _MB),
            max_unzipped_bytes=int(settings.catalog_max_unzipped_mb * _MB),
            max_rows=settings.catalog_max_rows,
            max_columns=settings.catalog_max_columns,
            max_cell_chars=settings.catalog_max_cell_chars,
            max_attributes=settings.catalog_max_attributes,
            max_attribute_chars=settings.catalog_max_attribute_chars,
            max_seconds=settings.catalog_max_seconds,
            max_photo_bytes=int(settings.catalog_max_photo_mb * _MB),
            max_photo_pixels=settings.catalog_max_photo_pixels,
        )

    def too_big(self) -> CatalogError:
        return CatalogError(
            None,
            None,
            f"the file is larger than {mb(self.max_file_bytes)}"
            " (CATALOG_MAX_FILE_MB); split the catalog or raise the limit",
        )


class Deadline:
    """The import's time budget, checked once per row so no file holds a worker for long."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self, row: int | None = None) -> None:
        if time.monotonic() > self._end:
            where = f" (stopped at row {row})" if row is not None else ""
            raise CatalogError(
                None,
                None,
                f"the import took longer than {self.seconds:g} s{where} (CATALOG_MAX_SECONDS);"
                " split the catalog or raise the limit",
            )


def mb(size: int) -> str:
    return f"{size / _MB:g} MB"
