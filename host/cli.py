"""The `host` command line: a thin shell over the library. Errors print as one line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine

from host.config import Settings
from host.errors import HostError

app = typer.Typer(help="livehost: an AI host for live-selling streams.", no_args_is_help=True)
db_app = typer.Typer(help="The database (schema changes only through migrations).")
catalog_app = typer.Typer(help="The merchant's product catalog.")
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")

console = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(fn: F) -> F:
    """Show user errors as one line and exit non-zero, never as a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HostError as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _settings() -> Settings:
    return Settings()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
@one_line_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out/demo"),
    duration: Annotated[
        float | None,
        typer.Option(help="seconds of stream; default: until every demo comment is answered"),
    ] = None,
    realtime: Annotated[
        bool, typer.Option("--realtime/--fast", help="wall-clock pace, or as fast as possible")
    ] = True,
    comments: Annotated[
        Path | None, typer.Option(help="replay this JSONL instead of the demo comments")
    ] = None,
) -> None:
    """Run one offline session: demo catalog and comments in; MP4, HLS and replies.jsonl out."""
    from host.demo import DemoPaths, run_demo
    from host.session.report import print_report

    if duration is not None and duration <= 0:
        raise HostError("--duration must be positive")
    settings = _settings()
    mode = "realtime" if realtime else "fast"
    console.print(f"livehost demo ({mode}) → {out_dir}/")
    result = asyncio.run(
        run_demo(settings, out_dir, duration=duration, realtime=realtime, comments=comments)
    )
    print_report(out, result.records, result.drops, result.comments)
    paths = DemoPaths(out_dir)
    stats = result.program
    out.print(
        f"{stats.frames} frames ({stats.late_frames} late) · {paths.mp4} · {paths.hls} · "
        f"{paths.replies}"
    )


@app.command()
@one_line_errors
def ask(
    text: Annotated[str, typer.Argument(help="the viewer comment")],
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON object")] = False,
    merchant: Annotated[str | None, typer.Option(help="catalog to answer from")] = None,
    user: Annotated[str, typer.Option(help="viewer name")] = "viewer",
) -> None:
    """Answer one comment (triage, responder, guard) against the current catalog."""
    from host.ask import Asker
    from host.catalog.store import DbCatalog, ensure_demo_catalog
    from host.db.engine import make_engine
    from host.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    if merchant is None:
        ensure_demo_catalog(engine, settings)
    catalog = DbCatalog(engine, merchant or settings.demo_merchant)
    result = Asker.offline(catalog, settings.prompts_dir).ask(text, user)
    if as_json:
        out.print_json(json.dumps(result.as_json(), ensure_ascii=False))
    elif result.dropped:
        out.print(f"(not answered: {result.dropped})")
    else:
        out.print(result.reply, highlight=False)


@db_app.command("upgrade")
@one_line_errors
def db_upgrade() -> None:
    """Apply the migrations to DATABASE_URL."""
    from host.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    console.print("database is up to date")


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
    report = import_file(_catalog_engine(_settings()), file, merchant, fmt=fmt, dry_run=dry_run)
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

    engine = _catalog_engine(_settings())
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

    product = DbCatalog(_catalog_engine(_settings()), merchant).get(sku)
    if product is None:
        raise HostError(f"no active product {sku!r} for merchant {merchant!r}")
    out.print_json(json.dumps(asdict(product), ensure_ascii=False, default=str))
