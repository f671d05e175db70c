"""How well the program holds its clock: realtime sessions that speak, with every overlay.

    .venv/bin/python bench/stream.py                       # N = 1..5 sessions, 5 min each
    .venv/bin/python bench/stream.py --parallel 4 --minutes 5
    .venv/bin/python bench/stream.py --parallel 1 --minutes 10 --tone   # no TTS, a tone

Each session is its own process, as `host run` is: the illustrated host under a caption, a
viewer comment and a product card (the showcase while it speaks, the host's hand pointing
at it), on the default platform's layout, H.264 + AAC into MP4 + HLS, and a voice thread that
has the session's voice (its own process, `TTS_PROCESS`) synthesize sentence after
sentence just in time (Piper for English, espeak-ng for
Mandarin, one sentence written ahead, a second's pause between sentences, as a host
speaking between pitches and answers does); the caption's mark follows the voice and the
mouth its loudness. The program emits every frame and stamps audio and video from one
counter, so "frames dropped" and "drift as emitted" cannot be anything but zero; this
measures what can fail. Per session:
- lateness (the program's own stats): frames started more than a frame interval after
  they were due, the worst lateness, and how far behind real time the run ended (wall
  time minus media time); the slowest frame (compositing, encoding and muxing);
- the recording as a player sees it, read back with PyAV: video frames in the file vs
  frames emitted, the video track's length vs frames / fps, the audio track's end vs the
  video track's end (the AAC encoder pads its last frame: up to 21.3 ms of that is
  padding, constant over any length), and the container's duration;
- CPU use (process CPU time / wall time, 1.0 = one core; TTS and its process included), encode and
  compositing p95, and the sentences spoken.
With several values of --parallel, a table of the runs follows, one row per N.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import multiprocessing
import os
import queue
import resource
import tempfile
import threading
import time
from dataclasses import dataclass
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
from host.session.speech import assemble, caption_marks
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import WallClock
from host.stream.layout import Layout
from host.stream.onair import OnAirComment
from host.stream.program import Program
from host.stream.sinks.hls import hls_sink
from host.stream.sinks.mp4 import mp4_sink
from host.voice.base import Speaker, SpeechChunk
from host.voice.process import VoiceProcess
from host.voice.router import build_router

PRODUCT = ProductFacts(
    sku="LH-001", name="轻薄羽绒服", price=Decimal("399"), currency="CNY", stock=128, link=1
)


SENTENCE_FRAMES = 75  # each 100 frames: a 3 s sentence, then 1 s of idle
SENTENCE_EVERY = 100


class TalkingWithOverlays:
    """The illustrated avatar under a caption, a viewer comment and a product card; a tone
    (or `speech`, looped: int16 at the program rate) stands in for the voice. Three seconds
    in every four it speaks: the mouth moves and the caption's highlight advances a
    character a frame or so, as word-timed captions do in a session; the second in between
    is silent. Counts the audio samples it hands out."""

    def __init__(self, settings: Settings, speech: np.ndarray | None = None) -> None:
        self.animator = IllustratedAnimator(
            settings.width, settings.height, settings.fps, look=builtin_look(settings)
        )
        self.spf = settings.audio_rate // settings.fps
        self.rate = settings.audio_rate
        self.samples = 0
        self.speech = speech

    async def next_frame(self, index: int) -> ProgramFrame:
        line, at = divmod(index, SENTENCE_EVERY)
        if at >= SENTENCE_FRAMES:
            audio = np.zeros(self.spf, np.int16)
        elif self.speech is not None:
            start = index * self.spf % (len(self.speech) - self.spf)
            audio = self.speech[start : start + self.spf]
        else:
            t = (np.arange(self.spf) + index * self.spf) / self.rate
            audio = (np.sin(2 * np.pi * 220 * t) * 4000).astype(np.int16)
        self.samples += len(audio)
        caption = f"第{line}句 · line {line}: this jacket is on sale today"
        if at < SENTENCE_FRAMES:
            pose = MouthPose(open=0.5 + 0.4 * np.sin(index / 2))
            image = next(self.animator.speak([pose], index))
            spoken: int | None = len(caption) * (at + 1) // SENTENCE_FRAMES
        else:
            image, spoken = self.animator.idle(index), None
        overlay = Overlay(caption, spoken, comment=OnAirComment("Lily", "多少钱?"), product=PRODUCT)
        return ProgramFrame(image, audio, overlay)


LINES = (
    ("en", "Hi Lily, the lightweight down jacket is three hundred ninety nine yuan today."),
    ("zh", "这件轻薄羽绒服今天直播间只要三百九十九元，现在还有一百二十八件。"),
    ("en", "That is three hundred off the list price, and it ships tomorrow."),
    ("zh", "喜欢的朋友点一号链接，尺码从S到XL都有。"),
    ("en", "Tap link one below to order, we still have one hundred twenty eight."),
)
PAUSE_S = 1.0  # between sentences, as the session's pacing leaves


@dataclass
class Spoken:
    audio: np.ndarray
    poses: list[MouthPose]
    marks: list[int]
    caption: str


class Speaking:
    """The avatar speaking what a writer thread has the session's voice router synthesize,
    sentence after sentence.

    The thread writes one sentence ahead (a queue of one), as the session's writer waits
    for room; the program never waits on it: with nothing ready, the frame is idle. There
    is no TTS cache, so the five lines are synthesized afresh each time round.
    """

    def __init__(self, settings: Settings) -> None:
        self.animator = IllustratedAnimator(
            settings.width, settings.height, settings.fps, look=builtin_look(settings)
        )
        self.rate, self.fps = settings.audio_rate, settings.fps
        self.spf = settings.audio_rate // settings.fps
        self.silence = np.zeros(self.spf, np.int16)
        self.samples = 0
        self.sentences = 0
        layout = Layout(
            settings.width, settings.height, settings.ai_label_position, platform=settings.platform
        )
        self.side = layout.showcase_side  # every line is about the product: shown, pointed at
        # the session's voice as the builder makes it (in its own process unless TTS_PROCESS
        # is off; niced alike), without the cache: every line is synthesized afresh
        spoken = settings.model_copy(update={"tts_cache": False})
        self.voice: Speaker = VoiceProcess(spoken) if settings.tts_process else build_router(spoken)
        self.voice.warm()
        self.ready: queue.Queue[Spoken] = queue.Queue(1)
        self.stopped = threading.Event()
        self.playing: Spoken | None = None
        self.at = 0
        self.quiet_until = 0
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        async def say(text: str, language: str) -> list[SpeechChunk]:
            return [chunk async for chunk in self.voice.stream(text, language)]

        for language, text in itertools.cycle(LINES):
            chunks = asyncio.run(say(text, language))
            audio, poses = assemble(chunks, self.rate, self.fps)
            spoken = Spoken(audio, poses, caption_marks(text, poses), text)
            while not self.stopped.is_set():
                try:
                    self.ready.put(spoken, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if self.stopped.is_set():
                return

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.voice.close()

    async def next_frame(self, index: int) -> ProgramFrame:
        if self.playing is None and index >= self.quiet_until:
            try:
                self.playing, self.at = self.ready.get_nowait(), 0
                self.sentences += 1
            except queue.Empty:
                pass
        comment = OnAirComment("Lily", "多少钱?")
        seg = self.playing
        self.animator.present(self.side if seg is not None else None, index)
        if seg is None:
            self.samples += self.spf
            overlay = Overlay(comment=comment, product=PRODUCT)
            return ProgramFrame(self.animator.idle(index), self.silence, overlay)
        k = self.at
        image = next(self.animator.speak([seg.poses[k]], index))
        audio = seg.audio[k * self.spf : (k + 1) * self.spf]
        self.samples += len(audio)
        overlay = Overlay(
            seg.caption, seg.marks[k], comment=comment, product=PRODUCT, showcase=True
        )
        self.at += 1
        if self.at >= len(seg.poses):
            self.playing = None
            self.quiet_until = index + 1 + round(PAUSE_S * self.fps)
        return ProgramFrame(image, audio, overlay)


def session(seconds: float, out: Path, tts: bool) -> dict[str, float]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    source: Speaking | TalkingWithOverlays = (
        Speaking(settings) if tts else TalkingWithOverlays(settings)
    )
    sinks = [mp4_sink(out / "session.mp4"), hls_sink(out / "hls", settings.hls_segment_seconds)]
    program = Program(settings, sinks, WallClock())
    pauses = CollectorPauses()
    gc.callbacks.append(pauses)
    cpu0, wall0 = time.process_time(), time.monotonic()
    try:
        stats = asyncio.run(program.run(source, seconds))
    finally:
        gc.callbacks.remove(pauses)
        if isinstance(source, Speaking):
            source.stop()
    wall = time.monotonic() - wall0
    # the session's own CPU and its TTS process's (reaped by `stop`; its start included)
    cpu = time.process_time() - cpu0 + _reaped_children_cpu()
    media = stats.frames / settings.fps
    file = recording(out / "session.mp4")
    return {
        "frames": stats.frames,
        "late": stats.late_frames,
        "max_late_ms": round(stats.max_lateness_ms, 1),
        "slowest_frame_ms": round(stats.slowest_frame_ms, 1),
        "output_lag_ms": round(stats.max_output_lag_ms, 1),
        "behind_s": round(wall - media, 3),
        "file_frames": int(file["video_frames"]),
        "video_vs_clock_ms": round((file["video_end"] - media) * 1000, 1),
        "audio_vs_video_ms": round((file["audio_end"] - file["video_end"]) * 1000, 1),
        "container_s": round(file["container"], 3),
        "cpu": round(cpu / wall, 3),
        "encode_p95_ms": round(stats.encode_ms_p95, 2),
        "composite_p95_ms": round(stats.composite_ms_p95, 2),
        "sentences": source.sentences if isinstance(source, Speaking) else 0,
        "gc_full": pauses.full,
        "gc_longest_ms": round(pauses.longest * 1000, 1),
    }


def _reaped_children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CollectorPauses:
    """Python's cyclic collections while the program ran: a full one holds the GIL, and so
    every thread of the session, for as long as it takes."""

    def __init__(self) -> None:
        self.full = 0
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.longest = max(self.longest, time.perf_counter() - self._started)
        self.full += info["generation"] == 2


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


def _worker(args: tuple[float, str, bool]) -> dict[str, float]:
    return session(args[0], Path(args[1]), args[2])


def run(sessions: int, seconds: float, tts: bool) -> list[dict[str, float]]:
    """`sessions` sessions at once, each in its own process; their results.

    Each process leads its own POSIX session, as a `host run` started from its own shell or
    service does: with the kernel's autogroup scheduling (on by default on desktops and many
    VMs), processes of one session share one fair share of the CPU, so sessions started
    together from this script would otherwise compete as one group against everything else
    on the machine.
    """
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(seconds, str(Path(tmp) / f"s{i}"), tts) for i in range(sessions)]
        with multiprocessing.get_context("spawn").Pool(sessions, initializer=os.setsid) as pool:
            return pool.map(_worker, jobs)


def autogroup() -> str:
    path = Path("/proc/sys/kernel/sched_autogroup_enabled")
    return {"1": "on", "0": "off"}.get(path.read_text().strip(), "?") if path.exists() else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument(
        "--parallel", default="1,2,3,4,5", help="sessions at once; a list runs each in turn"
    )
    parser.add_argument("--tone", action="store_true", help="a tone instead of TTS speech")
    args = parser.parse_args()
    seconds = args.minutes * 60
    counts = [int(n) for n in args.parallel.split(",")]
    print(f"machine: {describe()}; {time.strftime('%Y-%m-%d %H:%M')}; autogroup {autogroup()}")
    speech = "a tone" if args.tone else "Piper + espeak-ng speech"
    print(f"720x1280 25 fps, overlays, {speech}, MP4 + HLS, {seconds:g} s per session")
    table = []
    for count in counts:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"-- {count} at once; load average {load} before the run")
        results = run(count, seconds, not args.tone)
        for i, result in enumerate(results):
            print(f"session {i}: {json.dumps(result)}")
        whole = sum(1 for r in results if r["file_frames"] == r["frames"])
        print(f"{whole}/{count} recordings hold every emitted frame")
        clean = sum(1 for r in results if r["late"] == 0)
        print(f"{clean}/{count} sessions with no late frame")
        table.append((count, load, results))
    print()
    print(
        "| sessions | load before | late frames (all sessions) | worst lateness | slowest frame"
        " | CPU per session | sentences each |"
    )
    print("|---|---|---|---|---|---|---|")
    for count, load, results in table:
        frames = sum(r["frames"] for r in results)
        late = sum(r["late"] for r in results)
        worst = max(r["max_late_ms"] for r in results)
        slowest = max(r["slowest_frame_ms"] for r in results)
        cpu = sum(r["cpu"] for r in results) / count
        said = min(r["sentences"] for r in results)
        print(
            f"| {count} | {load.split(',')[0]} | {late} of {frames} | {worst:.0f} ms"
            f" | {slowest:.0f} ms | {cpu:.2f} core | {said} |"
        )


if __name__ == "__main__":
    main()
