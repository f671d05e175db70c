"""The host's own websocket ingress: bridges and tools push comments in (docs/ingress.md).

Platforms without an open chat API (a Douyin companion app, a shop's own player) reach a
session through a small bridge that speaks this JSON protocol. The web route
(`host/web/routes/ingress.py`) owns the socket; this module owns what a frame means: the
message schema, the per-stream token check, and the `IngressSource` a session reads.

The web app and the sessions share one event loop, so the route hands comments to the
source through a plain bounded asyncio queue.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from host.chat.events import Comment, CommentKind
from host.chat.sources import Deduper, Health
from host.chat.storable import MESSAGE_ID_MAX, PLATFORM_MAX, USER_ID_MAX, USER_NAME_MAX
from host.stream.clock import Clock

AckStatus = Literal["accepted", "duplicate", "busy", "rejected"]


class IngressComment(BaseModel):
    """One comment as a bridge sends it; fields beyond these are kept in `Comment.raw`.

    Lengths are those of the columns the comment is stored in, so a bridge hears at once
    what storage would refuse.
    """

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    type: Literal["comment"] = "comment"
    id: str = Field(min_length=1, max_length=MESSAGE_ID_MAX)
    user: str = Field(min_length=1, max_length=USER_NAME_MAX)
    user_id: str | None = Field(default=None, max_length=USER_ID_MAX)
    text: str = Field(default="", max_length=4000)
    kind: CommentKind = "chat"
    amount: Decimal | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, max_length=16)
    platform: str = Field(default="ingress", min_length=1, max_length=PLATFORM_MAX)


def token_matches(tokens: Mapping[str, SecretStr], stream: str, token: str) -> bool:
    """Constant-time check of a stream's token; an unknown stream costs the same as a wrong
    token, so neither the timing nor the answer tells a prober which streams exist."""
    expected = tokens.get(stream)
    secret = expected.get_secret_value() if expected is not None else ""
    same = hmac.compare_digest(secret.encode(), token.encode())
    return expected is not None and bool(secret) and same


class IngressSource:
    """The comments of one stream's ingress, as a session's chat source."""

    def __init__(self, stream: str, clock: Clock, queue_size: int = 1000) -> None:
        self.name = f"ingress:{stream}"
        self.stream = stream
        self.clock = clock
        self.health = Health()
        self.connections = 0
        self._queue: asyncio.Queue[Comment] = asyncio.Queue(maxsize=queue_size)
        self._dedupe = Deduper()

    def offer(self, message: IngressComment) -> AckStatus:
        """Queue one validated comment; the status goes back to the sender as its ack."""
        if self._dedupe.seen(message.id):
            self.health.duplicates += 1
            return "duplicate"
        if not self._enqueue(message):
            self._dedupe.forget(message.id)  # not taken: the sender may resend it
            return "busy"
        self.health.received += 1
        self.health.last_message_at = self.clock.now()
        return "accepted"

    def recorded(self, message_ids: set[str]) -> None:
        """Comments the stream's previous session already recorded: a bus that delivers
        them again (to a successor) skips them; an in-process queue never does."""

    def acknowledge(self, message_ids: list[str]) -> None:
        """These comments are triaged and in the audit (a bus between processes lets them
        go then; an in-process queue has nothing to keep)."""

    def comment(self, message: IngressComment) -> Comment:
        return Comment(
            platform=message.platform,
            room=self.stream,
            message_id=message.id,
            user_id=message.user_id or message.user,
            user_name=message.user,
            text=message.text,
            kind=message.kind,
            amount=message.amount,
            currency=message.currency,
            ts=self.clock.now(),
            raw=message.model_dump(mode="json"),
        )

    def _enqueue(self, message: IngressComment) -> bool:
        try:
            self._queue.put_nowait(self.comment(message))
        except asyncio.QueueFull:
            return False
        return True

    def malformed(self, reason: str) -> None:
        self.health.skipped(reason)

    def connected(self) -> None:
        self.connections += 1
        self.health.set("connected")

    def disconnected(self) -> None:
        """With no bridge left the stream waits for one to come back."""
        self.connections -= 1
        if self.connections == 0:
            self.health.set("reconnecting")

    def __aiter__(self) -> AsyncIterator[Comment]:
        return self._drain()

    async def _drain(self) -> AsyncIterator[Comment]:
        while True:
            yield await self._queue.get()


class IngressHub:
    """The ingress sources of one process by stream name, shared by the route and sessions."""

    def __init__(self, clock: Clock, queue_size: int = 1000) -> None:
        self._clock = clock
        self._queue_size = queue_size
        self._sources: dict[str, IngressSource] = {}

    def source(self, stream: str) -> IngressSource:
        """The stream's source, created on first use by either side (bridge or session)."""
        if stream not in self._sources:
            self._sources[stream] = self._make(stream, self._clock)
        return self._sources[stream]

    def _make(self, stream: str, clock: Clock) -> IngressSource:
        return IngressSource(stream, clock, self._queue_size)

    def attach(self, stream: str, clock: Clock) -> IngressSource:
        """Called by a session: comments are stamped on that session's clock from now on."""
        source = self.source(stream)
        source.clock = clock
        return source


def ack(message_id: Any, status: AckStatus, error: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "ack", "id": message_id, "status": status}
    if error is not None:
        reply["error"] = error
    return reply
