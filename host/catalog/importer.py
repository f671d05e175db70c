"""Import a merchant's catalog file: validate everything, then change the database in one go.

A catalog on air must never be half-imported, so a file with any bad cell changes nothing,
and a good file is applied in a single transaction. Products missing from the file are
deactivated rather than deleted, so the audit log's replies keep pointing at real rows.

Imports for one merchant are serialised by that merchant's row (created idempotently and
locked first thing in the transaction), so concurrent uploads for a new merchant neither
collide on its name nor on its SKUs: each sees the one before it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from host.catalog.errors import CatalogError
from host.catalog.facts import ProductFacts
from host.catalog.limits import Deadline, ImportLimits
from host.catalog.photos import MediaStore, PhotoError
from host.catalog.product_rows import fact_changes, facts_of, row_values
from host.catalog.reading import detect_format, read_rows
from host.catalog.skus import normalise_sku
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
    warnings: list[CatalogError] = field(default_factory=list)  # imported, but not all of it
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
            "warnings": [
                {"row": w.row, "column": w.column, "reason": w.reason, "message": str(w)}
                for w in self.warnings
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
    file_name: str | None = None,
    fmt: str | None = None,
    dry_run: bool = False,
    by: str = "cli",
    default_currency: str = "CNY",
    progress: Progress | None = None,
    limits: ImportLimits | None = None,
    media: MediaStore | None = None,
    photos_from: Path | None = None,
) -> ImportReport:
    """Read, validate and apply `path` as `merchant`'s full catalog; see `ImportReport.errors`.

    `file_name` is the name the merchant gave the file (an upload's, kept in a temp file);
    its suffix picks the format unless `fmt` does. Photos named in the catalog are copied
    into `media` from the folder `photos_from` only (None: no local file is read).
    """
    limits = limits or ImportLimits()
    deadline = Deadline(limits.max_seconds)
    name = file_name or path.name
    report = ImportReport(name, _sha256(path, limits), dry_run)
    try:
        rows = read_rows(path, detect_format(Path(name), fmt), limits, deadline)
        records, errors = parse_records(
            rows,
            default_currency,
            _every(progress, "validate"),
            limits=limits,
            deadline=deadline,
        )
        if not errors:
            records = _with_photos(records, media, photos_from, dry_run, report)
        deadline.check()
    except CatalogError as exc:
        records, errors = [], [exc]
    if not errors and not records:
        errors = [CatalogError(None, None, "no products in the file")]
    if errors:
        report.errors = errors
        return report
    with Session(engine) as session, session.begin():
        if dry_run:
            merchant_row = session.scalar(select(Merchant).where(Merchant.name == merchant))
        else:
            merchant_row = _locked_merchant(session, merchant)
        existing: dict[str, Product] = {}
        if merchant_row is not None:
            existing = {
                normalise_sku(p.sku): p
                for p in session.scalars(
                    select(Product).where(Product.merchant_id == merchant_row.id)
                )
            }
        _compare(records, existing, report)
        if dry_run or merchant_row is None:
            session.rollback()
            return report
        report.import_id = _apply(
            session, merchant_row, records, existing, report, by, _every(progress, "write")
        )
    return report


def _sha256(path: Path, limits: ImportLimits) -> str:
    """The file's hash, read in chunks; a file over the size limit is refused first."""
    if path.stat().st_size > limits.max_file_bytes:
        return ""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _locked_merchant(session: Session, name: str) -> Merchant:
    """The merchant's row, created if new (idempotently: a concurrent creator is no error)
    and locked for this transaction, so one merchant's imports apply one after another."""
    dialect = session.get_bind().dialect.name
    upserts: dict[str, Callable[..., postgresql.Insert | sqlite.Insert]] = {
        "postgresql": postgresql.insert,
        "sqlite": sqlite.insert,
    }
    upsert = upserts.get(dialect)
    if upsert is None:
        raise CatalogError(None, None, f"imports are not supported on {dialect} databases")
    session.execute(
        upsert(Merchant)
        .values(name=name, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.scalars(select(Merchant).where(Merchant.name == name).with_for_update()).one()


def _with_photos(
    records: list[ProductRecord],
    media: MediaStore | None,
    photos_from: Path | None,
    dry_run: bool,
    report: ImportReport,
) -> list[ProductRecord]:
    """Records whose photo is a media-store reference; an unusable photo is dropped, warned."""
    result = []
    for record in records:
        cell = record.facts.attributes.get("image")
        if cell is None:
            result.append(record)
            continue
        attributes = dict(record.facts.attributes)
        try:
            if media is None:
                raise PhotoError("this import has no media store for photos")
            attributes["image"] = media.ingest(cell, photos_from, write=not dry_run)
        except PhotoError as exc:
            del attributes["image"]
            report.warnings.append(CatalogError(record.row, "image", f"photo left out: {exc}"))
        facts = dataclasses.replace(record.facts, attributes=attributes)
        result.append(dataclasses.replace(record, facts=facts))
    return result


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
