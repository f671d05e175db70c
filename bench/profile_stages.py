"""Where a session's CPU goes: CPU milliseconds per program frame, stage by stage.

    .venv/bin/python bench/profile_stages.py                # 30 s of program, 720x1280
    .venv/bin/python bench/profile_stages.py --frames 1500

One 720x1280 25 fps session's frame path, as `bench/stream.py` drives it (the illustrated
avatar speaking three seconds in four, the caption's highlight moving, a comment and a
product card, the AI label; the audio a Piper reply, looped), run stage by stage on one
thread as fast as it goes, each stage timed with `time.process_time()` (CPU of the whole
process, so x264's threads count towards the encode, and other jobs on a shared machine
do not count at all):

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

import numpy as np
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
from host.voice.resample import resample

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


async def staged(
    settings: Settings, frames: int, out: Path, speech: np.ndarray
) -> dict[str, float]:
    """The frame path stage by stage; CPU seconds per stage over `frames` frames."""
    source = TalkingWithOverlays(settings, speech)
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


def whole(settings: Settings, frames: int, out: Path, speech: np.ndarray) -> float:
    """CPU seconds for the same frames through the program (fast clock, same sinks)."""
    source = TalkingWithOverlays(settings, speech)
    sinks = [mp4_sink(out / "whole.mp4"), hls_sink(out / "hls2", settings.hls_segment_seconds)]
    program = Program(settings, sinks, ProgramClock())
    start = time.process_time()
    asyncio.run(program.run(source, frames / settings.fps))
    return time.process_time() - start


def tts(settings: Settings, frames: int) -> tuple[float, np.ndarray]:
    """Piper's CPU seconds for the speech a session with this duty says in `frames` frames,
    and the reply it spoke (int16 at the program rate)."""
    voice = Piper({"en": settings.piper_model_en})
    voice.warm()
    for _ in voice.synthesize(REPLY[0], "en"):
        pass  # first run pays onnxruntime's warm-up
    start, chunks = time.process_time(), []
    for text in REPLY * 2:
        chunks += list(voice.synthesize(text, "en"))
    cpu = time.process_time() - start
    spoken = sum(chunk.duration for chunk in chunks) / 2
    speech = np.concatenate([resample(c.pcm, c.sample_rate, settings.audio_rate) for c in chunks])
    speech_seconds = frames / settings.fps * SENTENCE_FRAMES / SENTENCE_EVERY
    return cpu / (2 * spoken) * speech_seconds, speech


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
    voice_cpu, speech = tts(settings, args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        cpu = asyncio.run(staged(settings, args.frames, Path(tmp), speech))
        program = whole(settings, args.frames, Path(tmp), speech)
    cpu["TTS (Piper)"] = voice_cpu
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
