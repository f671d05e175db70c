"""The FastAPI application: routes are thin and call the same functions as the CLI.

`host serve` mounts everything; `host run` mounts only what its stream needs beside it (the
websocket ingress, the Douyin webhook, `/health` and `/metrics`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine

from host import __version__
from host.config import Settings
from host.session.manager import StreamManager
from host.web.auth import install_auth
from host.web.console import install_console
from host.web.docs import serve_docs_offline
from host.web.routes import accounts, catalog, changes, douyin, ingress, prompts, streams


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    manager: StreamManager | None = None,
    console: bool = True,
) -> FastAPI:
    manager = manager or StreamManager(settings, engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await manager.stop_all()  # streams end cleanly: recordings closed, sessions ended

    app = FastAPI(title="livehost", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.manager = manager
    app.state.ingress = manager.front.ingress
    app.state.douyin = manager.front.douyin
    app.include_router(ingress.router)
    app.include_router(douyin.router)
    if console:
        app.include_router(catalog.router)
        app.include_router(streams.router)
        app.include_router(changes.router)
        app.include_router(accounts.router)
        app.include_router(prompts.router)
        install_console(app)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """200 while the process serves; `status` says `degraded` when a stream has a stage
        down (a sink dropped, a source failing), so a probe can alert without a restart."""
        return {**manager.health(), "version": __version__}

    @app.get("/metrics")
    def metrics() -> Response:
        registry: CollectorRegistry = manager.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    serve_docs_offline(app)
    install_auth(app, settings, engine)  # every route above is closed unless auth lists it
    return app
