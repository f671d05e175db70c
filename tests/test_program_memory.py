"""A stream's memory does not grow with its length: the program keeps bounded summaries."""

from __future__ import annotations

import asyncio
import tracemalloc

import numpy as np
import pytest

from host.config import Settings
from host.stream import program as program_module
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import ProgramClock
from host.stream.program import Program


class Flat:
    """Grey silent frames; notes Python's traced memory at two points of the run."""

    def __init__(self, settings: Settings, marks: tuple[int, int]) -> None:
        self.image = np.full((settings.height, settings.width, 3), 90, np.uint8)
        self.audio = np.zeros(settings.audio_rate // settings.fps, np.int16)
        self.marks = marks
        self.seen: dict[int, int] = {}

    async def next_frame(self, index: int) -> ProgramFrame:
        if index in self.marks:
            self.seen[index] = tracemalloc.get_traced_memory()[0]
        return ProgramFrame(self.image, self.audio, Overlay())


def test_per_frame_timings_are_a_bounded_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(program_module, "TIMING_SAMPLES", 100)
    settings = Settings(_env_file=None, width=64, height=64)  # type: ignore[call-arg]
    source = Flat(settings, (500, 2500))

    async def run() -> None:
        await Program(settings, [], ProgramClock()).run(source, 2600 / settings.fps)

    tracemalloc.start()
    try:
        asyncio.run(run())
    finally:
        tracemalloc.stop()
    grown = source.seen[2500] - source.seen[500]
    assert grown < 40_000, f"{grown} bytes more after 2000 more frames"  # a list: ~130 KB
