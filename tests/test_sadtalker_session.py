"""SadTalker in a session: clips play in place of the animator, and a broken clip never
costs the program a frame."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from host.config import REPO_ROOT, Settings
from host.demo import run_demo
from host.face.base import MouthPose
from host.face.builtin import IllustratedAnimator
from host.session.director import Director
from host.session.speech import Segment
from host.stream.base import Overlay
from tests.test_sadtalker import _checkpoints
from tests.test_splice import NoProduct

FAKE = REPO_ROOT / "tests" / "sadtalker_fake"
W, H, FPS, RATE = 240, 416, 25, 48_000


def _clip(path: Path, frames: int, colour: tuple[int, int, int]) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        image = np.full((64, 64, 3), colour, np.uint8)
        for _ in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def _director() -> Director:
    return Director(
        IllustratedAnimator(W, H, FPS), NoProduct(), RATE, FPS, fast=False, busy=lambda: False
    )


def _segment(frames: int, clip: Path | None) -> Segment:
    return Segment(
        audio=np.zeros(frames * RATE // FPS, np.int16),
        poses=[MouthPose(open=0.5)] * frames,
        overlay=Overlay(),
        clip=clip,
    )


async def _play(director: Director, count: int) -> list[np.ndarray]:
    return [(await director.next_frame(i)).image for i in range(count)]


def test_a_segment_with_a_clip_plays_the_clip(tmp_path: Path) -> None:
    director = _director()
    director.segments.put_nowait(_segment(10, _clip(tmp_path / "red.mp4", 10, (220, 30, 30))))
    frames = asyncio.run(_play(director, 10))
    centre = [f[H // 2, W // 2] for f in frames]
    assert all(c[0] > 180 and c[1] < 80 for c in centre)  # the clip's red face, every frame


def test_a_broken_clip_hands_the_sentence_to_the_animator(tmp_path: Path) -> None:
    whole = _clip(tmp_path / "red.mp4", 30, (220, 30, 30)).read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(whole[: len(whole) // 3])
    director = _director()
    director.segments.put_nowait(_segment(30, broken))
    frames = asyncio.run(_play(director, 31))
    assert len(frames) == 31 and all(f.shape == (H, W, 3) for f in frames)
    animator = IllustratedAnimator(W, H, FPS)
    assert np.array_equal(frames[30], animator.idle(30))  # the sentence ended on time


@pytest.mark.slow
def test_pitches_are_rendered_ahead_by_sadtalker_in_a_session(
    settings: Settings, tmp_path: Path, photo_avatar: str
) -> None:
    checkpoints = _checkpoints(tmp_path / "ckpt")
    comments = tmp_path / "comments.jsonl"
    row = {"t": 6.0, "user": "Tom", "text": "How much is the down jacket?", "id": "c1"}
    comments.write_text(json.dumps(row) + "\n", encoding="utf-8")
    quick = settings.model_copy(
        update={
            "avatar": photo_avatar,
            "sadtalker_dir": FAKE,
            "sadtalker_checkpoints": checkpoints,
            "sadtalker_python": sys.executable,
            "idle_pitch_s": 1.0,
            "width": W,
            "height": H,
        }
    )
    result = asyncio.run(
        run_demo(quick, tmp_path / "out", duration=14.0, realtime=False, comments=comments)
    )
    assert [r.message_id for r in result.records] == ["c1"]
    assert result.pitches, "no pitch was spoken"
    clips = list((settings.var_dir / "sadtalker-clips").glob("*.mp4"))
    assert clips, "no pitch was rendered ahead by SadTalker"
    assert result.program.frames == 14 * FPS
