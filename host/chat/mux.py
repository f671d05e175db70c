"""Several chat sources read as one: each is pumped by its own task into one bounded queue.

A source that raises is reported and made again from its factory after a backoff (a source
reconnects by itself; this catches what escapes it), so one platform's failure never ends
the others or the session. A source that ends (a replay that ran out) is simply done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from host.chat.events import Comment
from host.chat.sources import Backoff, Source

log = logging.getLogger(__name__)

QUEUE_SIZE = 1_000  # comments read but not yet taken by intake: seconds of a flood


@dataclass
class Feed:
    """One source of the mux: how to make it, the instance reading now, its restarts."""

    kind: str
    make: Callable[[], Source]
    source: Source | None = None
    restarts: int = 0
    last_error: str | None = None
    done: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class SourceMux:
    def __init__(self, feeds: Sequence[Feed]) -> None:
        self.feeds = list(feeds)
        self._queue: asyncio.Queue[Comment | None] = asyncio.Queue(QUEUE_SIZE)

    def __aiter__(self) -> AsyncIterator[Comment]:
        return self._read()

    async def _read(self) -> AsyncIterator[Comment]:
        for feed in self.feeds:
            if feed.task is None or feed.task.done():
                feed.done = False
                feed.task = asyncio.create_task(self._pump(feed), name=f"source-{feed.kind}")
        try:
            while not all(f.done for f in self.feeds):
                comment = await self._queue.get()
                if comment is not None:
                    yield comment
        finally:
            for feed in self.feeds:
                if feed.task is not None:
                    feed.task.cancel()

    async def _pump(self, feed: Feed) -> None:
        backoff = Backoff(base=0.5, cap=30.0)
        while True:
            try:
                feed.source = feed.source or feed.make()
                async for comment in feed.source:
                    backoff.reset()
                    await self._queue.put(comment)
                break
            except Exception as error:
                feed.restarts += 1
                feed.last_error = f"{type(error).__name__}: {error}"
                feed.source = None
                log.exception("chat source %s failed; starting it again", feed.kind)
                await backoff.wait()
        feed.done = True
        await self._queue.put(None)  # wakes the reader to notice
