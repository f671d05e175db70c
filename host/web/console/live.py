"""The Live page of one stream (`/streams/{name}/live`), its feed and the operator's
controls of the running session (`/api/streams/{name}/...`), and its preview
(`/streams/{name}/hls/`). The page is a shell; its script polls the feed and calls the
controls.

The controls live on the session's event loop (`host.session.controls`), so these routes are
`async` and touch them on that loop; database reads and the changes trail run in worker
threads. Every control is recorded in the changes trail with who did it. Who may: admins
and operators any stream, merchant users their merchants' streams (another's is a 404).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from host.catalog.export import product_json
from host.changes import merchant_target, record_change
from host.db import models as db
from host.errors import HostError
from host.session.builder import Running
from host.session.controls import ControlError, Controls
from host.session.manager import Managed, StreamManager
from host.web.auth import Principal, require
from host.web.console.templating import page
from host.web.deps import EngineDep

router = APIRouter(tags=["live"])
Streamer = require("operator", "merchant")
FEED_ROWS = 50  # comments and lines per poll: what the page shows, not the whole session
STOPPED_ROWS = 20  # lines the guard stopped, newest: the operator sees why a line was not said
HLS_FILE = re.compile(r"^(index\.m3u8|segment\d{5}\.ts)$")


def _manager(request: Request) -> StreamManager:
    manager: StreamManager = request.app.state.manager
    return manager


def _stream(request: Request, name: str, user: Principal) -> Managed:
    managed = _manager(request).streams.get(name)
    if managed is None or not user.may_manage_merchant(managed.spec.merchant):
        raise HTTPException(404, f"no stream {name}")
    return managed


def _on_air(request: Request, name: str, user: Principal) -> Running:
    _stream(request, name, user)
    try:
        return _manager(request).running(name)
    except HostError as error:
        raise HTTPException(409, str(error)) from None


@router.get("/streams/{name}/live", response_class=HTMLResponse, include_in_schema=False)
def live_page(name: str, request: Request, user: Principal = Streamer) -> Any:
    _stream(request, name, user)
    return page(request, "live.html", user, f"Live · {name}", stream=name)


async def _record(
    engine: Engine, user: Principal, running: Running, action: str, detail: dict[str, Any]
) -> None:
    target = merchant_target(running.spec.merchant, "streams", running.spec.name)
    await run_in_threadpool(record_change, engine, user.name, action, target, detail)


async def _control(
    request: Request,
    name: str,
    user: Principal,
    engine: Engine,
    action: str,
    detail: dict[str, Any],
    change: Callable[[Controls], object],
) -> dict[str, Any]:
    """Apply `change` to the stream's controls, record it, answer the controls' state."""
    running = _on_air(request, name, user)
    controls = running.live.controls
    try:
        change(controls)
    except ControlError as error:
        raise HTTPException(422, str(error)) from None
    except KeyError:
        raise HTTPException(404, "that reply is no longer waiting") from None
    await _record(engine, user, running, action, detail)
    return controls.state()


class Toggle(BaseModel):
    on: bool


class Line(BaseModel):
    text: str = Field(max_length=2000)


class AnswerBody(BaseModel):
    choice: Literal["approve", "edit", "discard"]
    text: str | None = Field(default=None, max_length=2000, description="the edited line")


class Viewer(BaseModel):
    viewer: str = Field(max_length=200, description="user id or name as the feed shows it")


class Rule(BaseModel):
    keyword: str = Field(max_length=200)
    line: str = Field(max_length=2000)


class Rules(BaseModel):
    rules: list[Rule]


class Product(BaseModel):
    sku: str | None = Field(description="present this product now (null: back to link 1)")


class StreamLineup(BaseModel):
    skus: list[str] | None = Field(description="this stream's lineup (null: the merchant's)")


@router.post("/api/streams/{name}/pause")
async def pause(
    name: str, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    """No replies or pitches until resumed; comments keep queueing; typed lines still go."""
    return await _control(request, name, user, engine, "live.pause", {}, Controls.pause)


@router.post("/api/streams/{name}/resume")
async def resume(
    name: str, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    return await _control(request, name, user, engine, "live.resume", {}, Controls.resume)


@router.post("/api/streams/{name}/approve-mode")
async def approve_mode(
    name: str, body: Toggle, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    """On: each reply waits for approve / edit / discard (APPROVE_TIMEOUT_S, then
    APPROVE_TIMEOUT_ACTION). Off: waiting replies go on air as written."""
    return await _control(
        request,
        name,
        user,
        engine,
        "live.approve_mode",
        {"on": body.on},
        lambda c: c.set_approve_mode(body.on),
    )


@router.post("/api/streams/{name}/pending/{pending_id}")
async def decide(
    name: str,
    pending_id: int,
    body: AnswerBody,
    request: Request,
    engine: EngineDep,
    user: Principal = Streamer,
) -> dict[str, Any]:
    """Approve, edit (with `text`) or discard a reply waiting in approve mode; the spoken
    reply's audit row names who approved it."""
    pending = _on_air(request, name, user).live.controls.pending.get(pending_id)
    detail: dict[str, Any] = {"id": pending_id, "text": body.text}
    if pending is not None:
        detail |= {"comment": pending.item.comment.text, "reply": pending.as_json()["reply"]}
    action = "live.discard" if body.choice == "discard" else "live.approve"
    return await _control(
        request,
        name,
        user,
        engine,
        action,
        detail | {"choice": body.choice},
        lambda c: c.decide(pending_id, body.choice, user.name, body.text),
    )


@router.post("/api/streams/{name}/say")
async def say(
    name: str, body: Line, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    """A line for the host to say next, guarded like any other (a wrong price is not said)."""
    return await _control(
        request,
        name,
        user,
        engine,
        "live.say",
        {"text": body.text},
        lambda c: c.say(body.text, user.name),
    )


@router.post("/api/streams/{name}/skip")
async def skip(
    name: str, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    """Cut the line on air at the next word boundary."""
    running = _on_air(request, name, user)
    running.live.skip()
    await _record(engine, user, running, "live.skip", {})
    return running.live.controls.state()


@router.post("/api/streams/{name}/block")
async def block(
    name: str, body: Viewer, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    """The viewer's comments are dropped as `blocked` from now on (answered never)."""
    return await _control(
        request,
        name,
        user,
        engine,
        "live.block",
        {"viewer": body.viewer},
        lambda c: c.block(body.viewer, user.name),
    )


@router.post("/api/streams/{name}/unblock")
async def unblock(
    name: str, body: Viewer, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    return await _control(
        request,
        name,
        user,
        engine,
        "live.unblock",
        {"viewer": body.viewer},
        lambda c: c.unblock(body.viewer),
    )


@router.put("/api/streams/{name}/rules")
async def set_rules(
    name: str, body: Rules, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    """Keyword rules: a comment containing a keyword is answered with its line (guarded)
    before the responder is asked. Replaces the stream's rules."""
    rules = [(r.keyword, r.line) for r in body.rules]
    return await _control(
        request,
        name,
        user,
        engine,
        "live.rules",
        {"rules": [r.model_dump() for r in body.rules]},
        lambda c: c.set_rules(rules, user.name),
    )


@router.post("/api/streams/{name}/product")
async def present(
    name: str, body: Product, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    """Next product: the card and the pitches present `sku` from now on."""
    running = _on_air(request, name, user)
    try:
        running.catalog.set_current(body.sku)
    except KeyError as error:
        raise HTTPException(404, str(error.args[0])) from None
    await _record(engine, user, running, "live.product", {"sku": body.sku})
    current = running.catalog.current()
    return {"product": product_json(current) if current is not None else None}


@router.put("/api/streams/{name}/lineup")
async def stream_lineup(
    name: str,
    body: StreamLineup,
    request: Request,
    engine: EngineDep,
    user: Principal = Streamer,
) -> dict[str, Any]:
    """Change this stream's lineup now (link numbers follow the order); the merchant's
    catalog is not changed (PUT /api/merchants/{m}/lineup does that)."""
    running = _on_air(request, name, user)
    try:
        await run_in_threadpool(running.catalog.set_lineup, body.skus)
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    await _record(engine, user, running, "lineup.set", {"skus": body.skus, "stream": name})
    return {"lineup": [product_json(p) for p in running.catalog.lineup()]}


@router.get("/api/streams/{name}/live")
async def live_feed(
    name: str,
    request: Request,
    engine: EngineDep,
    after_comment: int = 0,
    after_line: int = 0,
    user: Principal = Streamer,
) -> dict[str, Any]:
    """What the live page shows, polled: the stream's status, the controls, the queue, the
    product on the card, and the comments and lines (with triage decision, guard verdict,
    backend, stage latencies and who approved) newer than the ids given, and the lines the
    guard stopped."""
    _stream(request, name, user)
    manager = _manager(request)
    out: dict[str, Any] = {"status": manager.status(name), "running": False}
    try:
        running = manager.running(name)
    except HostError:
        return out
    now = running.live.now()
    current = running.catalog.current()
    out |= {
        "running": True,
        "controls": running.live.controls.state(),
        "queue": [
            {
                "user": item.comment.user_name,
                "text": item.text,
                "priority": round(item.priority, 2),
                "waiting_s": round(now - item.trace.stamps.get("triaged", now), 1),
            }
            for item in running.live.triage.queued()
        ],
        "product": product_json(current) if current is not None else None,
        "lineup": [p.sku for p in running.catalog.lineup()],
        "stopped": [  # lines the guard kept off the air, newest last
            {"text": text, "violations": list(violations)}
            for text, violations in running.live.blocked[-STOPPED_ROWS:]
        ],
    }
    rows = await run_in_threadpool(_rows, engine, running.session_id, after_comment, after_line)
    return out | rows


def _rows(engine: Engine, session_id: int, after_comment: int, after_line: int) -> dict[str, Any]:
    with Session(engine) as s:
        comments = s.scalars(
            select(db.CommentRecord)
            .where(db.CommentRecord.session_id == session_id, db.CommentRecord.id > after_comment)
            .order_by(db.CommentRecord.id.desc())
            .limit(FEED_ROWS)
        ).all()
        lines = s.scalars(
            select(db.ReplyRecord)
            .where(db.ReplyRecord.session_id == session_id, db.ReplyRecord.id > after_line)
            .order_by(db.ReplyRecord.id.desc())
            .limit(FEED_ROWS)
        ).all()
    return {
        "comments": [
            {
                "id": c.id,
                "user": c.user_name,
                "user_id": c.user_id,
                "platform": c.platform,
                "text": c.text,
                "decision": c.decision,
                "reason": c.reason,
            }
            for c in reversed(comments)
        ],
        "lines": [
            {
                "id": r.id,
                "text": r.text,
                "intent": r.intent,
                "backend": r.backend,
                "guard_ok": r.guard_ok,
                "violations": r.violations,
                "approved_by": r.approved_by,
                "latency": _latencies(r.stamps),
            }
            for r in reversed(lines)
        ],
    }


def _latencies(stamps: dict[str, Any]) -> dict[str, float]:
    """Seconds from the comment's arrival to each later stage (what the chart draws)."""
    received = stamps.get("received")
    if not isinstance(received, int | float):
        return {}
    return {
        stage: round(t - received, 3)
        for stage, t in stamps.items()
        if stage not in ("received", "cut") and isinstance(t, int | float)
    }


@router.get("/streams/{name}/hls/{file}", include_in_schema=False)
def preview_file(
    name: str, file: str, request: Request, user: Principal = Streamer
) -> FileResponse:
    """The stream's HLS playlist and segments, for the live page's player."""
    _stream(request, name, user)
    if not HLS_FILE.match(file):
        raise HTTPException(404, "no such preview file")
    path: Path = _manager(request).hls_dir(name) / file
    if not path.is_file():
        raise HTTPException(404, "the preview has not started yet")
    media = "application/vnd.apple.mpegurl" if file.endswith(".m3u8") else "video/mp2t"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})
