"""Several chat sources read as one: each is read by its own task, which hands every comment
to the session's intake at once (no queue between them: a comment is triaged in the same
step the platform delivered it).

A source that raises is reported and made again from its factory after a backoff (a source
reconnects by itself; this catches what escapes it), so one platform's failure never ends
the others or the session. A source that ends (a replay that ran out) is simply done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from host.chat.events import Comment
from host.chat.sources import Backoff, Source

log = logging.getLogger(__name__)


@dataclass
class Feed:
    """One source of the mux: how to make it, the instance reading now, its restarts."""

    kind: str
    make: Callable[[], Source]
    source: Source | None = None
    restarts: int = 0
    last_error: str | None = None
    done: bool = False  # the source ended (a replay ran out, a chat that is gone)


class SourceMux:
    def __init__(self, feeds: Sequence[Feed]) -> None:
        self.feeds = list(feeds)

    async def run(self, take: Callable[[Comment], None]) -> None:
        """Read every feed until all have ended, handing each comment to `take`."""
        tasks = [
            asyncio.create_task(self._pump(f, take), name=f"source-{f.kind}") for f in self.feeds
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _pump(self, feed: Feed, take: Callable[[Comment], None]) -> None:
        backoff = Backoff(base=0.5, cap=30.0)
        while True:
            try:
                feed.source = feed.source or feed.make()
                async for comment in feed.source:
                    backoff.reset()
                    take(comment)
                feed.done = True
                break
            except Exception as error:
                feed.restarts += 1
                feed.last_error = f"{type(error).__name__}: {error}"
                feed.source = None
                log.exception("chat source %s failed; starting it again", feed.kind)
                await backoff.wait()
