"""Import a merchant's catalog file: validate everything, then change the database in one go.

A catalog on air must never be half-imported, so a file with any bad cell changes nothing,
and a good file is applied in a single transaction. Products missing from the file are
deactivated rather than deleted, so the audit log's replies keep pointing at real rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.catalog.errors import CatalogError
from host.catalog.product_rows import apply_facts, fact_changes, facts_of
from host.catalog.reading import detect_format, read_rows
from host.catalog.validation import ProductRecord, parse_records
from host.db.models import CatalogImport, Merchant, PriceHistory, Product


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

    def diff(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": [{"sku": c.sku, "changes": c.changes} for c in self.changed],
            "removed": self.removed,
        }


def import_file(
    engine: Engine,
    path: Path,
    merchant: str,
    *,
    fmt: str | None = None,
    dry_run: bool = False,
    by: str = "cli",
    default_currency: str = "CNY",
) -> ImportReport:
    """Read, validate and apply `path` as `merchant`'s full catalog; see `ImportReport.errors`."""
    data = path.read_bytes()
    report = ImportReport(path.name, hashlib.sha256(data).hexdigest(), dry_run)
    try:
        records, errors = parse_records(read_rows(data, detect_format(path, fmt)), default_currency)
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
        report.import_id = _apply(session, merchant_row, records, existing, report, by)
    return report


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
) -> int:
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
    for record in records:
        product = existing.get(record.facts.sku)
        old_price = None if product is None else product.price
        if product is None:
            product = Product(merchant_id=merchant.id, sku=record.facts.sku)
            session.add(product)
        apply_facts(product, record.facts)
        product.active = record.active
        if old_price is None or old_price != record.facts.price:
            session.flush()
            session.add(
                PriceHistory(
                    product_id=product.id,
                    old_price=old_price,
                    new_price=record.facts.price,
                    currency=record.facts.currency,
                    import_id=catalog_import.id,
                )
            )
    for sku in report.removed:
        existing[sku].active = False
    return catalog_import.id
