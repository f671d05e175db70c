"""Turn one guarded sentence into a `Segment` the program can play: speech at the program's
audio rate, padded to whole frames, with the mouth pose for every frame.

Frames themselves are drawn later, one at a time as the program reaches them, so the first
frame of a reply goes out as soon as its audio exists instead of after a whole sentence of
drawing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from host.face.base import MouthPose
from host.face.mouth import mouth_track
from host.stream.base import Overlay
from host.stream.clock import Clock
from host.trace import Trace
from host.voice.base import Speaker, SpeechChunk, Viseme
from host.voice.resample import resample

FADE_S = 0.005  # short fades at both ends so a splice never clicks


class ClipSource(Protocol):
    """A slow renderer (SadTalker) that may draw a sentence ahead of time."""

    def clip_for_speech(self, pcm: np.ndarray, rate: int, *, live: bool) -> Path | None: ...


@dataclass
class Segment:
    audio: np.ndarray  # int16 mono at the program rate, a whole number of frames long
    poses: list[MouthPose]
    overlay: Overlay
    trace: Trace | None = None  # stamped "first_frame_out" by the program on its first frame
    caption_marks: list[int] | None = None  # per frame: caption characters said so far
    clip: Path | None = None  # a pre-rendered talking-head clip to play instead of animating
    priority: float = 0.0  # a waiting comment of higher priority cuts this line (pitches: 0)
    stages: tuple[str, ...] = ("first_frame_out",)  # trace stages its first frame stamps
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set when played or cut
    started: bool = False  # its first frame went on air
    cut: bool = False  # ended early (at a word boundary) or dropped before it started
    optional: bool = False  # after its turn's answer: dropped when a question waits for it

    @property
    def frames(self) -> int:
        return len(self.poses)

    def spoken_at(self, frame: int) -> int | None:
        """Characters of the caption said by the end of `frame`, for timed subtitles."""
        return None if self.caption_marks is None else self.caption_marks[frame]


def _fade(pcm: np.ndarray, rate: int) -> np.ndarray:
    n = min(len(pcm) // 2, max(1, int(rate * FADE_S)))
    if n == 0:
        return pcm
    out = pcm.astype(np.float32)
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out.astype(np.int16)


def assemble(chunks: list[SpeechChunk], rate: int, fps: int) -> tuple[np.ndarray, list[MouthPose]]:
    """Join a sentence's chunks at the program rate, pad to whole frames, and track the mouth."""
    spf = rate // fps
    pieces: list[np.ndarray] = []
    visemes: list[Viseme] = []
    offset = 0.0
    for chunk in chunks:
        pcm = resample(chunk.pcm, chunk.sample_rate, rate)
        visemes.extend(Viseme(v.start + offset, v.end + offset, v.shape) for v in chunk.visemes)
        pieces.append(pcm)
        offset += len(pcm) / rate
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.int16)
    audio = _fade(audio, rate)
    frames = max(1, -(-len(audio) // spf))
    audio = np.pad(audio, (0, frames * spf - len(audio)))
    return audio, mouth_track(audio, rate, fps, visemes)


def caption_marks(text: str, poses: list[MouthPose]) -> list[int]:
    """How far into the caption the voice is at each frame.

    Speech time is counted only while the mouth is open, so pauses and the silence around a
    sentence do not run the subtitle ahead of the voice; the mark then snaps back to a word
    boundary for spaced scripts (Chinese advances a character at a time).
    """
    voiced = np.cumsum([p.open > 0 for p in poses], dtype=np.float64)
    total = voiced[-1] if len(voiced) and voiced[-1] > 0 else 1.0
    breaks = [i for i, ch in enumerate(text) if ch == " "] + [len(text)]
    marks: list[int] = []
    for done in voiced / total:
        at = round(done * len(text))
        if " " in text and at < len(text):
            at = max([0, *(b for b in breaks if b <= at)])
        marks.append(at)
    return marks


async def speak(
    text: str,
    language: str,
    voices: Speaker,
    clock: Clock,
    rate: int,
    fps: int,
    overlay: Overlay,
    trace: Trace | None,
    *,
    clips: ClipSource | None = None,
    live: bool = True,
    priority: float = 0.0,
    stages: tuple[str, ...] = ("first_frame_out",),
) -> Segment:
    """Synthesize the sentence, stamping the first audio when its first chunk arrives."""
    chunks: list[SpeechChunk] = []
    async for chunk in voices.stream(text, language):
        chunks.append(chunk)
        if trace is not None:
            trace.stamp("first_audio", clock.now())  # only the first chunk's time is kept
    audio, poses = await asyncio.to_thread(assemble, chunks, rate, fps)
    marks = caption_marks(overlay.caption, poses) if overlay.caption else None
    clip = None
    if clips is not None:
        clip = await asyncio.to_thread(clips.clip_for_speech, audio, rate, live=live)
    return Segment(
        audio=audio,
        poses=poses,
        overlay=overlay,
        trace=trace,
        caption_marks=marks,
        clip=clip,
        priority=priority,
        stages=stages,
    )
