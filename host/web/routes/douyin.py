"""`POST /webhooks/douyin[/{stream}]`: the callback of Douyin's live data push
(see chat/sources/douyin.py); `{stream}` names the stream when a process runs several.

Thin and fast: check the signature and the timestamp, read the payload, enqueue, answer 200.
Any refusal enqueues nothing: 401 for a missing or wrong signature or a push stamped outside
the DOUYIN_MAX_SKEW_S window (a replay), 400 for a body or header the platform would never
send, 413 for an oversize body (refused before it is read in full), 503 while no secret is
configured or while the replay window is full.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request

from host.chat.sources import DedupeFull
from host.chat.sources.douyin import (
    BusDown,
    DouyinHub,
    DouyinPayloadError,
    DouyinWebhookSource,
    StalePush,
    parse_push,
    sent_at,
    signature_ok,
)
from host.config import Settings
from host.web.deps import SettingsDep

router = APIRouter()

MAX_BODY_BYTES = 1024 * 1024


def douyin_hub(app: FastAPI) -> DouyinHub:
    """The app's Douyin sources by stream; sessions running beside the app read from it."""
    hub: DouyinHub | None = getattr(app.state, "douyin", None)
    if hub is None:
        settings: Settings = app.state.settings
        hub = app.state.douyin = DouyinHub(settings.douyin_max_skew_s)
    return hub


def douyin_source(app: FastAPI, stream: str = "") -> DouyinWebhookSource:
    return douyin_hub(app).source(stream)


async def _body(request: Request) -> bytes:
    """The body, refused as soon as it (or its declared length) passes MAX_BODY_BYTES."""
    too_big = HTTPException(413, f"body over {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_big
    return bytes(body)


@router.post("/webhooks/douyin")
async def douyin_push(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """For a process with one Douyin stream (or none yet, with DOUYIN_WEBHOOK_SECRET set)."""
    hub = douyin_hub(request.app)
    on_air = list(hub.secrets)
    if len(on_air) > 1:
        raise HTTPException(409, "several streams read Douyin: push to /webhooks/douyin/{stream}")
    return await _push(request, settings, hub, on_air[0] if on_air else "")


@router.post("/webhooks/douyin/{stream}")
async def douyin_stream_push(
    stream: str, request: Request, settings: SettingsDep
) -> dict[str, Any]:
    hub = douyin_hub(request.app)
    if stream not in hub.secrets:
        raise HTTPException(503, f"stream {stream} is not on air with a Douyin source; retry")
    return await _push(request, settings, hub, stream)


async def _push(
    request: Request, settings: Settings, hub: DouyinHub, stream: str
) -> dict[str, Any]:
    secret = hub.secrets.get(stream) or settings.douyin_webhook_secret
    if secret is None:
        raise HTTPException(503, "DOUYIN_WEBHOOK_SECRET is not set")
    body = await _body(request)
    headers = request.headers
    if not signature_ok(headers, body, secret.get_secret_value()):
        raise HTTPException(401, "bad or missing x-signature")
    try:
        sent = sent_at(headers)
        comments = parse_push(headers.get("x-msg-type", ""), headers.get("x-roomid", ""), body)
    except DouyinPayloadError as exc:
        raise HTTPException(400, str(exc)) from exc
    try:
        added = hub.source(stream).accept(comments, sent, time.time())
    except StalePush as exc:
        raise HTTPException(401, str(exc)) from exc
    except (DedupeFull, BusDown) as exc:
        raise HTTPException(503, f"{exc}; retry later") from exc
    return {"err_no": 0, "err_msg": "success", "accepted": added}
