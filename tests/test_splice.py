"""Splices are seamless: idle → a spoken Piper sentence → idle, through the Director, the
Program and a real MP4, with no click in the sound and no jump in the picture.

"No click" is measured against the speech itself: the largest sample-to-sample change in a
few milliseconds around a splice must stay within what the voice does anyway.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import av
import numpy as np

from host.config import Settings
from host.face.builtin import IllustratedAnimator
from host.session.director import CUT_FADE_S, CUT_WINDOW_S, Director
from host.session.speech import Segment, assemble
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import ProgramClock
from host.stream.layout import Layout
from host.stream.program import Program
from host.stream.sinks.mp4 import mp4_sink
from host.voice.piper import Piper
from tests.empty_catalog import NoProduct

SETTINGS = Settings(_env_file=None, width=360, height=640)  # type: ignore[call-arg]
SPF = SETTINGS.audio_rate // SETTINGS.fps
SPEECH_AT = 20  # frame where the segment starts
WINDOW = SETTINGS.audio_rate * 3 // 1000  # 3 ms either side of a splice


class QueueAt:
    """Hands the director its segment at frame SPEECH_AT, as the session would, and asks
    for a cut at frame `cut_at` as a waiting question would."""

    def __init__(self, director: Director, segment: Segment, cut_at: int | None = None) -> None:
        self.director, self.segment, self.cut_at = director, segment, cut_at

    async def next_frame(self, index: int) -> ProgramFrame:
        if index == SPEECH_AT:
            self.director.segments.put_nowait(self.segment)
        if index == self.cut_at:
            assert self.director.cut(1.0)
        return await self.director.next_frame(index)


def sentence() -> Segment:
    chunks = list(Piper().synthesize("Hello Lily, this jacket is on sale today.", "en"))
    audio, poses = assemble(chunks, SETTINGS.audio_rate, SETTINGS.fps)
    return Segment(audio=audio, poses=poses, overlay=Overlay(caption="Hello Lily"))


def director() -> Director:
    animator = IllustratedAnimator(SETTINGS.width, SETTINGS.height, SETTINGS.fps)
    return Director(
        animator, NoProduct(), SETTINGS.audio_rate, SETTINGS.fps, fast=True, busy=lambda: False
    )


def render(path: Path, cut_at: int | None = None) -> int:
    """Run idle → speech → idle into an MP4; return the segment's length in frames."""
    segment = sentence()
    program = Program(SETTINGS, [mp4_sink(path)], ProgramClock())
    total = SPEECH_AT + segment.frames + 20
    stats = asyncio.run(program.run(QueueAt(director(), segment, cut_at), total / SETTINGS.fps))
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

    above_caption = Layout(SETTINGS.width, SETTINGS.height, "top-left").caption_reserved_top()
    with av.open(str(path)) as container:
        images = [
            f.to_ndarray(format="gray")[:above_caption].astype(np.float32)  # the caption comes
            for f in container.decode(video=0)  # and goes with the line: only the host counts
        ]
    changes = np.array([np.abs(b - a).mean() for a, b in itertools.pairwise(images)])
    at_splices = changes[[s - 1 for s in splices]]  # change from frame s-1 to frame s
    others = np.delete(changes, [s - 1 for s in splices])
    assert at_splices.max() <= others.max(), (at_splices, others.max())


def test_a_cut_line_stops_at_the_next_pause_without_a_click(tmp_path: Path) -> None:
    """A question cuts into a line mid-word: the voice stops within CUT_WINDOW_S, at the
    quietest point there, and the splice into silence is no harsher than the voice itself."""
    path = tmp_path / "cut.mp4"
    frames = render(tmp_path / "whole.mp4")
    cut_at = SPEECH_AT + frames // 2
    render(path, cut_at=cut_at)
    window = round(CUT_WINDOW_S * SETTINGS.fps)

    sound = decoded_audio(path)
    whole = decoded_audio(tmp_path / "whole.mp4")
    assert np.abs(sound[SPEECH_AT * SPF : cut_at * SPF]).max() > 0.05, "speech before the cut"
    after = sound[(cut_at + window) * SPF : (SPEECH_AT + frames) * SPF]
    assert np.abs(after).max() < 0.01, "the voice went on after the cut"
    assert np.abs(whole[(cut_at + window) * SPF : (SPEECH_AT + frames) * SPF]).max() > 0.05

    steps = np.abs(np.diff(sound))
    voice = np.abs(np.diff(whole))[SPEECH_AT * SPF : (SPEECH_AT + frames) * SPF]
    typical = float(np.percentile(voice, 99.9))  # what the whole line does anyway
    jumps = steps[cut_at * SPF : (cut_at + window + 1) * SPF]
    assert float(jumps.max()) <= typical, (float(jumps.max()), typical)


def test_a_cut_keeps_voice_and_lips_together() -> None:
    """Up to the cut, every frame's picture and sound are the uncut line's frame for frame
    (only the fade before the cut is quieter); after it the host is idle and silent."""

    async def frames(cut_at: int | None) -> tuple[list[ProgramFrame], Segment]:
        d, segment = director(), sentence()
        d.segments.put_nowait(segment)
        out = []
        for index in range(segment.frames + 5):
            if index == cut_at:
                assert d.cut(1.0)
            out.append(await d.next_frame(index))
        return out, segment

    whole, _ = asyncio.run(frames(None))
    cut_at = len(whole) // 2
    cut, segment = asyncio.run(frames(cut_at))
    assert segment.cut and segment.done.is_set()
    speaking = [f.overlay.caption is not None for f in cut]
    end = speaking.index(False)
    assert cut_at <= end <= cut_at + round(CUT_WINDOW_S * SETTINGS.fps)
    for k in range(end):
        assert np.array_equal(cut[k].image, whole[k].image), k
    fade = round(CUT_FADE_S * SETTINGS.fps)
    for k in range(end - fade):
        assert np.array_equal(cut[k].audio, whole[k].audio), k
    for k in range(max(cut_at, end - fade), end):  # the fade: the same sound, only quieter
        assert np.all(np.abs(cut[k].audio) <= np.abs(whole[k].audio))
    assert all(not np.any(f.audio) for f in cut[end:])


def test_a_cut_drops_the_lower_lines_queued_and_keeps_the_urgent_ones() -> None:
    async def run() -> None:
        d = director()
        pitch, answer = sentence(), sentence()
        answer.priority = 40.0
        d.segments.put_nowait(pitch)
        assert not d.cut(1.0)  # nothing on air yet: the queued pitch is just dropped
        assert pitch.cut and pitch.done.is_set() and not pitch.started
        d.segments.put_nowait(answer)
        await d.next_frame(0)
        assert answer.started
        assert not d.cut(30.0)  # an answer gives way only to something above its priority
        assert not answer.cut

    asyncio.run(run())


def test_only_the_optional_rest_of_an_answer_gives_way_to_a_question_of_its_rank() -> None:
    async def run() -> None:
        d = director()
        fact, rest = sentence(), sentence()
        fact.priority = rest.priority = 40.0
        rest.optional = True  # said after the answer's fact
        d.segments.put_nowait(fact)
        await d.next_frame(0)
        assert not d.drop_optional(42.0)  # the fact on air is never cut for its peer
        assert not fact.cut
        d.segments.put_nowait(rest)
        assert not d.drop_optional(20.0)  # a chit-chat is not worth even the rest
        assert d.drop_optional(42.0)  # a question of its rank is: the queued rest goes
        assert rest.cut and rest.done.is_set() and not rest.started
        rest2 = sentence()
        rest2.priority, rest2.optional = 40.0, True
        d.segments.put_nowait(rest2)
        index = 1
        while not rest2.started:  # the fact plays to its end, then the rest starts
            await d.next_frame(index)
            index += 1
        assert fact.done.is_set() and not fact.cut
        assert d.drop_optional(42.0)  # on air: it ends at the next pause
        assert rest2.cut

    asyncio.run(run())
