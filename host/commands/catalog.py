"""`host catalog ...`: the merchant's catalog from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from host.commands.policy import policy_app
from host.commands.shell import console, load_settings, one_line_errors, out
from host.errors import HostError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from host.catalog.edits import ProductEdit
    from host.catalog.facts import ProductFacts
    from host.catalog.importer import Progress

BAR_FROM_ROWS = 5000  # smaller files import in about a second: no bar


catalog_app = typer.Typer(help="The merchant's product catalog.", no_args_is_help=True)
catalog_app.add_typer(policy_app, name="policy")


def _catalog_engine() -> Engine:
    from host.db.migrate import migrated_engine

    return migrated_engine(load_settings().database_url)


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
    with _progress_bar() as progress:
        report = import_file(
            _catalog_engine(),
            file,
            merchant,
            fmt=fmt,
            dry_run=dry_run,
            progress=progress,
        )
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

    engine = _catalog_engine()
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
    """Everything the host knows about one product, as JSON (the HTTP API's shape)."""
    from host.catalog.export import product_json
    from host.catalog.store import DbCatalog

    product = DbCatalog(_catalog_engine(), merchant).get(sku)
    if product is None:
        raise HostError(f"no active product {sku!r} for merchant {merchant!r}")
    out.print_json(data=product_json(product))


@catalog_app.command("export")
@one_line_errors
def catalog_export(
    merchant: Annotated[str, typer.Option(help="whose catalog")] = "demo",
    fmt: Annotated[str, typer.Option("--format", help="csv|json")] = "csv",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="file to write; default stdout")
    ] = None,
) -> None:
    """The active catalog as a file that `host catalog import` reads back unchanged."""
    from host.catalog.export import EXPORT_FORMATS, export_catalog
    from host.catalog.store import merchant_has_products

    if fmt not in EXPORT_FORMATS:
        raise HostError(f"unsupported export format {fmt!r}; use one of {EXPORT_FORMATS}")
    engine = _catalog_engine()
    if not merchant_has_products(engine, merchant):
        raise HostError(f"merchant {merchant!r} has no products; import a catalog first")
    text = export_catalog(engine, merchant, fmt)
    if out_file is None:
        typer.echo(text, nl=False)
        return
    out_file.write_text(text, encoding="utf-8")
    console.print(f"wrote {out_file}", highlight=False)


@catalog_app.command("set-price")
@one_line_errors
def catalog_set_price(
    sku: Annotated[str, typer.Argument(help="product SKU")],
    price: Annotated[str, typer.Argument(help='new price, e.g. 359 or "¥359.00"')],
    merchant: Annotated[str, typer.Option(help="whose catalog")] = "demo",
) -> None:
    """Change one price now; running sessions quote it on their next reply."""
    from host.catalog.edits import ProductEdit

    _edit(merchant, sku, ProductEdit(price=price))


@catalog_app.command("set-stock")
@one_line_errors
def catalog_set_stock(
    sku: Annotated[str, typer.Argument(help="product SKU")],
    stock: Annotated[str, typer.Argument(help="units in stock, or 'unknown'")],
    merchant: Annotated[str, typer.Option(help="whose catalog")] = "demo",
) -> None:
    """Change one product's stock now."""
    from host.catalog.edits import ProductEdit

    if stock != "unknown" and not stock.isdigit():
        raise HostError(f"stock must be a whole number >= 0 or 'unknown', not {stock!r}")
    _edit(merchant, sku, ProductEdit(stock=None if stock == "unknown" else int(stock)))


@catalog_app.command("set-promotion")
@one_line_errors
def catalog_set_promotion(
    sku: Annotated[str, typer.Argument(help="product SKU")],
    promotion: Annotated[str, typer.Argument(help="the offer the host mentions; '' clears it")],
    merchant: Annotated[str, typer.Option(help="whose catalog")] = "demo",
) -> None:
    """Change or clear one product's promotion now."""
    from host.catalog.edits import ProductEdit

    _edit(merchant, sku, ProductEdit(promotion=promotion))


@catalog_app.command("lineup")
@one_line_errors
def catalog_lineup(
    skus: Annotated[list[str], typer.Argument(help="SKUs on sale now, link 1 first")],
    merchant: Annotated[str, typer.Option(help="whose catalog")] = "demo",
) -> None:
    """Set the stream's lineup: these SKUs become links 1..n, every other product loses its link."""
    from host.catalog.edits import set_lineup

    lineup = set_lineup(_catalog_engine(), merchant, skus)
    for product in lineup:
        out.print(f"{product.link}号 {product.sku} {product.name}", highlight=False)


def _edit(merchant: str, sku: str, edit: ProductEdit) -> None:
    from host.catalog.edits import edit_product

    product = edit_product(_catalog_engine(), merchant, sku, edit)
    _print_product(product)


def _print_product(product: ProductFacts) -> None:
    stock = "unknown" if product.stock is None else str(product.stock)
    promotion = f", promotion {product.promotion}" if product.promotion else ""
    out.print(
        f"{product.sku} {product.name}: {product.price} {product.currency}, "
        f"stock {stock}{promotion}",
        highlight=False,
    )


@contextmanager
def _progress_bar() -> Iterator[Progress]:
    """A rich bar that appears only once an import reports more than `BAR_FROM_ROWS` rows."""
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

    bar = Bar(console=console, transient=True)
    tasks: dict[str, TaskID] = {}

    def report(stage: str, done: int, total: int) -> None:
        if total < BAR_FROM_ROWS:
            return
        if not tasks:
            bar.start()
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    try:
        yield report
    finally:
        if tasks:
            bar.stop()
