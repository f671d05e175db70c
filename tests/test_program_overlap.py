"""In realtime the next frames are fetched on time while the worker still emits an earlier one.

A moment's stall in the worker (a busy machine, a keyframe) must not push the next frames'
start back; the program hands a frame to the worker once fewer than `IN_FLIGHT` wait there,
so frames still leave in order, each once, stamped when their packets reached the sinks.
"""

from __future__ import annotations

import asyncio
import gc
import threading

import numpy as np

from host.config import Settings
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import WallClock
from host.stream.program import IN_FLIGHT, Program
from host.trace import Trace

SETTINGS = Settings(_env_file=None, width=64, height=64)  # type: ignore[call-arg]


class StallingSink:
    """Holds the worker inside its first write until `release` is set (at most 5 s)."""

    name = "stalling"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.stalled = threading.Event()  # the first write came
        self.blocked = threading.Event()  # the worker is inside it now
        self.video_pts: list[int] = []

    def open(self, video: object, audio: object) -> None:
        pass

    def write(self, kind: str, packet: object) -> None:
        if not self.stalled.is_set():
            self.stalled.set()
            self.blocked.set()
            self.release.wait(5.0)
            self.blocked.clear()
        if kind == "video":
            self.video_pts.append(packet.pts)  # type: ignore[attr-defined]

    def close(self) -> None:
        pass


class Grey:
    """Frame 0 carries a trace; each fetch notes whether the worker is still stalled."""

    def __init__(self, sink: StallingSink) -> None:
        self.sink = sink
        self.trace = Trace()
        self.stalled_at: dict[int, bool] = {}

    async def next_frame(self, index: int) -> ProgramFrame:
        self.stalled_at[index] = self.sink.blocked.is_set()
        image = np.full((SETTINGS.height, SETTINGS.width, 3), 100 + index, np.uint8)
        audio = np.zeros(SETTINGS.audio_rate // SETTINGS.fps, np.int16)
        return ProgramFrame(image, audio, Overlay(), self.trace if index == 0 else None)


def test_the_next_frames_are_fetched_while_the_worker_still_emits_an_earlier_one() -> None:
    sink = StallingSink()
    source = Grey(sink)
    release = threading.Timer(0.6, sink.release.set)  # frame 0 stuck in its sink 15 frames
    release.start()
    stats = asyncio.run(Program(SETTINGS, [sink], WallClock()).run(source, 20 / SETTINGS.fps))
    release.join()
    fetched = [source.stalled_at[i] for i in range(1, IN_FLIGHT + 2)]
    assert fetched == [True] * IN_FLIGHT + [False]  # on time, up to IN_FLIGHT, then it waits
    assert stats.frames == 20
    assert sink.video_pts == sorted(set(sink.video_pts)) and len(sink.video_pts) == 20
    assert "first_frame_out" in source.trace.stamps
    assert stats.max_output_lag_ms > 200  # the stall shows as lag, not as frames fetched late


class Counting:
    """Notes how many objects the collector has set aside while each frame is fetched."""

    def __init__(self) -> None:
        self.frozen: list[int] = []

    async def next_frame(self, index: int) -> ProgramFrame:
        self.frozen.append(gc.get_freeze_count())
        image = np.zeros((SETTINGS.height, SETTINGS.width, 3), np.uint8)
        return ProgramFrame(
            image, np.zeros(SETTINGS.audio_rate // SETTINGS.fps, np.int16), Overlay()
        )


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
