"""Keeps a session's stage tasks alive while the program clock keeps emitting.

A stage that raises is logged with its traceback, counted and started again after a backoff
(it never silently ends, as a task swallowed by `gather(return_exceptions=True)` would). A
stage that stalls (no `progress()` for `stall_s` while it has work) is cancelled by the
watchdog and started again. Idle frames and pitches carry the stream meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

BACKOFF_MIN_S, BACKOFF_MAX_S = 0.2, 10.0
HEALTHY_S = 30.0  # a stage that ran this long without failing starts its backoff afresh


@dataclass
class Stage:
    name: str
    start: Callable[[], Coroutine[Any, Any, None]]
    stall_s: float | None = None  # watchdog limit; None = not watched
    has_work: Callable[[], bool] = lambda: True
    last_progress: float = field(default_factory=time.monotonic)
    task: asyncio.Task[None] | None = None

    def progress(self) -> None:
        self.last_progress = time.monotonic()


class Supervisor:
    def __init__(self, *, watch_every_s: float = 1.0) -> None:
        self.stages: dict[str, Stage] = {}
        self.restarts: Counter[str] = Counter()
        self.stalls: Counter[str] = Counter()
        self.last_error: dict[str, str] = {}
        self._watch_every_s = watch_every_s
        self._runners: list[asyncio.Task[None]] = []

    def add(
        self,
        name: str,
        start: Callable[[], Coroutine[Any, Any, None]],
        *,
        stall_s: float | None = None,
        has_work: Callable[[], bool] | None = None,
    ) -> Stage:
        stage = Stage(name, start, stall_s, has_work or (lambda: True))
        self.stages[name] = stage
        self._runners.append(asyncio.create_task(self._keep(stage), name=f"supervise-{name}"))
        return stage

    def start_watchdog(self) -> None:
        self._runners.append(asyncio.create_task(self._watch(), name="watchdog"))

    async def stop(self) -> None:
        for runner in self._runners:
            runner.cancel()
        for stage in self.stages.values():
            if stage.task is not None:
                stage.task.cancel()
        pending = [r for r in self._runners] + [
            s.task for s in self.stages.values() if s.task is not None
        ]
        await asyncio.gather(*pending, return_exceptions=True)

    async def _keep(self, stage: Stage) -> None:
        backoff = BACKOFF_MIN_S
        while True:
            started = time.monotonic()
            stage.progress()
            stage.task = asyncio.create_task(stage.start(), name=stage.name)
            try:
                await stage.task
                return  # finished its work (a replay that ran out): not a failure
            except asyncio.CancelledError:
                if stage.task.cancelled() and not _cancelling():
                    reason = "stalled"  # cancelled by the watchdog, not by our own stop
                else:
                    raise
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                log.exception("stage %s failed; restarting it", stage.name)
            if time.monotonic() - started > HEALTHY_S:
                backoff = BACKOFF_MIN_S
            self.restarts[stage.name] += 1
            self.last_error[stage.name] = reason
            log.error(
                "stage %s restarting in %.1f s (restart %d): %s",
                stage.name,
                backoff,
                self.restarts[stage.name],
                reason,
            )
            await asyncio.sleep(backoff)
            backoff = min(BACKOFF_MAX_S, backoff * 2)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._watch_every_s)
            now = time.monotonic()
            for stage in self.stages.values():
                if stage.stall_s is None or stage.task is None or stage.task.done():
                    continue
                if not stage.has_work():
                    stage.progress()
                elif now - stage.last_progress > stage.stall_s:
                    self.stalls[stage.name] += 1
                    log.error(
                        "stage %s made no progress for %.0f s; restarting it",
                        stage.name,
                        now - stage.last_progress,
                    )
                    stage.task.cancel()
                    stage.progress()


def _cancelling() -> bool:
    """Whether the current task itself is being cancelled (a stop), not just its child."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
