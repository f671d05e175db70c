"""In realtime the next frames are fetched on time while the worker still emits an earlier one.

A moment's stall in the worker (a busy machine, a keyframe) must not push the next frames'
start back; the program hands a frame to the worker once fewer than `IN_FLIGHT` wait there,
so frames still leave in order, each once, stamped when their packets reached the sinks.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import numpy as np

from host.config import Settings
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import WallClock
from host.stream.program import IN_FLIGHT, Program
from host.trace import Trace

SETTINGS = Settings(_env_file=None, width=64, height=64)  # type: ignore[call-arg]


class StallingSink:
    """Holds the worker inside frame 1's video write for 0.6 s (15 frames); frame 0 is made
    before the clock starts, so a stall there would delay the start instead."""

    name = "stalling"

    def __init__(self) -> None:
        self.stalled = threading.Event()  # frame 1's write came
        self.blocked = threading.Event()  # the worker is inside it now
        self.video_pts: list[int] = []

    def open(self, video: object, audio: object) -> None:
        pass

    def write(self, kind: str, packet: object) -> None:
        if kind == "video" and packet.pts and not self.stalled.is_set():  # type: ignore[attr-defined]
            self.stalled.set()
            self.blocked.set()
            time.sleep(0.6)
            self.blocked.clear()
        if kind == "video":
            self.video_pts.append(packet.pts)  # type: ignore[attr-defined]

    def close(self) -> None:
        pass


class Grey:
    """Frame 1 carries a trace; each fetch notes whether the worker is still stalled."""

    def __init__(self, sink: StallingSink) -> None:
        self.sink = sink
        self.trace = Trace()
        self.stalled_at: dict[int, bool] = {}

    async def next_frame(self, index: int) -> ProgramFrame:
        self.stalled_at[index] = self.sink.blocked.is_set()
        image = np.full((SETTINGS.height, SETTINGS.width, 3), 100 + index, np.uint8)
        audio = np.zeros(SETTINGS.audio_rate // SETTINGS.fps, np.int16)
        return ProgramFrame(image, audio, Overlay(), self.trace if index == 1 else None)


def test_the_next_frames_are_fetched_while_the_worker_still_emits_an_earlier_one() -> None:
    sink = StallingSink()
    source = Grey(sink)
    stats = asyncio.run(Program(SETTINGS, [sink], WallClock()).run(source, 20 / SETTINGS.fps))
    fetched = [source.stalled_at[i] for i in range(2, IN_FLIGHT + 3)]
    assert fetched == [True] * IN_FLIGHT + [False]  # on time, up to IN_FLIGHT, then it waits
    assert stats.frames == 20
    assert sink.video_pts == sorted(set(sink.video_pts)) and len(sink.video_pts) == 20
    assert "first_frame_out" in source.trace.stamps
    assert stats.max_output_lag_ms > 200  # the stall shows as lag, not as frames fetched late


def _black() -> ProgramFrame:
    image = np.zeros((SETTINGS.height, SETTINGS.width, 3), np.uint8)
    return ProgramFrame(image, np.zeros(SETTINGS.audio_rate // SETTINGS.fps, np.int16), Overlay())


class SlowStart:
    """A sink whose first write takes 0.3 s (a header to a slow disk, a cold cache): more
    than the IN_FLIGHT frames the worker may fall behind by."""

    name = "slow-start"

    def __init__(self) -> None:
        self.first_out = 0.0  # when the first write returned

    def open(self, video: object, audio: object) -> None:
        pass

    def write(self, kind: str, packet: object) -> None:
        if not self.first_out:
            time.sleep(0.3)
            self.first_out = time.monotonic()

    def close(self) -> None:
        pass


class Stamped:
    def __init__(self) -> None:
        self.fetched: dict[int, float] = {}

    async def next_frame(self, index: int) -> ProgramFrame:
        self.fetched[index] = time.monotonic()
        return _black()


def test_the_first_frame_is_made_before_the_clock_starts() -> None:
    """What is done the first time is not charged to the frames after it: no frame is late
    for frame 0's slow start, and frame 1 is due one interval after frame 0 is out."""
    sink, source = SlowStart(), Stamped()
    stats = asyncio.run(Program(SETTINGS, [sink], WallClock()).run(source, 10 / SETTINGS.fps))
    assert stats.frames == 10
    assert stats.max_lateness_ms < 150  # 0.3 s would be charged to frames 1-4 otherwise
    interval = 1 / SETTINGS.fps
    assert source.fetched[1] - sink.first_out >= interval * 0.9


class Counting:
    """Notes how many objects the collector has set aside while each frame is fetched."""

    def __init__(self) -> None:
        self.frozen: list[int] = []

    async def next_frame(self, index: int) -> ProgramFrame:
        self.frozen.append(gc.get_freeze_count())
        return _black()


def test_a_realtime_program_keeps_the_collector_off_what_was_built_before_it() -> None:
    """A full collection over the startup objects would hold the GIL for several frames."""
    built = [object() for _ in range(1000)]  # noqa: F841 - kept alive through the run
    first, second = Counting(), Counting()
    program = Program(SETTINGS, [], WallClock())

    async def both() -> None:  # two programs in one process (host serve): one collector
        one = asyncio.create_task(program.run(first, 5 / SETTINGS.fps))
        await Program(SETTINGS, [], WallClock()).run(second, 2 / SETTINGS.fps)
        frozen_after_second = gc.get_freeze_count()
        await one
        assert frozen_after_second > 1000  # the first still runs: still set aside

    asyncio.run(both())
    assert min(first.frozen) > 1000
    assert gc.get_freeze_count() == 0  # no program left: collectable again
