"""`/ws/ingress/{stream}`: the websocket where bridges push comments (docs/ingress.md).

The socket is accepted before anything is checked, so that every refusal reaches the
sender as a close code with a reason it can log, not a bare HTTP 403.

Who may hold a socket is bounded (`IngressGate`): all sockets together, the bridges of one
stream, and, per client address, the sockets still authenticating plus the failed
authentications of the last minute. So idle or guessing clients cannot hold the sockets
that bridges need, and a token cannot be guessed faster than that budget allows.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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

POLICY_VIOLATION = 1008  # wrong or missing token, or the address's auth budget is spent
UNSUPPORTED_DATA = 1003  # binary frame
INVALID_PAYLOAD = 1007  # not JSON
MESSAGE_TOO_BIG = 1009  # frame over INGRESS_MAX_FRAME_BYTES
TRY_AGAIN_LATER = 1013  # connection caps reached
FAILURE_WINDOW_S = 60.0  # failed authentications count against an address this long
TRACKED_ADDRESSES = 10_000  # past this, addresses whose failures have aged out are swept


class Refused(Exception):
    """Ends a connection with a websocket close code and a reason the sender can read."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass
class Ticket:
    """One socket's place at the gate: authenticating until `stream` is set."""

    address: str
    stream: str | None = None


class IngressGate:
    """Bounds on who holds ingress sockets, shared by every connection of one app."""

    def __init__(
        self,
        *,
        max_connections: int,
        max_per_stream: int,
        auth_failures: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max, self._per_stream, self._budget = max_connections, max_per_stream, auth_failures
        self._clock = clock
        self._open = 0
        self._authenticating: defaultdict[str, int] = defaultdict(int)
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._bridges: defaultdict[str, int] = defaultdict(int)

    def enter(self, address: str) -> Ticket:
        """A new socket from `address`; Refused when a cap or the address's budget says no."""
        if self._open >= self._max:
            raise Refused(
                TRY_AGAIN_LATER, f"ingress is at its limit of {self._max} connections; retry later"
            )
        failures = self._recent_failures(address)
        if self._authenticating[address] + len(failures) >= self._budget:
            wait = FAILURE_WINDOW_S - (self._clock() - failures[0]) if failures else 1.0
            raise Refused(
                POLICY_VIOLATION,
                f"too many failed authentications from this address; retry in {wait:.0f} s",
            )
        self._open += 1
        self._authenticating[address] += 1
        return Ticket(address)

    def failed(self, ticket: Ticket) -> None:
        """The socket did not authenticate: it spends one of its address's budget."""
        self._failures[ticket.address].append(self._clock())

    def admit(self, ticket: Ticket, stream: str) -> None:
        """The socket authenticated for `stream`; Refused when the stream has its bridges."""
        if self._bridges[stream] >= self._per_stream:
            raise Refused(
                TRY_AGAIN_LATER, f"stream {stream!r} already has {self._per_stream} bridges"
            )
        self._done_authenticating(ticket.address)
        self._bridges[stream] += 1
        ticket.stream = stream

    def leave(self, ticket: Ticket) -> None:
        self._open -= 1
        if ticket.stream is None:
            self._done_authenticating(ticket.address)
            return
        self._bridges[ticket.stream] -= 1
        if not self._bridges[ticket.stream]:
            del self._bridges[ticket.stream]

    def _done_authenticating(self, address: str) -> None:
        self._authenticating[address] -= 1
        if not self._authenticating[address]:
            del self._authenticating[address]

    def _recent_failures(self, address: str) -> deque[float]:
        horizon = self._clock() - FAILURE_WINDOW_S
        if len(self._failures) > TRACKED_ADDRESSES:
            for known in [a for a, times in self._failures.items() if times[-1] <= horizon]:
                del self._failures[known]
        failures = self._failures.get(address, deque())
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(address, None)
        return failures


def ingress_gate(app: FastAPI) -> IngressGate:
    """The app's gate, made on first use from its settings."""
    gate: IngressGate | None = getattr(app.state, "ingress_gate", None)
    if gate is None:
        settings: Settings = app.state.settings
        gate = app.state.ingress_gate = IngressGate(
            max_connections=settings.ingress_max_connections,
            max_per_stream=settings.ingress_max_per_stream,
            auth_failures=settings.ingress_auth_failures,
        )
    return gate


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
    gate = ingress_gate(websocket.app)
    await websocket.accept()
    ticket: Ticket | None = None
    source: IngressSource | None = None
    try:
        ticket = gate.enter(websocket.client.host if websocket.client else "unknown")
        try:
            await _authenticate(websocket, settings, stream)
        except (Refused, WebSocketDisconnect):
            gate.failed(ticket)
            raise
        gate.admit(ticket, stream)
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
        if ticket is not None:
            gate.leave(ticket)
        if source is not None:
            source.disconnected()


async def _authenticate(websocket: WebSocket, settings: Settings, stream: str) -> None:
    """The token comes in an `Authorization: Bearer` header or, from clients that cannot
    set headers (browsers), as the first message; never in the URL, which access logs keep."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    else:
        limit = settings.ingress_auth_timeout_s
        try:
            first = await asyncio.wait_for(websocket.receive(), limit)
        except TimeoutError as exc:
            raise Refused(POLICY_VIOLATION, f"no auth message within {limit:g} s") from exc
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
