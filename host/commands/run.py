"""`host run STREAM.yaml`: one stream on air (see host/session/onair.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from host.commands.shell import console, load_settings, one_line_errors, out
from host.errors import HostError

# How `host run` and `host serve` listen (host/web/listen.py): TLS, or a TLS proxy in front.
CertFile = Annotated[Path | None, typer.Option(help="TLS certificate (PEM); default SSL_CERTFILE")]
KeyFile = Annotated[Path | None, typer.Option(help="TLS private key (PEM); default SSL_KEYFILE")]
BehindProxy = Annotated[
    bool,
    typer.Option(
        "--behind-proxy",
        help="a TLS reverse proxy forwards here: trust its X-Forwarded-Proto/-For headers",
    ),
]


@one_line_errors
def run(
    stream_file: Annotated[Path, typer.Argument(help="the stream file (YAML)")],
    check: Annotated[
        bool, typer.Option("--check", help="validate the file and its settings, start nothing")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(help="stop after this many seconds (trials, tests)")
    ] = None,
    port: Annotated[
        int, typer.Option(help="port of the ingress, webhook, /health and /metrics (0: any)")
    ] = 8700,
    bind: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="run it on the Ray cluster at ray://HOST:PORT instead: it outlives this"
            " process, and a lost machine costs seconds (needs REDIS_URL, RAY_AUTH_TOKEN,"
            " PostgreSQL)",
        ),
    ] = None,
    ssl_certfile: CertFile = None,
    ssl_keyfile: KeyFile = None,
    behind_proxy: BehindProxy = False,
) -> None:
    """Put one stream on air from a stream file: sources in, sinks out, supervised, resumable."""
    from host.db.migrate import migrated_engine
    from host.logs import setup_logging
    from host.session.checks import check_stream
    from host.session.onair import go_live
    from host.session.spec import load_stream
    from host.web.listen import listen_options

    if duration is not None and duration <= 0:
        raise HostError("--duration must be positive")
    spec = load_stream(stream_file)
    base = load_settings()
    listen = listen_options(
        bind, base, certfile=ssl_certfile, keyfile=ssl_keyfile, behind_proxy=behind_proxy
    )
    settings = spec.settings_for(base)
    if cluster is not None:
        from host.cluster.placement import check_settings

        check_settings(settings)
    engine = migrated_engine(settings.database_url)
    summary = check_stream(spec, settings, engine)
    if check:
        out.print(f"{stream_file}: ok · {summary}", highlight=False)
        return
    if cluster is not None:
        from host.cluster.placement import run_on_cluster

        console.print(f"livehost run {spec.name} on {cluster} · {summary}", highlight=False)
        run_on_cluster(
            spec, settings, cluster, duration, lambda line: console.print(line, highlight=False)
        )
        return
    setup_logging(
        json_file=(settings.log_dir or settings.var_dir / "logs") / f"{spec.name}.log",
        max_mb=settings.log_max_mb,
        backups=settings.log_backups,
    )
    console.print(f"livehost run {spec.name} · {summary}", highlight=False)
    result = asyncio.run(
        go_live(
            spec,
            stream_file,
            base,
            engine,
            duration=duration,
            host=bind,
            port=port,
            listen=listen,
            say=lambda line: console.print(line, highlight=False),
        )
    )
    stats = result.program
    out.print(
        f"{spec.name}: {result.comments} comments, {len(result.records)} replies,"
        f" {stats.frames} frames ({stats.late_frames} late)",
        highlight=False,
    )
