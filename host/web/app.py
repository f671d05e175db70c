"""The FastAPI application: routes are thin and call the same functions as the CLI."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from host import __version__
from host.config import Settings
from host.web.docs import serve_docs_offline
from host.web.routes import catalog, douyin, ingress


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    app = FastAPI(title="livehost", version=__version__)
    app.state.settings = settings
    app.state.engine = engine
    app.include_router(ingress.router)
    app.include_router(catalog.router)
    app.include_router(douyin.router)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    serve_docs_offline(app)
    return app
