"""The built-in hosts present the product: the hand on the product's side lifts while a line
about it plays and rests after, the head nods on stressed syllables, and both hosts talk
in step with the voice at both program shapes. Checked through the real Director and on
rendered pixels."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from host.face.avatar_art import LOOKS, LookName, draw_avatar
from host.face.avatar_body import ARM_LEVELS
from host.face.base import MouthPose
from host.face.builtin import IllustratedAnimator
from host.face.host_motion import RAMP_S, nods
from host.face.mouth import mouth_track
from host.session.director import Director
from host.session.speech import Segment
from host.stream.base import Overlay
from host.stream.layout import Layout
from tests.empty_catalog import NoProduct
from tests.face_metrics import mouth_openness
from tests.test_face import _rms, _speech_like

RATE, FPS = 48_000, 25
SPF = RATE // FPS
W, H = 360, 640
SPEECH_AT = 10
RAMP = round(RAMP_S * FPS)


def _segment(seconds: float, *, talked_about: bool) -> Segment:
    pcm = _speech_like(seconds, seed=4)
    poses = mouth_track(pcm, RATE, FPS)
    return Segment(
        audio=pcm[: len(poses) * SPF],
        poses=poses,
        overlay=Overlay(caption="这款保温杯今天特价", showcase=talked_about),
    )


def _play(segments: list[Segment], side: str, total: int) -> tuple[IllustratedAnimator, list]:
    """Frames from the Director with `segments` queued at SPEECH_AT, as the session does."""
    animator = IllustratedAnimator(W, H, FPS)
    director = Director(
        animator,
        NoProduct(),
        RATE,
        FPS,
        fast=False,
        busy=lambda: False,
        showcase_side=side,  # type: ignore[arg-type]
    )

    async def run() -> list[np.ndarray]:
        frames, waiting = [], list(segments)
        for index in range(total):
            if index >= SPEECH_AT and waiting and director.segments.empty():
                director.segments.put_nowait(waiting.pop(0))
            frames.append((await director.next_frame(index)).image)
        return frames

    return animator, asyncio.run(run())


def _only_lifted_arm(side: int) -> np.ndarray:
    """Where a raised hand shows: pixels the lifted arm covers and the resting one does not."""
    art = draw_avatar(W, H, "female")

    def covered(level: int, threshold: int) -> np.ndarray:
        layer = art.arms[side, level]
        ys, xs = np.nonzero(layer.alpha > threshold)
        mask = np.zeros((H, W), bool)
        mask[np.clip(ys + layer.y, 0, H - 1), np.clip(xs + layer.x, 0, W - 1)] = True
        return mask

    return covered(ARM_LEVELS - 1, 200) & ~covered(0, 0)


def _changed(frame: np.ndarray, idle: np.ndarray, where: np.ndarray) -> float:
    return float((np.abs(frame.astype(int) - idle).sum(axis=2)[where] > 40).mean())


@pytest.mark.parametrize(("side", "sign"), [("left", -1), ("right", 1)])
def test_the_hand_points_at_the_product_while_it_is_talked_about_and_rests_after(
    side: str, sign: int
) -> None:
    segment = _segment(3.0, talked_about=True)
    after = SPEECH_AT + segment.frames
    animator, frames = _play([segment], side, after + 2 * RAMP)
    still = IllustratedAnimator(W, H, FPS)  # the same host, never told about a product
    region = _only_lifted_arm(sign)
    assert region.sum() > 200

    for k in range(SPEECH_AT):
        assert np.array_equal(frames[k], still.idle(k))  # nothing pointed at yet
    held = range(SPEECH_AT + RAMP, after)
    for k in held:
        pose = animator.pose(k)
        up, down = (pose.reach_left, pose.reach_right)[::-sign]
        assert up > 0.8 and down == 0, k
    shown = [_changed(frames[k], still.idle(k), region) for k in held]
    assert min(shown) > 0.5  # the raised arm and hand are on screen, on the product's side
    other = _only_lifted_arm(-sign)
    assert max(_changed(frames[k], still.idle(k), other) for k in held) < 0.05
    for k in range(after + RAMP, after + 2 * RAMP):
        assert np.array_equal(frames[k], still.idle(k))  # back at rest, as if never raised


def test_a_line_not_about_the_product_leaves_the_hands_at_rest() -> None:
    segment = _segment(2.0, talked_about=False)
    animator, frames = _play([segment], "left", SPEECH_AT + segment.frames + 5)
    still = IllustratedAnimator(W, H, FPS)
    spoken = list(still.speak(segment.poses, SPEECH_AT))
    for i, frame in enumerate(spoken):
        assert np.array_equal(frames[SPEECH_AT + i], frame)
    assert {(animator.pose(k).reach_left, animator.pose(k).reach_right) for k in range(60)} == {
        (0.0, 0.0)
    }


def test_the_hand_stays_up_across_lines_about_the_same_product() -> None:
    first, second = _segment(2.5, talked_about=True), _segment(2.5, talked_about=True)
    end = SPEECH_AT + first.frames + second.frames
    animator, _ = _play([first, second], "left", end)
    assert min(animator.pose(k).reach_left for k in range(SPEECH_AT + RAMP, end)) > 0.8


def test_the_product_side_is_where_the_layout_shows_the_product() -> None:
    assert Layout(720, 1280, "top-left").showcase_side == "right"  # Douyin: its feed is left
    assert Layout(720, 1280, "top-left", platform="none").showcase_side == "left"
    assert Layout(1280, 720, "top-left", platform="none").showcase_side == "right"


def test_the_head_nods_on_stressed_syllables_and_is_back_in_place_when_the_line_ends() -> None:
    quiet, stressed = MouthPose(0.2, "open"), MouthPose(0.9, "open")
    poses = [quiet] * 10 + [stressed] * 3 + [quiet] * 20 + [stressed] * 3 + [quiet] * 5
    amount = nods(poses, FPS)
    assert amount[10] == 0 and max(amount[10:23]) > 0.9  # down and back up on the accent
    assert all(a == 0 for a in amount[:10])
    assert all(a == 0 for a in amount[33:])  # too late to finish: no nod at the end
    assert nods([MouthPose(0.5, "open")] * 50, FPS) == [0.0] * 50  # an even drone: none

    animator = IllustratedAnimator(W, H, FPS)
    spoken = list(animator.speak(poses, 0))
    x, y, w, h = animator.eye_box
    moved = [not np.array_equal(spoken[k], animator.idle(k)) for k in range(10, 23)]
    assert any(moved)
    eyes_moved = [
        not np.array_equal(spoken[k][y : y + h, x : x + w], animator.idle(k)[y : y + h, x : x + w])
        for k in range(10, 23)
    ]
    assert any(eyes_moved)  # the whole face went down, not only the mouth


@pytest.mark.parametrize("look", list(LOOKS))
@pytest.mark.parametrize("size", [(720, 1280), (1280, 720)])
def test_both_hosts_open_the_mouth_with_the_voice_at_both_shapes(
    look: LookName, size: tuple[int, int]
) -> None:
    pcm = _speech_like(6.0, seed=2)
    animator = IllustratedAnimator(*size, look=look)
    animator.present("left", 0)  # talking while pointing, nods and all
    frames = list(animator.speak(mouth_track(pcm, RATE, FPS), 40))
    assert frames[0].shape == (size[1], size[0], 3)
    mouth = np.array([mouth_openness(f, animator.mouth_box) for f in frames])
    assert np.corrcoef(mouth, _rms(pcm))[0, 1] > 0.8
