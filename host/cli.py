"""The `host` command line: a thin shell over the library. Errors print as one line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from host.commands.avatar import avatar_app
from host.commands.catalog import catalog_app
from host.commands.pool import pool_app
from host.commands.prompts import prompts_app
from host.commands.run import BehindProxy, CertFile, KeyFile, run
from host.commands.shell import console, load_settings, one_line_errors, out
from host.commands.users import token_app, user_app
from host.commands.voice import voice_app
from host.errors import HostError

app = typer.Typer(help="livehost: an AI host for live-selling streams.", no_args_is_help=True)
db_app = typer.Typer(help="The database (schema changes only through migrations).")
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(voice_app, name="voice")
app.add_typer(avatar_app, name="avatar")
app.add_typer(prompts_app, name="prompts")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(pool_app, name="pool")
app.command()(run)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False,
) -> None:
    from host.logs import setup_logging

    setup_logging(verbose=verbose)


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
    rtmp_env: Annotated[
        str | None,
        typer.Option(
            "--rtmp-env",
            help="also push to the RTMP(S) ingest URL (stream key included) held by this"
            " environment variable, e.g. LIVE_RTMP_URL",
        ),
    ] = None,
) -> None:
    """Run one offline session: demo catalog and comments in; MP4, HLS and replies.jsonl out."""
    from host.demo import DemoPaths, run_demo
    from host.session.report import print_exchange, print_report

    if duration is not None and duration <= 0:
        raise HostError("--duration must be positive")
    settings = load_settings()
    mode = "realtime" if realtime else "fast"
    console.print(f"livehost demo ({mode}) → {out_dir}/ · each reply is printed as it is spoken")
    result = asyncio.run(
        run_demo(
            settings,
            out_dir,
            duration=duration,
            realtime=realtime,
            comments=comments,
            rtmp_env=rtmp_env,
            on_exchange=lambda record: print_exchange(out, record),
        )
    )
    print_report(out, result)
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
    user: Annotated[str | None, typer.Option(help="viewer name (default: anonymous)")] = None,
) -> None:
    """Answer one comment (triage, responder, guard) against the current catalog."""
    from host.ask import Asker
    from host.catalog.store import DbCatalog, ensure_demo_catalog
    from host.db.migrate import migrated_engine

    settings = load_settings()
    engine = migrated_engine(settings.database_url)
    if merchant is None:
        ensure_demo_catalog(engine, settings)
    catalog = DbCatalog(engine, merchant or settings.demo_merchant)
    result = Asker.from_settings(catalog, settings).ask(text, user)
    if as_json:
        out.print_json(json.dumps(result.as_json(), ensure_ascii=False))
    elif result.dropped:
        out.print(f"(not answered: {result.dropped})")
    else:
        out.print(result.reply, highlight=False)


@app.command()
@one_line_errors
def serve(
    bind: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    ssl_certfile: CertFile = None,
    ssl_keyfile: KeyFile = None,
    behind_proxy: BehindProxy = False,
) -> None:
    """Serve the REST API (catalog, streams), the websocket ingress and the Douyin webhook."""
    import uvicorn

    from host.db.migrate import migrated_engine
    from host.web.app import create_app
    from host.web.listen import listen_options

    settings = load_settings()
    listen = listen_options(
        bind, settings, certfile=ssl_certfile, keyfile=ssl_keyfile, behind_proxy=behind_proxy
    )
    app_ = create_app(settings, migrated_engine(settings.database_url))
    uvicorn.run(app_, host=bind, port=port, log_level="info", **listen)  # stops streams on exit


@db_app.command("upgrade")
@one_line_errors
def db_upgrade() -> None:
    """Apply the migrations to DATABASE_URL."""
    from host.db.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    console.print("database is up to date")


if __name__ == "__main__":
    app()
