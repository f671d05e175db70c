"""One stream on air in this process, as `host run` runs it: the stream's web front (ingress,
webhook, /health, /metrics), the on-air window, and SIGTERM/SIGINT handling.

The first signal ends the stream gracefully (the sentence on air finishes, recordings are
closed, the session is marked ended); a second ends it at the next frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from host.config import Settings
from host.session.live import SessionResult
from host.session.manager import StreamManager
from host.session.spec import StreamSpec
from host.web.app import create_app
from host.web.server import serving

FOREVER_S = 1e12


async def go_live(
    spec: StreamSpec,
    path: Path,
    base: Settings,
    engine: Engine,
    *,
    duration: float | None,
    host: str,
    port: int,
    say: Callable[[str], None],
    listen: Mapping[str, Any] | None = None,
) -> SessionResult:
    if spec.on_air is not None:
        wait = spec.on_air.seconds_to_start(datetime.now(UTC))
        if wait > 0:
            say(f"off air: the on-air window opens in {wait / 60:.0f} min")
            await asyncio.sleep(wait)
        left = spec.on_air.seconds_left(datetime.now(UTC))
        duration = left if duration is None else min(duration, left)
    manager = StreamManager(base, engine)
    app = create_app(base, engine, manager=manager, console=False)
    listen = listen or {}
    async with serving(app, host, port, **listen) as bound:
        scheme = "https" if listen.get("ssl_certfile") else "http"
        say(f"ingress, webhook, /health and /metrics on {scheme}://{host}:{bound}")
        managed = manager.start(spec, path=path, duration=duration or FOREVER_S)
        with _signals(manager, spec.name, say):
            return await managed.task


@contextlib.contextmanager
def _signals(manager: StreamManager, name: str, say: Callable[[str], None]) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    asked = 0

    def stop() -> None:
        nonlocal asked
        asked += 1
        running = manager.streams[name].running
        if asked == 1:
            say("stopping after the current sentence (signal again to stop now)")
            manager.stop(name)
        elif running is not None:
            running.program.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
