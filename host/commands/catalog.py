"""`host catalog ...`: the merchant's catalog from the command line.

Every command but `import` works on DEMO_MERCHANT's catalog unless `--merchant` names
another, the same merchant the demo and `host ask` read, so an edit lands where it is heard.
"""

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

Merchant = Annotated[
    str | None, typer.Option(help="whose catalog (default: DEMO_MERCHANT from the settings)")
]


catalog_app = typer.Typer(help="The merchant's product catalog.", no_args_is_help=True)
catalog_app.add_typer(policy_app, name="policy")


def _catalog_engine() -> Engine:
    from host.db.migrate import migrated_engine

    return migrated_engine(load_settings().database_url)


def _merchant(merchant: str | None) -> str:
    return merchant or load_settings().demo_merchant


@catalog_app.command("import")
@one_line_errors
def catalog_import(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8/GBK), XLSX or JSON catalog")],
    merchant: Annotated[str, typer.Option(help="whose catalog this is")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv|xlsx|json")] = None,
    dry_run: Annotated[bool, typer.Option(help="report and diff only; write nothing")] = False,
    currency: Annotated[
        str, typer.Option(help="currency of prices that name none (a shop export's)")
    ] = "CNY",
) -> None:
    """Import a catalog file: all rows or none; removed products are deactivated.

    Photos it names are read from the file's own folder and copied into the media store.
    """
    from host.catalog.importer import import_file
    from host.catalog.limits import ImportLimits
    from host.catalog.money import PriceError, parse_currency
    from host.catalog.photos import MediaStore, media_dir

    if not file.is_file():
        raise HostError(f"no such file: {file}")
    try:
        currency = parse_currency(currency)
    except PriceError as exc:
        raise HostError(f"--currency: {exc}") from None
    settings = load_settings()
    limits = ImportLimits.from_settings(settings)
    with _progress_bar() as progress:
        report = import_file(
            _catalog_engine(),
            file,
            merchant,
            fmt=fmt,
            dry_run=dry_run,
            default_currency=currency,
            progress=progress,
            limits=limits,
            media=MediaStore(media_dir(settings), limits.max_photo_bytes, limits.max_photo_pixels),
            photos_from=file.parent,
        )
    for error in report.errors:
        console.print(f"[red]{file.name}:[/red] {error}", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]{file.name}:[/yellow] {warning}", highlight=False)
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
def catalog_list(merchant: Merchant = None) -> None:
    """The merchant's active products with live prices and stock."""
    from rich.table import Table

    from host.catalog.store import DbCatalog, merchant_has_products

    engine, merchant = _catalog_engine(), _merchant(merchant)
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
    merchant: Merchant = None,
) -> None:
    """Everything the host knows about one product, as JSON (the HTTP API's shape)."""
    from host.catalog.export import product_json
    from host.catalog.store import DbCatalog

    merchant = _merchant(merchant)
    product = DbCatalog(_catalog_engine(), merchant).get(sku)
    if product is None:
        raise HostError(f"no active product {sku!r} for merchant {merchant!r}")
    out.print_json(data=product_json(product))


@catalog_app.command("export")
@one_line_errors
def catalog_export(
    merchant: Merchant = None,
    fmt: Annotated[str, typer.Option("--format", help="csv|json")] = "csv",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="file to write; default stdout")
    ] = None,
) -> None:
    """The active catalog as a file that `host catalog import` reads back unchanged."""
    from host.catalog.export import EXPORT_FORMATS, export_catalog, write_atomically
    from host.catalog.store import merchant_has_products

    if fmt not in EXPORT_FORMATS:
        raise HostError(f"unsupported export format {fmt!r}; use one of {EXPORT_FORMATS}")
    engine, merchant = _catalog_engine(), _merchant(merchant)
    if not merchant_has_products(engine, merchant):
        raise HostError(f"merchant {merchant!r} has no products; import a catalog first")
    text = export_catalog(engine, merchant, fmt)
    if out_file is None:
        typer.echo(text, nl=False)
        return
    try:
        write_atomically(out_file, text)
    except OSError as exc:
        raise HostError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    console.print(f"wrote {out_file}", highlight=False)


@catalog_app.command("set-price")
@one_line_errors
def catalog_set_price(
    sku: Annotated[str, typer.Argument(help="product SKU")],
    price: Annotated[str, typer.Argument(help='new price, e.g. 359 or "¥359.00"')],
    merchant: Merchant = None,
) -> None:
    """Change one price now; running sessions quote it on their next reply."""
    from host.catalog.edits import ProductEdit

    _edit(merchant, sku, ProductEdit(price=price))


@catalog_app.command("set-stock")
@one_line_errors
def catalog_set_stock(
    sku: Annotated[str, typer.Argument(help="product SKU")],
    stock: Annotated[str, typer.Argument(help="units in stock, or 'unknown'")],
    merchant: Merchant = None,
) -> None:
    """Change one product's stock now."""
    from host.catalog.edits import ProductEdit

    if stock != "unknown" and not (stock.isascii() and stock.isdigit() and len(stock) <= 10):
        raise HostError(f"stock must be a whole number >= 0 or 'unknown', not {stock!r}")
    _edit(merchant, sku, ProductEdit(stock=None if stock == "unknown" else int(stock)))


@catalog_app.command("set-promotion")
@one_line_errors
def catalog_set_promotion(
    sku: Annotated[str, typer.Argument(help="product SKU")],
    promotion: Annotated[str, typer.Argument(help="the offer the host mentions; '' clears it")],
    merchant: Merchant = None,
) -> None:
    """Change or clear one product's promotion now."""
    from host.catalog.edits import ProductEdit

    _edit(merchant, sku, ProductEdit(promotion=promotion))


@catalog_app.command("lineup")
@one_line_errors
def catalog_lineup(
    skus: Annotated[list[str], typer.Argument(help="SKUs on sale now, link 1 first")],
    merchant: Merchant = None,
) -> None:
    """Set the stream's lineup: these SKUs become links 1..n, every other product loses its link."""
    from host.catalog.edits import set_lineup

    lineup = set_lineup(_catalog_engine(), _merchant(merchant), skus)
    for product in lineup:
        out.print(f"{product.link}号 {product.sku} {product.name}", highlight=False)


def _edit(merchant: str | None, sku: str, edit: ProductEdit) -> None:
    from host.catalog.edits import edit_product

    product = edit_product(_catalog_engine(), _merchant(merchant), sku, edit)
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
