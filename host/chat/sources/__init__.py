"""Chat sources: one module per platform, each an async iterable of `Comment`.

A source owns its connection: it reconnects with backoff, answers heartbeats, drops
duplicate message ids, and reports its health for the console. Registered by name in
`SOURCES` (one line per backend) and chosen by settings.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from host.chat.events import Comment

HealthState = Literal["starting", "connected", "reconnecting", "failed", "stopped"]


@dataclass
class Health:
    """What the console shows for one source."""

    state: HealthState = "starting"
    since: float = field(default_factory=time.time)
    last_message_at: float | None = None
    reconnects: int = 0
    received: int = 0
    duplicates: int = 0
    malformed: int = 0  # frames that could not be read: skipped, never fatal
    last_error: str | None = None

    def set(self, state: HealthState, error: str | None = None) -> None:
        if state != self.state:
            self.state, self.since = state, time.time()
        if error is not None:
            self.last_error = error

    def lost(self, reason: str) -> None:
        """The connection dropped and the source is trying again."""
        self.reconnects += 1
        self.set("reconnecting", reason)

    def skipped(self, reason: str) -> None:
        """A frame could not be read: counted, never fatal."""
        self.malformed += 1
        self.last_error = reason


class Source(Protocol):
    name: str
    health: Health

    def __aiter__(self) -> AsyncIterator[Comment]: ...


class Backoff:
    """Exponential backoff with full jitter, reset after a healthy connection."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap = base, cap
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return random.uniform(delay / 2, delay)

    async def wait(self) -> None:
        await asyncio.sleep(self.next_delay())

    def reset(self) -> None:
        self.attempt = 0


class Deduper:
    """Remembers the last `size` message ids: platforms resend after a reconnect."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def seen(self, message_id: str) -> bool:
        """True if this id came before; records it otherwise."""
        if message_id in self._seen:
            self._seen.move_to_end(message_id)
            return True
        self._seen[message_id] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return False

    def forget(self, message_id: str) -> None:
        """Lets an id through again: it was seen but not taken (a full queue), so a resend
        must not be dropped as a duplicate."""
        self._seen.pop(message_id, None)


class DedupeFull(Exception):
    """More live ids than a `WindowDeduper` holds: refuse the newcomer rather than forget one."""


class WindowDeduper:
    """Remembers each id until a time given with it: as long as a replay of it could be taken.

    A count-bounded memory (`Deduper`) lets an id through again once enough newer ones have
    come, which a replay can wait for. Paired with a freshness check that refuses whatever is
    stamped outside a window, remembering every id for that window refuses replays whatever
    came between. Bounded all the same: past `max_ids` live ids it raises `DedupeFull`
    instead of forgetting an id early.
    """

    def __init__(self, max_ids: int) -> None:
        self._until: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []  # heap of (until, id)
        self._max = max_ids

    def __len__(self) -> int:
        return len(self._until)

    def seen(self, message_id: str, *, now: float, until: float) -> bool:
        """True if the id came before and is still remembered; records it until `until`."""
        while self._expiry and self._expiry[0][0] <= now:
            expired, old = heapq.heappop(self._expiry)
            if self._until.get(old) == expired:
                del self._until[old]
        if message_id in self._until:
            return True
        if len(self._until) >= self._max:
            raise DedupeFull(f"{self._max} message ids inside the replay window")
        self._until[message_id] = until
        heapq.heappush(self._expiry, (until, message_id))
        return False

    def forget(self, message_id: str) -> None:
        """The id was not taken after all (the bus refused it): its sender may resend it."""
        self._until.pop(message_id, None)
