"""`POST /webhooks/douyin`: the callback Douyin's live data push calls (see chat/sources/douyin.py).

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


def douyin_source(app: FastAPI) -> DouyinWebhookSource:
    """The app's one Douyin source: a session running beside the app reads from it."""
    source: DouyinWebhookSource | None = getattr(app.state, "douyin", None)
    if source is None:
        settings: Settings = app.state.settings
        source = app.state.douyin = DouyinWebhookSource(max_skew_s=settings.douyin_max_skew_s)
    return source


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
    secret = settings.douyin_webhook_secret
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
        added = douyin_source(request.app).accept(comments, sent, time.time())
    except StalePush as exc:
        raise HTTPException(401, str(exc)) from exc
    except DedupeFull as exc:
        raise HTTPException(503, f"{exc}; retry later") from exc
    return {"err_no": 0, "err_msg": "success", "accepted": added}
