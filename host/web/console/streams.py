"""The Streams page: every stream the user may see, how it is doing, start and stop.

Starting and stopping go through `/api/streams` (the same routes scripts use), so the page
adds no second way to change a stream.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from host.errors import HostError
from host.session.manager import StreamManager
from host.session.spec import load_stream
from host.web.auth import Principal, require
from host.web.console.templating import page
from host.web.deps import SettingsDep

router = APIRouter(include_in_schema=False)
Streamer = require("operator", "merchant")
Anyone = require("operator", "merchant", "marketer")


@router.get("/")
def home(user: Principal = Anyone) -> RedirectResponse:
    return RedirectResponse("/prompts" if user.role == "marketer" else "/streams", 303)


def stream_rows(manager: StreamManager, user: Principal) -> list[dict[str, Any]]:
    """Each visible stream's state as the page shows it (on air, sinks, lateness, queue
    age, comment rate, last error)."""
    rows = []
    for name, managed in manager.streams.items():
        if not user.may_manage_merchant(managed.spec.merchant):
            continue
        status = manager.status(name)
        row: dict[str, Any] = {
            "name": name,
            "merchant": managed.spec.merchant,
            "state": status["state"],
            "error": status["error"],
            "sinks": status.get("sinks", {}),
            "late_frames": status.get("late_frames"),
            "frames": status.get("frames"),
            "queue": status.get("queue"),
            "queue_age_s": None,
            "comments_per_min": None,
        }
        try:
            running = manager.running(name)
        except HostError:
            rows.append(row)
            continue
        reading = running.reading()
        elapsed = max(running.live.now(), 1.0)
        row["queue_age_s"] = round(reading.queue_age_s, 1)
        row["comments_per_min"] = round(running.live.comment_count * 60 / elapsed, 1)
        rows.append(row)
    return rows


@router.get("/streams", response_class=HTMLResponse)
def streams_page(request: Request, settings: SettingsDep, user: Principal = Streamer) -> Any:
    manager: StreamManager = request.app.state.manager
    files = []
    for path in sorted(settings.streams_dir.glob("*.y*ml")):
        try:
            merchant = load_stream(path).merchant
        except (HostError, ValueError):
            continue  # a broken file is reported when someone starts it, not listed here
        if user.may_manage_merchant(merchant):
            files.append(path.name)
    return page(
        request,
        "streams.html",
        user,
        "Streams",
        rows=stream_rows(manager, user),
        files=files,
    )
