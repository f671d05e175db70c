"""Import a merchant's catalog file: validate everything, then change the database in one go.

A catalog on air must never be half-imported, so a file with any bad cell changes nothing,
and a good file is applied in a single transaction. Products missing from the file are
deactivated rather than deleted, so the audit log's replies keep pointing at real rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from host.catalog.errors import CatalogError
from host.catalog.facts import ProductFacts
from host.catalog.product_rows import fact_changes, facts_of, row_values
from host.catalog.reading import detect_format, read_rows
from host.catalog.validation import ProductRecord, parse_records
from host.db.models import CatalogImport, Merchant, PriceHistory, Product, utcnow


@dataclass(frozen=True)
class ProductChange:
    sku: str
    changes: dict[str, list[Any]]  # field -> [old, new]


@dataclass
class ImportReport:
    file_name: str
    sha256: str
    dry_run: bool
    errors: list[CatalogError] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[ProductChange] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    import_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        """The report as the API returns it (and the CLI prints with --json)."""
        return {
            "file_name": self.file_name,
            "sha256": self.sha256,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "import_id": self.import_id,
            "errors": [
                {"row": e.row, "column": e.column, "reason": e.reason, "message": str(e)}
                for e in self.errors
            ],
            "counts": {
                "added": len(self.added),
                "changed": len(self.changed),
                "removed": len(self.removed),
                "unchanged": len(self.unchanged),
            },
            "diff": self.diff(),
        }

    def diff(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": [{"sku": c.sku, "changes": c.changes} for c in self.changed],
            "removed": self.removed,
        }


Progress = Callable[[str, int, int], None]
"""Told (stage, rows done, rows in all) as a long import goes; the CLI draws a bar from it."""

_STEP = 2000  # rows between two progress calls


def import_file(
    engine: Engine,
    path: Path,
    merchant: str,
    *,
    fmt: str | None = None,
    dry_run: bool = False,
    by: str = "cli",
    default_currency: str = "CNY",
    progress: Progress | None = None,
) -> ImportReport:
    """Read, validate and apply `path` as `merchant`'s full catalog; see `ImportReport.errors`."""
    return import_bytes(
        engine,
        path.read_bytes(),
        path.name,
        merchant,
        fmt=fmt,
        dry_run=dry_run,
        by=by,
        default_currency=default_currency,
        progress=progress,
    )


def import_bytes(
    engine: Engine,
    data: bytes,
    file_name: str,
    merchant: str,
    *,
    fmt: str | None = None,
    dry_run: bool = False,
    by: str = "cli",
    default_currency: str = "CNY",
    progress: Progress | None = None,
) -> ImportReport:
    """`import_file` for an upload: the format comes from `fmt` or the file name's suffix."""
    report = ImportReport(file_name, hashlib.sha256(data).hexdigest(), dry_run)
    try:
        rows = read_rows(data, detect_format(Path(file_name), fmt))
        records, errors = parse_records(rows, default_currency, _every(progress, "validate"))
    except CatalogError as exc:
        records, errors = [], [exc]
    if not errors and not records:
        errors = [CatalogError(None, None, "no products in the file")]
    if errors:
        report.errors = errors
        return report
    with Session(engine) as session, session.begin():
        merchant_row = session.scalar(select(Merchant).where(Merchant.name == merchant))
        existing = {}
        if merchant_row is not None:
            existing = {
                p.sku: p
                for p in session.scalars(
                    select(Product).where(Product.merchant_id == merchant_row.id)
                )
            }
        _compare(records, existing, report)
        if dry_run:
            session.rollback()
            return report
        if merchant_row is None:
            merchant_row = Merchant(name=merchant)
            session.add(merchant_row)
            session.flush()
        report.import_id = _apply(
            session, merchant_row, records, existing, report, by, _every(progress, "write")
        )
    return report


def _every(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    """A per-row counter that calls `progress` only every `_STEP` rows and on the last one."""
    if progress is None:
        return None

    def tick(done: int, total: int) -> None:
        if done % _STEP == 0 or done == total:
            progress(stage, done, total)

    return tick


def _compare(
    records: list[ProductRecord], existing: dict[str, Product], report: ImportReport
) -> None:
    for record in records:
        current = existing.get(record.facts.sku)
        if current is None or (not current.active and record.active):
            report.added.append(record.facts.sku)
            continue
        changes = fact_changes(facts_of(current), record.facts)
        if current.active != record.active:
            changes["active"] = [current.active, record.active]
        if changes:
            report.changed.append(ProductChange(record.facts.sku, changes))
        else:
            report.unchanged.append(record.facts.sku)
    in_file = {record.facts.sku for record in records}
    report.removed = sorted(sku for sku, p in existing.items() if p.active and sku not in in_file)


def _apply(
    session: Session,
    merchant: Merchant,
    records: list[ProductRecord],
    existing: dict[str, Product],
    report: ImportReport,
    by: str,
    tick: Callable[[int, int], None] | None,
) -> int:
    """Write the import with a few bulk statements (100k rows must not mean 100k queries)."""
    catalog_import = CatalogImport(
        merchant_id=merchant.id,
        by=by,
        file_name=report.file_name,
        sha256=report.sha256,
        added=len(report.added),
        changed=len(report.changed),
        removed=len(report.removed),
        unchanged=len(report.unchanged),
        diff=report.diff(),
    )
    session.add(catalog_import)
    session.flush()
    touched = set(report.added) | {change.sku for change in report.changed}
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    history: list[tuple[str, Decimal | None, ProductFacts]] = []
    ids: dict[str, int] = {}  # product ids the price history needs; new rows' are looked up
    for done, record in enumerate(records, start=1):
        facts = record.facts
        values = row_values(facts) | {"active": record.active, "updated_at": now}
        product = existing.get(facts.sku)
        if product is None:
            inserts.append(values | {"merchant_id": merchant.id})
            history.append((facts.sku, None, facts))
        elif facts.sku in touched:
            updates.append(values | {"id": product.id})
            if product.price != facts.price:
                history.append((facts.sku, product.price, facts))
                ids[facts.sku] = product.id
        if tick is not None:
            tick(done, len(records))
    connection = session.connection()  # Core executemany: no ORM bookkeeping per row
    if inserts:
        connection.execute(insert(Product.metadata.tables["products"]), inserts)
    if updates:
        session.execute(update(Product), updates)
    removed_ids = [existing[sku].id for sku in report.removed]
    for start in range(0, len(removed_ids), _CHUNK):
        session.execute(
            update(Product)
            .where(Product.id.in_(removed_ids[start : start + _CHUNK]))
            .values(active=False, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    if inserts:  # one query for the new rows' ids: cheaper than asking per chunk of SKUs
        rows = session.execute(
            select(Product.sku, Product.id).where(Product.merchant_id == merchant.id)
        )
        ids |= {sku: product_id for sku, product_id in rows}
    if history:
        connection.execute(
            insert(PriceHistory.metadata.tables["price_history"]),
            [
                {
                    "product_id": ids[sku],
                    "old_price": old,
                    "new_price": facts.price,
                    "currency": facts.currency,
                    "import_id": catalog_import.id,
                    "changed_at": now,
                }
                for sku, old, facts in history
            ],
        )
    return catalog_import.id


_CHUNK = 900  # ids per IN (...) list, well under every database's parameter limit
