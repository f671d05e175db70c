"""How well the program holds its clock: a realtime session with overlays into MP4 + HLS.

    .venv/bin/python bench/stream.py --minutes 10            # one session
    .venv/bin/python bench/stream.py --minutes 2 --parallel 3  # N sessions at once

The program emits every frame and stamps audio and video from one counter, so "frames
dropped" and "drift as emitted" cannot be anything but zero; this measures what can fail.
Per session:
- lateness (the program's own stats): frames started more than a frame interval after
  they were due, the worst lateness, and how far behind real time the run ended (wall
  time minus media time);
- the recording as a player sees it, read back with PyAV: video frames in the file vs
  frames emitted, the video track's length vs frames / fps, the audio track's end vs the
  video track's end (the AAC encoder pads its last frame: up to 21.3 ms of that is
  padding, constant over any length), and the container's duration;
- CPU use (process CPU time / wall time, 1.0 = one core), encode and compositing p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
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
from host.face.wear import builtin_look
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import WallClock
from host.stream.onair import OnAirComment
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
        self.animator = IllustratedAnimator(
            settings.width, settings.height, settings.fps, look=builtin_look(settings)
        )
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
        overlay = Overlay(caption, spoken, comment=OnAirComment("Lily", "多少钱?"), product=PRODUCT)
        return ProgramFrame(image, audio, overlay)


def session(seconds: float, out: Path) -> dict[str, float]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    source = TalkingWithOverlays(settings)
    sinks = [mp4_sink(out / "session.mp4"), hls_sink(out / "hls", settings.hls_segment_seconds)]
    program = Program(settings, sinks, WallClock())
    cpu0, wall0 = time.process_time(), time.monotonic()
    stats = asyncio.run(program.run(source, seconds))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    media = stats.frames / settings.fps
    file = recording(out / "session.mp4")
    return {
        "frames": stats.frames,
        "late": stats.late_frames,
        "max_late_ms": round(stats.max_lateness_ms, 1),
        "behind_s": round(wall - media, 3),
        "file_frames": int(file["video_frames"]),
        "video_vs_clock_ms": round((file["video_end"] - media) * 1000, 1),
        "audio_vs_video_ms": round((file["audio_end"] - file["video_end"]) * 1000, 1),
        "container_s": round(file["container"], 3),
        "cpu": round(cpu / wall, 3),
        "encode_p95_ms": round(stats.encode_ms_p95, 2),
        "composite_p95_ms": round(stats.composite_ms_p95, 2),
    }


def recording(path: Path) -> dict[str, float]:
    """The MP4 as a player reads it: video packets, where each track ends (s), its duration."""
    found = {"audio_end": 0.0, "video_end": 0.0, "video_frames": 0.0}
    with av.open(str(path)) as container:
        found["container"] = (container.duration or 0) / av.time_base
        for packet in container.demux():
            if packet.pts is None or packet.time_base is None:
                continue  # the demuxer's end-of-stream marker
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            kind = packet.stream.type
            found[f"{kind}_end"] = max(found.get(f"{kind}_end", 0.0), end)
            found["video_frames"] += kind == "video"
    return found


def _worker(args: tuple[float, str]) -> dict[str, float]:
    return session(args[0], Path(args[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--parallel", type=int, default=1, help="sessions at once")
    args = parser.parse_args()
    seconds = args.minutes * 60
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {describe()}; load average {load} before the run")
    print(f"720x1280 25 fps, overlays, MP4 + HLS, {seconds:g} s each, {args.parallel} at once")
    with tempfile.TemporaryDirectory() as tmp:
        dirs = [str(Path(tmp) / f"s{i}") for i in range(args.parallel)]
        with multiprocessing.get_context("spawn").Pool(args.parallel) as pool:
            results = pool.map(_worker, [(seconds, d) for d in dirs])
    for i, result in enumerate(results):
        print(f"session {i}: {json.dumps(result)}")
    whole = sum(1 for r in results if r["file_frames"] == r["frames"])
    print(f"{whole}/{args.parallel} recordings hold every emitted frame")
    clean = sum(1 for r in results if r["late"] == 0)
    print(f"{clean}/{args.parallel} sessions with no late frame")


if __name__ == "__main__":
    main()
