"""The comment bus on Redis Streams, for sessions that run in other processes or machines.

The web front publishes each ingress comment to its stream's key (`XADD`, bounded by
`MAXLEN ~`); the session reads the key through one consumer group per stream and
acknowledges a comment (`XACK`) only once it is triaged and its audit row is written. So a
session killed mid-way leaves its unacknowledged comments pending in the group, and its
successor claims all of them first (`XAUTOCLAIM` from the start, with no idle minimum: it
holds the lease, so whoever read them before is gone or fenced), before reading new ones.

Claiming once at the start is not enough: a predecessor that is still running (a fenced
zombie, or the loser of a standby's takeover) keeps reading until it notices, and what it
reads after the successor's claim stays pending on it, never to be acknowledged; so does an
entry whose read reply was lost with a connection. So the reader claims again every
`CLAIM_EVERY_S` whatever has waited unacknowledged for `CLAIM_IDLE_MS`, however it got
there. Comments already recorded (by a predecessor, or by this session when the
acknowledgement failed) are acknowledged and skipped, and ones already on their way through
this session are left to it, so none is answered twice.

Both ends are the in-process ingress's (`IngressHub`, `IngressSource`), so the websocket
route and the session's source registry use either without knowing which. The Douyin
webhook's pushes travel the same way on a key of their own (`RedisDouyinHub`): the route
checks signatures, the replay window and duplicates as before, then publishes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Iterable

import redis
import redis.asyncio as aioredis
from pydantic import ValidationError

from host.chat.events import Comment
from host.chat.sources.douyin import BusDown, DouyinHub, DouyinWebhookSource
from host.chat.sources.websocket_ingress import IngressComment, IngressHub, IngressSource
from host.stream.clock import Clock

log = logging.getLogger(__name__)

PREFIX = "livehost:comments:"  # + stream name: one Redis stream per live stream
DOUYIN = "livehost:douyin:"  # + stream name: the Douyin webhook's pushes
GROUP = "session"  # one consumer group per stream; its consumer is the session of the day
MAXLEN = 100_000  # entries kept per stream (approximate trim): hours of a busy room
READ_COUNT = 100  # entries per XREADGROUP / XAUTOCLAIM call
BLOCK_MS = 1000  # a read waits this long for new entries before asking again
CLAIM_IDLE_MS = 5000  # unacknowledged this long: its reader is gone (a live one acks in < 1 s)
CLAIM_EVERY_S = 5.0  # how often a reader claims such entries: the most they wait extra
FIELD = "c"  # the entry's one field: the comment as the bridge sent it (JSON)


class RedisBus(IngressHub):
    """The ingress bus of every stream on one Redis; `url` carries the password."""

    def __init__(self, url: str, clock: Clock) -> None:
        super().__init__(clock)
        self.url, self.clock = url, clock
        self.client = redis.Redis.from_url(url, socket_timeout=5.0)

    def _make(self, stream: str, clock: Clock) -> IngressSource:
        return RedisIngress(stream, clock, self)

    def published(self, stream: str) -> int:
        """Entries in the stream's key (for tests and the bench)."""
        return int(self.client.xlen(PREFIX + stream))


class RedisIngress(IngressSource):
    """One stream's comments on Redis: `offer` publishes (web front), iterating consumes
    (session), `acknowledge` lets written ones go (the session's audit writer thread)."""

    def __init__(self, stream: str, clock: Clock, bus: RedisBus, prefix: str = PREFIX) -> None:
        super().__init__(stream, clock, queue_size=1)
        self.name = f"redis:{stream}"
        self.key = prefix + stream
        self.consumer = f"{socket.gethostname()}:{os.getpid()}"
        self.claimed = 0  # entries taken over from a predecessor
        self.audited: set[str] = set()  # recorded by the predecessor: acknowledge, skip
        self._bus = bus
        self._entries: dict[str, str] = {}  # message id -> entry id, until acknowledged

    def _enqueue(self, message: IngressComment) -> bool:
        try:
            self._bus.client.xadd(
                self.key, {FIELD: message.model_dump_json()}, maxlen=MAXLEN, approximate=True
            )
        except redis.RedisError as error:
            self.health.set("reconnecting", f"redis: {type(error).__name__}")
            return False  # "busy": the bridge keeps it and sends it again
        return True

    def recorded(self, message_ids: set[str]) -> None:
        self.audited = set(message_ids)

    def acknowledge(self, message_ids: list[str]) -> None:
        entries = [e for i in message_ids if (e := self._entries.pop(i, None)) is not None]
        if not entries:
            return
        try:
            self._bus.client.xack(self.key, GROUP, *entries)
        except redis.RedisError:
            self.audited |= set(message_ids)  # claimed again later: acknowledged then, skipped
            raise

    def _drain(self) -> AsyncIterator[Comment]:
        return self._consume()

    async def _consume(self) -> AsyncIterator[Comment]:
        """Claim what a predecessor left pending, then read new entries; a lost connection
        raises, and the source mux starts this again (claiming again costs nothing)."""
        client = aioredis.Redis.from_url(self._bus.url, socket_timeout=BLOCK_MS / 1000 + 5.0)
        try:
            with contextlib.suppress(redis.ResponseError):  # BUSYGROUP: it exists
                await client.xgroup_create(self.key, GROUP, id="0", mkstream=True)
            self.health.set("connected")
            idle_ms, claim_at = 0, 0.0  # first everything a predecessor left, then stragglers
            while True:
                if time.monotonic() >= claim_at:
                    for comment in await self._claim(client, idle_ms):
                        yield comment
                    idle_ms, claim_at = CLAIM_IDLE_MS, time.monotonic() + CLAIM_EVERY_S
                found = await client.xreadgroup(
                    GROUP, self.consumer, {self.key: ">"}, count=READ_COUNT, block=BLOCK_MS
                )
                for _key, entries in found or []:  # type: ignore[str-unpack]
                    for comment in self._comments(entries):  # type: ignore[arg-type]
                        yield comment
        finally:
            await client.aclose()

    async def _claim(self, client: aioredis.Redis, idle_ms: int) -> list[Comment]:
        """Take over every entry of the stream left unacknowledged for `idle_ms`."""
        out, start = [], "0-0"
        while True:
            start, entries, _gone = await client.xautoclaim(
                self.key, GROUP, self.consumer, idle_ms, start_id=start, count=READ_COUNT
            )
            self.claimed += len(entries)
            out += self._comments(entries)
            if start in (b"0-0", "0-0"):
                return out

    def _comments(self, entries: Iterable[tuple[bytes, dict[bytes, bytes]]]) -> list[Comment]:
        out, done = [], []
        for entry_id, fields in entries:
            try:
                message = IngressComment.model_validate_json(fields[FIELD.encode()])
            except (KeyError, ValidationError) as error:
                self.health.skipped(f"unreadable entry {entry_id!r}: {type(error).__name__}")
                done.append(entry_id)
                continue
            if message.id in self.audited:
                done.append(entry_id)
                continue
            if self._entries.get(message.id) == entry_id.decode():
                continue  # claimed again while on its way through this session
            if message.id in self._entries:
                done.append(entry_id)  # the same comment published twice: one is enough
                continue
            self._entries[message.id] = entry_id.decode()
            comment = self.comment(message)
            self.health.received += 1
            self.health.last_message_at = comment.ts
            out.append(comment)
        if done:
            self._bus.client.xack(self.key, GROUP, *done)
        return out


class RedisDouyinHub(DouyinHub):
    """The Douyin sources of every stream on one Redis (the webhook's process and the
    sessions' each hold one)."""

    def __init__(self, bus: RedisBus, max_skew_s: float = 300.0) -> None:
        super().__init__(max_skew_s)
        self.bus = bus
        self._on_redis: dict[str, RedisDouyin] = {}

    def source(self, stream: str) -> DouyinWebhookSource:
        if stream not in self._on_redis:
            self._on_redis[stream] = RedisDouyin(stream, self.bus, self.max_skew_s)
        return self._on_redis[stream]


class RedisDouyin(DouyinWebhookSource):
    """One stream's Douyin pushes on Redis: `accept` (the webhook) publishes each new one,
    iterating (the session) reads them through the consumer group as `RedisIngress` does."""

    def __init__(self, stream: str, bus: RedisBus, max_skew_s: float) -> None:
        super().__init__(bus.clock, queue_size=1, max_skew_s=max_skew_s)
        self.name = f"redis-douyin:{stream}"
        self.reader = RedisIngress(stream, bus.clock, bus, prefix=DOUYIN)
        self.health = self.reader.health

    def _enqueue(self, comment: Comment, key: str) -> bool:
        message = IngressComment(
            id=comment.message_id,
            user=comment.user_name,
            user_id=comment.user_id,
            text=comment.text,
            kind=comment.kind,
            amount=comment.amount,
            currency=comment.currency,
            platform=comment.platform,
        )
        if not self.reader._enqueue(message):
            self._dedupe.forget(key)  # not taken: Douyin's retry brings it again
            raise BusDown(f"redis: {self.reader.health.last_error or 'unreachable'}")
        return True

    def recorded(self, message_ids: set[str]) -> None:
        self.reader.recorded(message_ids)

    def acknowledge(self, message_ids: list[str]) -> None:
        self.reader.acknowledge(message_ids)

    def __aiter__(self) -> AsyncIterator[Comment]:
        return aiter(self.reader)
