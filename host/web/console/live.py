"""The Live page of one stream: preview, feed, queue, lines, latency chart and controls.

The page is a shell; its script polls `/api/streams/{name}/live` and calls the control
routes (`host/web/console/controls.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from host.session.manager import StreamManager
from host.web.auth import Principal, require
from host.web.console.templating import page

router = APIRouter(include_in_schema=False)
Streamer = require("operator", "merchant")


@router.get("/streams/{name}/live", response_class=HTMLResponse)
def live_page(name: str, request: Request, user: Principal = Streamer) -> Any:
    manager: StreamManager = request.app.state.manager
    managed = manager.streams.get(name)
    if managed is None or not user.may_manage_merchant(managed.spec.merchant):
        raise HTTPException(404, f"no stream {name}")
    return page(request, "live.html", user, f"Live · {name}", stream=name)
