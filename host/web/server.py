"""uvicorn in the caller's event loop, for processes that own their signals (`host run`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI

from host.errors import HostError


class _Quiet(uvicorn.Server):
    """uvicorn without its own SIGTERM/SIGINT handlers: the stream decides what they mean."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: FastAPI, host: str, port: int, **options: Any) -> AsyncIterator[int]:
    """Serve `app` for the block; yields the bound port (useful with port 0). `options` go
    to uvicorn (TLS, proxy headers: see host/web/listen.py)."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", **options)
    server = _Quiet(config)
    task = asyncio.create_task(server.serve(), name="web")
    while not server.started:
        if task.done():
            raise HostError(f"cannot listen on {host}:{port}")
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task
