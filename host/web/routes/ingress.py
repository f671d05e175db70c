"""`/ws/ingress/{stream}`: the websocket where bridges push comments (docs/ingress.md).

The socket is accepted before anything is checked, so that every refusal reaches the
sender as a close code with a reason it can log, not a bare HTTP 403.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from pydantic import SecretStr, ValidationError

from host.chat.sources.websocket_ingress import (
    IngressComment,
    IngressHub,
    IngressSource,
    ack,
    token_matches,
)
from host.config import Settings
from host.stream.clock import WallClock

router = APIRouter()

AUTH_TIMEOUT_S = 10.0
POLICY_VIOLATION = 1008  # wrong or missing token
UNSUPPORTED_DATA = 1003  # binary frame
INVALID_PAYLOAD = 1007  # not JSON
MESSAGE_TOO_BIG = 1009  # frame over INGRESS_MAX_FRAME_BYTES


class Refused(Exception):
    """Ends a connection with a websocket close code and a reason the sender can read."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def ingress_hub(app: FastAPI) -> IngressHub:
    """The app's hub, made on first use; sessions in the same process attach to it."""
    hub: IngressHub | None = getattr(app.state, "ingress", None)
    if hub is None:
        settings: Settings = app.state.settings
        hub = IngressHub(WallClock(), settings.ingress_queue_size)
        app.state.ingress = hub
    return hub


@router.websocket("/ws/ingress/{stream}")
async def ingress(websocket: WebSocket, stream: str) -> None:
    settings: Settings = websocket.app.state.settings
    await websocket.accept()
    source: IngressSource | None = None
    try:
        await _authenticate(websocket, settings, stream)
        source = ingress_hub(websocket.app).source(stream)
        source.connected()
        await websocket.send_json({"type": "ready", "stream": stream})
        while True:
            data = _frame(await websocket.receive(), settings.ingress_max_frame_bytes)
            await websocket.send_json(_handle(source, data))
    except Refused as exc:
        if source is not None:
            source.malformed(exc.reason)
        await websocket.close(exc.code, exc.reason)
    except WebSocketDisconnect:
        pass
    finally:
        if source is not None:
            source.disconnected()


async def _authenticate(websocket: WebSocket, settings: Settings, stream: str) -> None:
    """The token comes in an `Authorization: Bearer` header or, from clients that cannot
    set headers (browsers), as the first message; never in the URL, which access logs keep."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    else:
        try:
            first = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_S)
        except TimeoutError as exc:
            raise Refused(POLICY_VIOLATION, "no auth message in time") from exc
        data = _frame(first, settings.ingress_max_frame_bytes)
        if not isinstance(data, dict) or data.get("type") != "auth":
            raise Refused(POLICY_VIOLATION, 'first message must be {"type": "auth", "token": ...}')
        sent = data.get("token")
        if not isinstance(sent, str):
            raise Refused(POLICY_VIOLATION, "auth token must be a string")
        token = sent
    if not token_matches(stream_tokens(websocket.app, settings), stream, token):
        raise Refused(POLICY_VIOLATION, "invalid token for this stream")


def stream_tokens(app: FastAPI, settings: Settings) -> Mapping[str, SecretStr]:
    """INGRESS_TOKENS, plus the tokens the streams this process runs took from their files."""
    manager = getattr(app.state, "manager", None)
    if manager is None:
        return settings.ingress_tokens
    tokens: Mapping[str, SecretStr] = manager.ingress_tokens()
    return tokens


def _frame(message: Any, limit: int) -> Any:
    """One received frame as JSON, or the close that its defect calls for."""
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise Refused(UNSUPPORTED_DATA, "binary frames are not supported; send JSON text")
    size = len(text.encode("utf-8"))
    if size > limit:
        raise Refused(MESSAGE_TOO_BIG, f"frame of {size} bytes exceeds the {limit} byte limit")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Refused(INVALID_PAYLOAD, f"invalid JSON: {exc.msg} at char {exc.pos}") from exc


def _handle(source: IngressSource, data: Any) -> dict[str, Any]:
    """A well-formed frame always gets an answer; a bad comment is refused alone, so one
    bridge bug does not cost the other comments on the connection."""
    if not isinstance(data, dict):
        source.malformed("frame is not a JSON object")
        return ack(None, "rejected", "expected a JSON object")
    kind = data.get("type", "comment")
    if kind == "ping":
        return {"type": "pong"}
    if kind != "comment":
        source.malformed(f"unknown message type {kind!r}")
        return ack(data.get("id"), "rejected", f"unknown message type {kind!r}")
    try:
        message = IngressComment.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in exc.errors()
        )
        source.malformed(problems)
        return ack(data.get("id"), "rejected", problems)
    return ack(message.id, source.offer(message))
