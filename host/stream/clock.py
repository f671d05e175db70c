"""Session time. Everything that waits in a session waits on this clock, not on `time`.

In realtime the clock is the wall clock; in fast mode it is the program's position
(frames emitted / fps), advanced by the program itself, so a replay file plays out at the
same program times whether a run takes ten minutes or ten seconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the session started."""
        ...

    async def sleep_until(self, t: float) -> None: ...


class WallClock:
    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    async def sleep_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


class ProgramClock:
    """Advanced by the program as it emits frames; waiters wake when their time is reached."""

    def __init__(self) -> None:
        self._t = 0.0
        self._changed = asyncio.Condition()

    def now(self) -> float:
        return self._t

    async def advance(self, t: float) -> None:
        async with self._changed:
            self._t = max(self._t, t)
            self._changed.notify_all()

    async def sleep_until(self, t: float) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._t >= t)
