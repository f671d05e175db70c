"""How well the program holds its clock: a realtime session with overlays into MP4 + HLS.

    .venv/bin/python bench/stream.py --minutes 10            # one session
    .venv/bin/python bench/stream.py --minutes 2 --parallel 3  # N sessions at once

Prints, per session: dropped frames (due but never emitted), late frames (emitted more than
a frame interval after they were due), CPU use (process CPU time / wall time, 1.0 = one
core), A/V drift as emitted (audio samples vs video frames x samples per frame) and as
recorded (where the MP4's audio track ends vs where its video track ends; the AAC
encoder pads its last frame, so up to 21.3 ms there is padding, constant over any length).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import av
import numpy as np
from machine import describe

from host.catalog.facts import ProductFacts
from host.config import Settings
from host.face.base import MouthPose
from host.face.builtin import IllustratedAnimator
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import WallClock
from host.stream.program import Program
from host.stream.sinks.hls import hls_sink
from host.stream.sinks.mp4 import mp4_sink

PRODUCT = ProductFacts(
    sku="LH-001", name="轻薄羽绒服", price=Decimal("399"), currency="CNY", stock=128, link=1
)


SENTENCE_FRAMES = 75  # each 100 frames: a 3 s sentence, then 1 s of idle
SENTENCE_EVERY = 100


class TalkingWithOverlays:
    """The illustrated avatar under a caption, a viewer comment and a product card; a tone
    stands in for speech. Three seconds in every four it speaks: the mouth moves and the
    caption's highlight advances a character a frame or so, as word-timed captions do in a
    session. Counts the audio samples it hands out."""

    def __init__(self, settings: Settings) -> None:
        self.animator = IllustratedAnimator(settings.width, settings.height, settings.fps)
        self.spf = settings.audio_rate // settings.fps
        self.rate = settings.audio_rate
        self.samples = 0

    async def next_frame(self, index: int) -> ProgramFrame:
        t = (np.arange(self.spf) + index * self.spf) / self.rate
        audio = (np.sin(2 * np.pi * 220 * t) * 4000).astype(np.int16)
        self.samples += len(audio)
        line, at = divmod(index, SENTENCE_EVERY)
        caption = f"第{line}句 · line {line}: this jacket is on sale today"
        if at < SENTENCE_FRAMES:
            pose = MouthPose(open=0.5 + 0.4 * np.sin(index / 2))
            image = next(self.animator.speak([pose], index))
            spoken: int | None = len(caption) * (at + 1) // SENTENCE_FRAMES
        else:
            image, spoken = self.animator.idle(index), None
        overlay = Overlay(caption, spoken, comment=("Lily", "多少钱?"), product=PRODUCT)
        return ProgramFrame(image, audio, overlay)


def session(seconds: float, out: Path) -> dict[str, float]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    source = TalkingWithOverlays(settings)
    sinks = [mp4_sink(out / "session.mp4"), hls_sink(out / "hls", settings.hls_segment_seconds)]
    program = Program(settings, sinks, WallClock())
    cpu0, wall0 = time.process_time(), time.monotonic()
    stats = asyncio.run(program.run(source, seconds))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    due = round(seconds * settings.fps)
    emitted_drift = source.samples / source.spf - stats.frames
    ends = recorded_ends(out / "session.mp4")
    return {
        "frames": stats.frames,
        "dropped": due - stats.frames,
        "late": stats.late_frames,
        "max_late_ms": round(stats.max_lateness_ms, 1),
        "cpu": round(cpu / wall, 3),
        "emitted_drift_frames": emitted_drift,
        "recorded_drift_ms": round((ends["audio"] - ends["video"]) * 1000, 1),
        "encode_p95_ms": round(stats.encode_ms_p95, 2),
        "composite_p95_ms": round(stats.composite_ms_p95, 2),
    }


def recorded_ends(path: Path) -> dict[str, float]:
    """Where each track of a recording ends (s); equal ends mean no drift over the run."""
    ends = {"audio": 0.0, "video": 0.0}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                kind = packet.stream.type
                ends[kind] = max(ends.get(kind, 0.0), end)
    return ends


def _worker(args: tuple[float, str]) -> dict[str, float]:
    return session(args[0], Path(args[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--parallel", type=int, default=1, help="sessions at once")
    args = parser.parse_args()
    seconds = args.minutes * 60
    print(f"machine: {describe()}; 720x1280 25 fps, overlays, MP4 + HLS, {seconds:g} s each")
    with tempfile.TemporaryDirectory() as tmp:
        dirs = [str(Path(tmp) / f"s{i}") for i in range(args.parallel)]
        with multiprocessing.get_context("spawn").Pool(args.parallel) as pool:
            results = pool.map(_worker, [(seconds, d) for d in dirs])
    for i, result in enumerate(results):
        print(f"session {i}: {json.dumps(result)}")
    clean = sum(1 for r in results if r["dropped"] == 0 and r["late"] == 0)
    print(f"{clean}/{args.parallel} sessions with no dropped or late frames")


if __name__ == "__main__":
    main()
