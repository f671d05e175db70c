"""`host catalog ...`: the merchant's catalog from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from host.commands.shell import console, load_settings, one_line_errors, out
from host.config import Settings
from host.errors import HostError

catalog_app = typer.Typer(help="The merchant's product catalog.", no_args_is_help=True)


def _catalog_engine(settings: Settings) -> Engine:
    from host.db.engine import make_engine
    from host.db.migrate import upgrade

    upgrade(settings.database_url)
    return make_engine(settings.database_url)


@catalog_app.command("import")
@one_line_errors
def catalog_import(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8/GBK), XLSX or JSON catalog")],
    merchant: Annotated[str, typer.Option(help="whose catalog this is")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv|xlsx|json")] = None,
    dry_run: Annotated[bool, typer.Option(help="report and diff only; write nothing")] = False,
) -> None:
    """Import a catalog file: all rows or none; removed products are deactivated."""
    from host.catalog.importer import import_file

    if not file.is_file():
        raise HostError(f"no such file: {file}")
    report = import_file(_catalog_engine(load_settings()), file, merchant, fmt=fmt, dry_run=dry_run)
    for error in report.errors:
        console.print(f"[red]{file.name}:[/red] {error}", highlight=False)
    if report.errors:
        raise HostError(f"{len(report.errors)} problem(s) in {file.name}; nothing was imported")
    for change in report.changed:
        fields = ", ".join(f"{k} {old} → {new}" for k, (old, new) in change.changes.items())
        out.print(f"  changed {change.sku}: {fields}", highlight=False)
    verb = "would import" if dry_run else "imported"
    out.print(
        f"{verb} {file.name} for {merchant}: {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.removed)} deactivated, "
        f"{len(report.unchanged)} unchanged"
    )


@catalog_app.command("list")
@one_line_errors
def catalog_list(merchant: Annotated[str, typer.Option(help="whose catalog")] = "demo") -> None:
    """The merchant's active products with live prices and stock."""
    from rich.table import Table

    from host.catalog.store import DbCatalog, merchant_has_products

    engine = _catalog_engine(load_settings())
    if not merchant_has_products(engine, merchant):
        raise HostError(f"merchant {merchant!r} has no products; import a catalog first")
    table = Table("link", "sku", "name", "price", "stock")
    for p in DbCatalog(engine, merchant).products():
        stock = "?" if p.stock is None else str(p.stock)
        link = "" if p.link is None else str(p.link)
        table.add_row(link, p.sku, p.name, f"{p.price} {p.currency}", stock)
    out.print(table)


@catalog_app.command("show")
@one_line_errors
def catalog_show(
    sku: Annotated[str, typer.Argument(help="product SKU")],
    merchant: Annotated[str, typer.Option(help="whose catalog")] = "demo",
) -> None:
    """Everything the host knows about one product, as JSON."""
    from dataclasses import asdict

    from host.catalog.store import DbCatalog

    product = DbCatalog(_catalog_engine(load_settings()), merchant).get(sku)
    if product is None:
        raise HostError(f"no active product {sku!r} for merchant {merchant!r}")
    out.print_json(json.dumps(asdict(product), ensure_ascii=False, default=str))
