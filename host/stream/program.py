"""The program: the fixed clock that turns source frames into the encoded stream.

Frame i is due at i / fps. In realtime the program sleeps until then; when it falls behind
it still emits every frame (and counts it late) rather than skipping a timestamp, because
timestamps come from the frame index and a gap would break A/V sync for the whole stream.
In fast mode it never sleeps and advances the session's `ProgramClock` itself, so everything
waiting on session time sees the same times as in a realtime run.

Compositing, encoding and muxing run in the program's own worker thread (not the shared
default executor, where database or TTS calls could queue ahead of a frame), one frame at
a time in order, so the event loop stays free for chat, replies and TTS. In realtime the
worker may still be on earlier frames when frame i is due: the program fetches frame i on
time (its picture, sound and overlay are fixed then) and hands it over once fewer than
IN_FLIGHT frames wait in the worker. So slow frames (the machine busy for a moment with
other sessions, TTS or an x264 keyframe: on 2 cores with four sessions a frame's 10 ms of
CPU now and then takes 30-150 ms of wall time) are absorbed up to IN_FLIGHT frame
intervals before anything starts late; `max_output_lag_ms` says how far behind its due
time a frame's packets reached the sinks (an ingest buffers seconds: a lag of a few frames
is invisible, a frame fetched late is a late answer). Frame 0 is made and sent before
the clock starts: what is done the first time (the art, x264's first keyframe, the sinks'
headers) took 300 ms of wall time when four sessions started together, and would make the
frames after it late.

A realtime program also keeps Python's cyclic garbage collector off what was built before
its clock started (voices, avatar, catalog, libraries: some 200k objects): a full
collection walks them all holding the GIL, 100-250 ms on this machine, several frames.
`gc.freeze()` sets them aside while any program runs; what a session makes meanwhile is
still collected.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from host.config import Settings
from host.stream.base import FrameSource, ProgramFrame
from host.stream.clock import Clock, ProgramClock
from host.stream.encoder import EncodedPacket, Encoder
from host.stream.overlays import OverlayCompositor
from host.stream.sinks import Sink

log = logging.getLogger(__name__)

LATE_LOG_S = 10.0  # at most one "behind its clock" warning per this many seconds
IN_FLIGHT = 3  # realtime: frames handed to the worker and not yet emitted, at most
TIMING_SAMPLES = 10_000  # per-frame timings kept for percentiles: the last ~7 minutes, bounded


@dataclass
class ProgramStats:
    frames: int = 0
    late_frames: int = 0  # started more than one frame interval after they were due
    max_lateness_ms: float = 0.0
    encode_ms_p50: float = 0.0
    encode_ms_p95: float = 0.0
    composite_ms_p95: float = 0.0
    slowest_frame_ms: float = 0.0  # the longest one frame's compositing, encoding and muxing took
    max_output_lag_ms: float = 0.0  # realtime: the latest a frame's packets reached the sinks
    sink_errors: dict[str, str] = field(default_factory=dict)  # sink name -> what failed


class Program:
    _realtime_running = 0  # programs on a wall clock in this process, sharing one collector

    def __init__(
        self,
        settings: Settings,
        sinks: Sequence[Sink],
        clock: Clock,
        compositor: OverlayCompositor | None = None,
    ) -> None:
        """On a `ProgramClock` frames come as fast as they are made (tests, `--fast`); on any
        other clock each frame waits for its time. `compositor`: one built before the clock
        started (its fonts and label cost a few hundred ms the first frames must not wait)."""
        self.settings = settings
        self.fps = settings.fps
        self.clock = clock
        self.compositor = compositor or OverlayCompositor(settings)
        self._sinks = list(sinks)
        self._stopping = False
        self._fenced = threading.Event()
        self.stats = ProgramStats()  # live while running: metrics read it
        self._late_logged = -LATE_LOG_S
        self._late_since = 0
        self._image_shape = (settings.height, settings.width, 3)
        self._audio_samples = settings.audio_rate // settings.fps

    @property
    def sinks(self) -> list[Sink]:
        return list(self._sinks)

    def sink_up(self, sink: Sink) -> bool:
        """False once the sink failed and was dropped (its error is in `stats.sink_errors`)."""
        return sink.name not in self.stats.sink_errors

    def stop(self) -> None:
        """End the run after the current frame; sinks are closed so files are complete."""
        self._stopping = True

    def fence(self) -> None:
        """A newer session of the stream holds its lease: from now on no packet goes to any
        sink, not even the encoder's tail, and the run ends (safe from any thread)."""
        self._fenced.set()
        self._stopping = True

    async def run(self, source: FrameSource, duration: float) -> ProgramStats:
        """Emit exactly round(duration * fps) frames (fewer if stopped) into every sink."""
        self.stats = stats = ProgramStats()
        output = _Output(
            Encoder(self.settings), self.compositor, self._sinks, stats, self.clock, self._fenced
        )
        interval = 1 / self.fps
        frames = round(duration * self.fps)
        work: deque[asyncio.Future[None]] = deque()  # frames in the worker, oldest first
        simulated = self.clock if isinstance(self.clock, ProgramClock) else None
        self.compositor.showcase.waits = simulated is not None  # never on a wall clock
        worker = ThreadPoolExecutor(1, "program")
        loop = asyncio.get_running_loop()
        first = 0  # frames already out when the clock starts
        if simulated is None:
            Program._realtime_running += 1
            gc.freeze()
        try:
            if simulated is None and frames and not self._stopping:
                # frame 0 off the clock: it pays for what is drawn, encoded and written the
                # first time (the art, x264's first keyframe, the sinks' headers), and the
                # stream's time starts when it is out
                frame = await source.next_frame(0)
                self._check(0, frame)
                await loop.run_in_executor(worker, self._warm, output, frame)
                first = 1
            start = self.clock.now()  # frame 0 is out (or due) now
            for index in range(first, frames):
                if self._stopping:
                    break
                due: float | None = None
                if simulated is None:
                    due = start + index * interval
                    await self.clock.sleep_until(due)
                    lateness = max(0.0, self.clock.now() - due)
                    stats.max_lateness_ms = max(stats.max_lateness_ms, lateness * 1000)
                    if lateness > interval:
                        stats.late_frames += 1
                        self._report_late(index, lateness)
                frame = await source.next_frame(index)
                self._check(index, frame)
                while work and (work[0].done() or len(work) >= IN_FLIGHT):
                    await asyncio.shield(work[0])  # raises the frame's failure
                    work.popleft()
                work.append(loop.run_in_executor(worker, output.emit, index, frame, due))
                if simulated is not None:
                    await asyncio.shield(work[0])
                    work.popleft()
                    await simulated.advance((index + 1) / self.fps)
        finally:
            if work:
                await asyncio.wait(work)  # cancelled or ended mid-frame: let them finish first
            output.finish()
            worker.shutdown()
            if simulated is None:
                Program._realtime_running -= 1
                if not Program._realtime_running:
                    gc.unfreeze()  # collectable again once no clock in this process depends on it
        for emitted in work:
            emitted.result()  # the last frames' failure, if one failed
        return stats

    def _warm(self, output: _Output, frame: ProgramFrame) -> None:
        output.emit(0, frame, None)
        self.compositor.showcase.settle()

    def _report_late(self, index: int, lateness: float) -> None:
        """A late frame is logged, at most once per LATE_LOG_S with the count since, so a
        struggling machine is visible in the logs without flooding them."""
        self._late_since += 1
        now = time.monotonic()
        if now - self._late_logged >= LATE_LOG_S:
            log.warning(
                "program behind its clock: frame %d started %.0f ms late (%d late frames since"
                " the last report)",
                index,
                lateness * 1000,
                self._late_since,
            )
            self._late_logged, self._late_since = now, 0

    def _check(self, index: int, frame: ProgramFrame) -> None:
        image, audio = frame.image, frame.audio
        if image.dtype != np.uint8 or image.shape != self._image_shape:
            raise ValueError(
                f"frame {index}: image is {image.dtype} {image.shape},"
                f" expected uint8 {self._image_shape} (RGB)"
            )
        if audio.dtype != np.int16 or audio.shape != (self._audio_samples,):
            raise ValueError(
                f"frame {index}: audio is {audio.dtype} {audio.shape},"
                f" expected int16 ({self._audio_samples},) mono"
            )


class _Output:
    """One run's encoder and open sinks; touched only from the worker thread (and at the end)."""

    def __init__(
        self,
        encoder: Encoder,
        compositor: OverlayCompositor,
        sinks: Sequence[Sink],
        stats: ProgramStats,
        clock: Clock,
        fenced: threading.Event,
    ):
        self.encoder = encoder
        self.clock = clock
        self.fenced = fenced
        self.compositor = compositor
        self.stats = stats
        self.encode_ms: deque[float] = deque(maxlen=TIMING_SAMPLES)
        self.composite_ms: deque[float] = deque(maxlen=TIMING_SAMPLES)
        self.active: list[Sink] = []
        for sink in sinks:
            try:
                sink.open(encoder.video, encoder.audio)
            except Exception as error:
                self._fail(sink, error)
            else:
                self.active.append(sink)

    def emit(self, index: int, frame: ProgramFrame, due: float | None) -> None:
        """Frame `index` composited, encoded and in every sink; counted and stamped once there."""
        t0 = time.perf_counter()
        image = self.compositor.composite(frame.image, frame.overlay)
        t1 = time.perf_counter()
        packets = self.encoder.encode(index, image, frame.audio)
        t2 = time.perf_counter()
        self.composite_ms.append((t1 - t0) * 1000)
        self.encode_ms.append((t2 - t1) * 1000)
        self._fan_out(packets)
        took = (time.perf_counter() - t0) * 1000
        self.stats.slowest_frame_ms = max(self.stats.slowest_frame_ms, took)
        self.stats.frames += 1
        out = self.clock.now()
        if frame.trace is not None:
            for stage in frame.stages:
                frame.trace.stamp(stage, out)
        if due is not None:
            self.stats.max_output_lag_ms = max(self.stats.max_output_lag_ms, (out - due) * 1000)

    def finish(self) -> None:
        """Drain the encoder into the sinks and close them, whatever happened before."""
        try:
            if not self.fenced.is_set():
                self._fan_out(self.encoder.flush())
        finally:
            for sink in self.active:
                try:
                    sink.close()
                except Exception as error:
                    self.stats.sink_errors.setdefault(sink.name, _describe(error))
            self.active.clear()
            self.encoder.close()
            self.stats.encode_ms_p50 = _percentile(self.encode_ms, 50)
            self.stats.encode_ms_p95 = _percentile(self.encode_ms, 95)
            self.stats.composite_ms_p95 = _percentile(self.composite_ms, 95)

    def _fan_out(self, packets: list[EncodedPacket]) -> None:
        if self.fenced.is_set():
            return
        for sink in list(self.active):
            try:
                for item in packets:
                    sink.write(item.kind, item.packet)
            except Exception as error:
                self.active.remove(sink)
                self._fail(sink, error)

    def _fail(self, sink: Sink, error: Exception) -> None:
        """Record a sink's failure and close it; the program and the other sinks go on."""
        self.stats.sink_errors[sink.name] = _describe(error)
        log.warning("sink %s failed and was dropped: %s", sink.name, error)
        try:
            sink.close()
        except Exception as close_error:
            log.warning("sink %s did not close cleanly: %s", sink.name, close_error)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0
