"""Douyin live data: the open platform's signed webhook pushes, as a chat source.

Douyin pushes a live room's comments, gifts, likes and fan-club joins to the app's callback
URL as HTTP POSTs whose body is a JSON array of messages and whose headers say what they are:
`x-roomid`, `x-msg-type` (`live_comment`, `live_gift`, `live_like`, `live_fansclub`),
`x-nonce-str`, `x-timestamp` and `x-signature`. The signature, per the open platform's
data-push documentation, is base64(md5(P + body + secret)), where P is those four headers
(signature excluded) sorted by name and joined as `name=value&name=value`.

Douyin expects a 2xx fast and retries otherwise, so the web route only checks the signature,
maps the payload and enqueues (`DouyinWebhookSource.accept`); the session reads the queue.

Replays: `x-timestamp` (milliseconds since the epoch) is signed, so a push stamped more than
`max_skew_s` from now, either way, is refused; every id taken is remembered for that window
(until its push would be refused anyway), so a retry or a replay inside it is dropped, however
many messages came between.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from host.chat.events import Comment, CommentKind
from host.chat.sources import Health, WindowDeduper
from host.stream.clock import Clock, WallClock

log = logging.getLogger(__name__)

SIGNED_HEADERS = ("x-msg-type", "x-nonce-str", "x-roomid", "x-timestamp")
MSG_KINDS: dict[str, CommentKind] = {
    "live_comment": "chat",
    "live_gift": "gift",
    "live_like": "like",
    "live_fansclub": "follow",
}
MAX_MESSAGES = 500  # per push: Douyin batches a few dozen
# Ids remembered inside the window: ~250 B each, so ~50 MB at most; a busy room sends a few
# hundred a minute. Past it pushes are refused (Douyin retries) rather than an id forgotten.
MAX_REMEMBERED = 200_000


class DouyinPayloadError(ValueError):
    """A push whose body or headers are not what the platform documents."""


class BusDown(Exception):
    """The comment bus between processes is unreachable: the push is refused, Douyin
    retries it."""


class StalePush(Exception):
    """A signed push stamped outside the freshness window: a replay, or a clock far off."""


def sent_at(headers: Mapping[str, str]) -> float:
    """`x-timestamp` (milliseconds since the epoch, as Douyin documents it) in epoch seconds."""
    stamp = headers.get("x-timestamp", "")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 16:
        raise DouyinPayloadError(f"x-timestamp {stamp[:40]!r} is not milliseconds since the epoch")
    return int(stamp) / 1000


def douyin_signature(headers: Mapping[str, str], body: bytes, secret: str) -> str:
    """base64(md5(sorted `x-*=value` pairs joined by `&`, then the body, then the secret))."""
    pairs = "&".join(f"{name}={headers.get(name, '')}" for name in SIGNED_HEADERS)
    digest = hashlib.md5(pairs.encode() + body + secret.encode()).digest()
    return base64.b64encode(digest).decode()


def signature_ok(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    given = headers.get("x-signature", "")
    return hmac.compare_digest(given.encode(), douyin_signature(headers, body, secret).encode())


def parse_push(msg_type: str, room: str, body: bytes) -> list[Comment]:
    """Every message of one push as a Comment (ts 0: stamped when the session reads it)."""
    kind = MSG_KINDS.get(msg_type)
    if kind is None:
        raise DouyinPayloadError(f"unknown x-msg-type {msg_type!r}")
    try:
        messages = json.loads(body)
    except ValueError as exc:
        raise DouyinPayloadError("body is not JSON") from exc
    if not isinstance(messages, list) or not 0 < len(messages) <= MAX_MESSAGES:
        raise DouyinPayloadError(f"body must be a JSON array of 1 to {MAX_MESSAGES} messages")
    try:
        return [_comment(kind, room, message) for message in messages]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise DouyinPayloadError(
            f"{msg_type} message is missing or has a bad field ({exc})"
        ) from exc


def _comment(kind: CommentKind, room: str, message: Any) -> Comment:
    text, amount, currency = "", None, None
    if kind == "chat":
        text = _string(message["content"])
    elif kind == "gift":
        num = int(message["gift_num"])
        value = Decimal(int(message["gift_value"])) / 100  # total value, in fen
        if num < 1 or value < 0:
            raise ValueError("gift_num and gift_value must be positive")
        text, amount, currency = f"{_string(message['sec_gift_id'])} x{num}", value, "CNY"
    elif kind == "like":
        text = f"x{int(message['like_num'])}"
    return Comment(
        platform="douyin",
        room=room,
        message_id=_string(message["msg_id"]),
        user_id=_string(message["sec_openid"]),
        user_name=_string(message.get("nickname", "")),
        text=text,
        kind=kind,
        amount=amount,
        currency=currency,
        raw=message,
    )


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


class DouyinWebhookSource:
    """The comments Douyin pushed to the web app, in arrival order, deduplicated by msg_id.

    Bounded: when the session falls behind by `queue_size` comments, new ones are dropped and
    counted in `overflow` rather than held (the platform does not wait for us either).
    """

    name = "douyin"

    def __init__(
        self, clock: Clock | None = None, queue_size: int = 1_000, max_skew_s: float = 300.0
    ) -> None:
        self.clock: Clock = clock or WallClock()
        self.health = Health(state="connected")
        self.overflow = 0
        self.max_skew_s = max_skew_s
        self._queue: asyncio.Queue[Comment] = asyncio.Queue(queue_size)
        self._dedupe = WindowDeduper(MAX_REMEMBERED)

    def accept(self, comments: list[Comment], sent: float, now: float | None = None) -> int:
        """Enqueue the comments of a push stamped `sent` (epoch seconds); returns how many were
        new. Raises `StalePush` outside the window, `DedupeFull` when it holds too many and
        `BusDown` when the bus between processes is away (what came before is taken)."""
        now = time.time() if now is None else now
        if abs(now - sent) > self.max_skew_s:
            raise StalePush(
                f"x-timestamp {_utc(sent)} is {_offset(now - sent)}; pushes more than "
                f"{self.max_skew_s:g} s old or ahead are refused (DOUYIN_MAX_SKEW_S="
                f"{self.max_skew_s:g})"
            )
        until = max(sent, now) + self.max_skew_s  # a replay of this push is refused after it
        added = 0
        for comment in comments:
            key = f"{comment.kind}:{comment.message_id}"
            if self._dedupe.seen(key, now=now, until=until):
                self.health.duplicates += 1
                continue
            if not self._enqueue(comment, key):
                self.overflow += 1
                self.health.last_error = f"queue full: {self.overflow} comments dropped"
                continue
            added += 1
        self.health.received += added
        return added

    def recorded(self, message_ids: set[str]) -> None:
        """As `IngressSource.recorded`: only a bus between processes delivers again."""

    def acknowledge(self, message_ids: list[str]) -> None:
        """As `IngressSource.acknowledge`: only a bus between processes keeps comments."""

    def _enqueue(self, comment: Comment, key: str) -> bool:
        """Hand one new comment to the session; False when its queue is full (dropped)."""
        try:
            self._queue.put_nowait(comment)
        except asyncio.QueueFull:
            return False
        return True

    def __aiter__(self) -> AsyncIterator[Comment]:
        return self._run()

    async def _run(self) -> AsyncIterator[Comment]:
        while True:
            comment = await self._queue.get()
            now = self.clock.now()
            self.health.last_message_at = now
            yield dataclasses.replace(comment, ts=now)


def _utc(epoch_s: float) -> str:
    try:
        return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return f"{epoch_s:.0f} s after the epoch"


def _offset(seconds: float) -> str:
    return f"{seconds:.0f} s old" if seconds >= 0 else f"{-seconds:.0f} s ahead of this clock"


class DouyinHub:
    """The Douyin sources of one process by stream name, shared by the webhook route and the
    sessions (the in-process comment bus for pushes), with each stream's webhook secret."""

    def __init__(self, max_skew_s: float = 300.0, queue_size: int = 1_000) -> None:
        self.max_skew_s = max_skew_s
        self.queue_size = queue_size
        self.secrets: dict[str, SecretStr] = {}  # streams on air that read Douyin pushes
        self._sources: dict[str, DouyinWebhookSource] = {}

    def source(self, stream: str) -> DouyinWebhookSource:
        if stream not in self._sources:
            self._sources[stream] = DouyinWebhookSource(
                queue_size=self.queue_size, max_skew_s=self.max_skew_s
            )
        return self._sources[stream]
