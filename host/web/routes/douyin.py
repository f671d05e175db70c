"""`POST /webhooks/douyin`: the callback Douyin's live data push calls (see chat/sources/douyin.py).

Thin and fast: check the signature, read the payload, enqueue, answer 200. Any refusal
enqueues nothing: 401 for a missing or wrong signature, 400 for a body the platform would
never send, 413 for an oversize one, 503 while no secret is configured.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request

from host.chat.sources.douyin import (
    DouyinPayloadError,
    DouyinWebhookSource,
    parse_push,
    signature_ok,
)
from host.web.deps import SettingsDep

router = APIRouter()

MAX_BODY_BYTES = 1024 * 1024


def douyin_source(app: FastAPI) -> DouyinWebhookSource:
    """The app's one Douyin source: a session running beside the app reads from it."""
    source: DouyinWebhookSource | None = getattr(app.state, "douyin", None)
    if source is None:
        source = app.state.douyin = DouyinWebhookSource()
    return source


@router.post("/webhooks/douyin")
async def douyin_push(request: Request, settings: SettingsDep) -> dict[str, Any]:
    secret = settings.douyin_webhook_secret
    if secret is None:
        raise HTTPException(503, "DOUYIN_WEBHOOK_SECRET is not set")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body over {MAX_BODY_BYTES} bytes")
    headers = request.headers
    if not signature_ok(headers, body, secret.get_secret_value()):
        raise HTTPException(401, "bad or missing x-signature")
    try:
        comments = parse_push(headers.get("x-msg-type", ""), headers.get("x-roomid", ""), body)
    except DouyinPayloadError as exc:
        raise HTTPException(400, str(exc)) from exc
    added = douyin_source(request.app).accept(comments)
    return {"err_no": 0, "err_msg": "success", "accepted": added}
