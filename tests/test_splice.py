"""Splices are seamless: idle → a spoken Piper sentence → idle, through the Director, the
Program and a real MP4, with no click in the sound and no jump in the picture.

"No click" is measured against the speech itself: the largest sample-to-sample change in a
few milliseconds around a splice must stay within what the voice does anyway.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

from host.catalog.facts import Candidate, ProductFacts
from host.config import Settings
from host.face.builtin import IllustratedAnimator
from host.session.director import Director
from host.session.speech import Segment, assemble
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import ProgramClock
from host.stream.program import Program
from host.stream.sinks.mp4 import mp4_sink
from host.voice.piper import Piper

SETTINGS = Settings(_env_file=None, width=360, height=640)  # type: ignore[call-arg]
SPF = SETTINGS.audio_rate // SETTINGS.fps
SPEECH_AT = 20  # frame where the segment starts
WINDOW = SETTINGS.audio_rate * 3 // 1000  # 3 ms either side of a splice


class NoProduct:
    def lineup(self) -> Sequence[ProductFacts]:
        return []

    def current(self) -> ProductFacts | None:
        return None

    def search(self, text: str, limit: int = 3) -> Sequence[Candidate]:
        return []

    def get(self, sku: str) -> ProductFacts | None:
        return None


class QueueAt:
    """Hands the director its segment at frame SPEECH_AT, as the session would."""

    def __init__(self, director: Director, segment: Segment) -> None:
        self.director, self.segment = director, segment

    async def next_frame(self, index: int) -> ProgramFrame:
        if index == SPEECH_AT:
            self.director.segments.put_nowait(self.segment)
        return await self.director.next_frame(index)


def render(path: Path) -> int:
    """Run idle → speech → idle into an MP4; return the segment's length in frames."""
    chunks = list(Piper().synthesize("Hello Lily, this jacket is on sale today.", "en"))
    audio, poses = assemble(chunks, SETTINGS.audio_rate, SETTINGS.fps)
    segment = Segment(audio=audio, poses=poses, overlay=Overlay(caption="Hello Lily"))
    animator = IllustratedAnimator(SETTINGS.width, SETTINGS.height, SETTINGS.fps)
    director = Director(
        animator, NoProduct(), SETTINGS.audio_rate, SETTINGS.fps, fast=True, busy=lambda: False
    )
    program = Program(SETTINGS, [mp4_sink(path)], ProgramClock())
    total = SPEECH_AT + segment.frames + 20
    stats = asyncio.run(program.run(QueueAt(director, segment), total / SETTINGS.fps))
    assert stats.frames == total
    return segment.frames


def decoded_audio(path: Path) -> np.ndarray:
    """Left channel on the program's sample grid (sample i is program time i / rate)."""
    with av.open(str(path)) as container:
        frames = list(container.decode(audio=0))
    first = frames[0].pts or 0
    samples = np.concatenate([f.to_ndarray()[0] for f in frames])
    return samples[-first:] if first < 0 else np.pad(samples, (first, 0))


def test_speech_splices_have_no_click_and_no_picture_jump(tmp_path: Path) -> None:
    path = tmp_path / "splice.mp4"
    frames = render(path)
    splices = [SPEECH_AT, SPEECH_AT + frames]

    sound = decoded_audio(path)
    steps = np.abs(np.diff(sound))
    speech = steps[SPEECH_AT * SPF : (SPEECH_AT + frames) * SPF]
    assert np.percentile(speech, 99) > 0.01, "the speech did not make it into the file"
    typical = float(np.percentile(speech, 99.9))
    for splice in splices:
        at = splice * SPF
        jump = float(steps[at - WINDOW : at + WINDOW].max())
        assert jump <= typical, (splice, jump, typical)

    with av.open(str(path)) as container:
        images = [f.to_ndarray(format="gray").astype(np.float32) for f in container.decode(video=0)]
    changes = np.array([np.abs(b - a).mean() for a, b in itertools.pairwise(images)])
    at_splices = changes[[s - 1 for s in splices]]  # change from frame s-1 to frame s
    others = np.delete(changes, [s - 1 for s in splices])
    assert at_splices.max() <= others.max(), (at_splices, others.max())
