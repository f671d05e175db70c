"""Where a session's CPU goes: CPU milliseconds per program frame, stage by stage.

    .venv/bin/python bench/profile_stages.py                # 30 s of program, 720x1280
    .venv/bin/python bench/profile_stages.py --frames 1500

One 720x1280 25 fps session's frame path, as `bench/stream.py` drives it (the illustrated
avatar speaking three seconds in four, the caption's highlight moving, a comment and a
product card, the AI label), run stage by stage on one thread as fast as it goes, each
stage timed with `time.process_time()` (CPU of the whole process, so x264's slice threads
count towards the encode, and other jobs on a shared machine do not count at all):

- avatar: the animator's frame;
- caption / text: drawing overlay patches (only when their content changed);
- compositing: the avatar copied and every patch blended onto it;
- colour conversion: RGB to YUV 4:2:0, into the encoder's frame;
- encode: x264 (and its threads); audio: AAC;
- mux: the packets into MP4 + HLS;
- TTS: Piper (onnxruntime, its own threads) for a reply schedule of the same duty (three
  seconds of speech in four), spread over the frames;
- Python overhead: the same frames through `Program.run` (asyncio, the worker thread,
  checks, timings) minus the stages above.

A core holds 40 ms of CPU per frame at 25 fps; the last column is the share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from machine import describe
from stream import SENTENCE_EVERY, SENTENCE_FRAMES, TalkingWithOverlays

from host.config import Settings
from host.stream.clock import ProgramClock
from host.stream.encoder import Encoder
from host.stream.overlays import OverlayCompositor
from host.stream.program import Program
from host.stream.sinks.hls import hls_sink
from host.stream.sinks.mp4 import mp4_sink
from host.voice.piper import Piper

REPLY = (
    "Hi Lily, the lightweight down jacket is three hundred ninety nine yuan today.",
    "That is three hundred off the list price, and we still have one hundred twenty eight.",
    "Tap link one below to order, it ships tomorrow.",
)


class Stages:
    """CPU seconds per stage, summed over the run."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        start = time.process_time()
        yield
        self.cpu[stage] = self.cpu.get(stage, 0.0) + time.process_time() - start


async def staged(settings: Settings, frames: int, out: Path) -> dict[str, float]:
    """The frame path stage by stage; CPU seconds per stage over `frames` frames."""
    source = TalkingWithOverlays(settings)
    compositor = OverlayCompositor(settings)
    encoder = Encoder(settings)
    sinks = [mp4_sink(out / "staged.mp4"), hls_sink(out / "hls", settings.hls_segment_seconds)]
    for sink in sinks:
        sink.open(encoder.video, encoder.audio)
    stages = Stages()
    for index in range(frames):
        with stages.timing("avatar"):
            frame = await source.next_frame(index)  # never suspends: the avatar's frame, a tone
        with stages.timing("caption / text"):
            patches = compositor.patches(frame.overlay)
        with stages.timing("compositing"):
            image = compositor.blend(frame.image, patches)
        with stages.timing("colour conversion"):
            video = encoder.video_frame(index, image)
        with stages.timing("encode (x264)"):
            packets = encoder.encode_video(video)
        with stages.timing("audio (AAC)"):
            packets += encoder.encode_audio(index, frame.audio)
        with stages.timing("mux (MP4 + HLS)"):
            for sink in sinks:
                for packet in packets:
                    sink.write(packet.kind, packet.packet)
    for sink in sinks:
        sink.close()
    encoder.close()
    return stages.cpu


def whole(settings: Settings, frames: int, out: Path) -> float:
    """CPU seconds for the same frames through the program (fast clock, same sinks)."""
    source = TalkingWithOverlays(settings)
    sinks = [mp4_sink(out / "whole.mp4"), hls_sink(out / "hls2", settings.hls_segment_seconds)]
    program = Program(settings, sinks, ProgramClock())
    start = time.process_time()
    asyncio.run(program.run(source, frames / settings.fps))
    return time.process_time() - start


def tts(settings: Settings, frames: int) -> float:
    """Piper's CPU seconds for the speech a session with this duty says in `frames` frames."""
    voice = Piper(settings.piper_model)
    voice.warm()
    for _ in voice.synthesize(REPLY[0], "en"):
        pass  # first run pays onnxruntime's warm-up
    start, spoken = time.process_time(), 0.0
    for text in REPLY * 2:
        spoken += sum(chunk.duration for chunk in voice.synthesize(text, "en"))
    per_speech_second = (time.process_time() - start) / spoken
    speech_seconds = frames / settings.fps * SENTENCE_FRAMES / SENTENCE_EVERY
    return per_speech_second * speech_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=750)
    args = parser.parse_args()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {describe()}; load average {load} before the run")
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}; {settings.width}x{settings.height} {settings.fps} fps"
    )
    print(f"{args.frames} frames, CPU (process_time) per frame")
    with tempfile.TemporaryDirectory() as tmp:
        cpu = asyncio.run(staged(settings, args.frames, Path(tmp)))
        program = whole(settings, args.frames, Path(tmp))
    cpu["TTS (Piper)"] = tts(settings, args.frames)
    cpu["Python overhead"] = program - sum(v for k, v in cpu.items() if k != "TTS (Piper)")
    total = sum(cpu.values())
    print(f"{'stage':20} {'ms/frame':>9} {'share':>6} {'of a core':>9}")
    for stage, seconds in cpu.items():
        ms = seconds * 1000 / args.frames
        print(f"{stage:20} {ms:9.2f} {seconds / total:6.0%} {ms / 40:9.3f}")
    ms = total * 1000 / args.frames
    print(f"{'total':20} {ms:9.2f} {1:6.0%} {ms / 40:9.3f}")


if __name__ == "__main__":
    main()
