"""A circuit breaker for the LLM endpoint: after N failures in a row, stop calling it a while.

A dead endpoint costs every viewer the full first-sentence deadline before the catalog
answerer speaks; once it has failed a few times, answering from the catalog at once is
better, and one trial call after the cool-down finds out when it is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        failures: int = 3,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def failures(self) -> int:
        """Failures in a row since the last success."""
        return self._failures

    @property
    def open(self) -> bool:
        return self._opened_at is not None and self._clock() - self._opened_at < self.cooldown_s

    def allow(self) -> bool:
        """Whether to call the LLM now (after the cool-down, one trial call is let through)."""
        return not self.open

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None

    def failure(self) -> None:
        self._failures += 1
        if self._failures >= self.threshold:
            self._opened_at = self._clock()  # a failed trial call re-opens it at once
