"""The web console: server-rendered pages (Jinja2) with a little JavaScript, every asset
served from this package (`static/`, hls.js vendored from npm by `make vendor-assets`)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from host.web.console import account, avatars, catalog, live, streams
from host.web.console.templating import HERE


def install_console(app: FastAPI) -> None:
    app.mount("/static/console", StaticFiles(directory=HERE / "static"), name="console-static")
    for module in (streams, live, catalog, avatars, account):
        app.include_router(module.router)
