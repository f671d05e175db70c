"""Photo avatars on scikit-image's public-domain astronaut: landmarks, and frames checked
from their pixels (after an H.264 round trip where the measure must survive one)."""

from __future__ import annotations

import itertools
import os

import cv2
import numpy as np
import pytest
from skimage import data

from host.face.base import MouthPose
from host.face.landmarks import (
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    POINTS,
    Face,
    detect_faces,
    usable_face,
)
from host.face.mouth import mouth_track
from host.face.photo import PhotoAnimator
from tests.conftest import REPO_ROOT
from tests.face_metrics import h264_round_trip, look_book_page, stroke_contrast
from tests.test_face import FPS, RATE, _lagged_corr, _rms, _speech_like

_INTERIOR_LUMA = 70  # the painted mouth is darker than lips, skin, teeth and shadows here
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
_STROKE_BOUND = 55  # luma levels of black-hat rise; the outlined fill this replaced reached 134
_IRIS_LUMA = 60  # iris and pupil; the eyelid skin that covers them in a blink is brighter


def _dark_share(
    frame: np.ndarray, box: tuple[int, int, int, int], below: int = _INTERIOR_LUMA
) -> float:
    x, y, w, h = box
    luma = frame[y : y + h, x : x + w].astype(np.float32) @ np.array([0.299, 0.587, 0.114])
    return float((luma < below).mean())


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def face(astronaut: np.ndarray) -> Face:
    return detect_faces(astronaut)[0]


@pytest.fixture(scope="module")
def animator(astronaut: np.ndarray, face: Face) -> PhotoAnimator:
    return PhotoAnimator(astronaut, face, 720, 1280, FPS)


def test_astronaut_has_one_frontal_face_with_all_landmarks(astronaut: np.ndarray) -> None:
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    face = usable_face(astronaut, faces)
    assert face.points.shape == (POINTS, 3)
    x, y, w, h = face.box
    assert 150 < x < 220 and 40 < y < 100 and 80 < w < 130 and 90 < h < 140
    assert abs(face.yaw_deg) < 10 and abs(face.roll_deg) < 10
    lips = np.concatenate([face.group(LIPS_INNER_UPPER), face.group(LIPS_INNER_LOWER)])
    assert ((lips[:, 0] > x) & (lips[:, 0] < x + w) & (lips[:, 1] > y + h / 2)).all()


def test_two_people_side_by_side_are_two_faces(astronaut: np.ndarray) -> None:
    faces = detect_faces(np.concatenate([astronaut, astronaut], axis=1))
    assert len(faces) == 2
    assert sorted(f.box[0] > 512 for f in faces) == [False, True]


def test_landmarks_round_trip_through_json(face: Face) -> None:
    again = Face.from_json(face.to_json())
    assert np.abs(again.points - face.points).max() < 0.01


@pytest.mark.parametrize("size", [(720, 1280), (512, 512), (1280, 720)])
def test_frames_are_rgb_of_the_program_size_with_the_face_in_the_upper_middle(
    astronaut: np.ndarray, face: Face, size: tuple[int, int]
) -> None:
    anim = PhotoAnimator(astronaut, face, *size)
    assert (anim.width, anim.height) == size
    for frame in (anim.idle(0), next(anim.speak([MouthPose(1.0, "open")], 0))):
        assert frame.shape == (size[1], size[0], 3) and frame.dtype == np.uint8
    x, y, w, h = anim.face.box
    assert abs(x + w / 2 - size[0] / 2) < 2 and y + h < size[1] * 2 / 3


def test_mouth_opening_rises_monotonically_with_open(animator: PhotoAnimator) -> None:
    levels = np.linspace(0, 1, 9)
    shares = [
        _dark_share(next(animator.speak([MouthPose(float(v), "open")], 0)), animator.mouth_box)
        for v in levels
    ]
    assert shares[0] < 0.02
    assert all(b > a for a, b in itertools.pairwise(shares)), shares
    assert shares[-1] > 0.2


def test_lip_shapes_change_the_mouth_width(animator: PhotoAnimator) -> None:
    def dark_columns(shape: str) -> int:
        frame = next(animator.speak([MouthPose(0.6, shape)], 0))  # type: ignore[arg-type]
        x, _, w, _ = animator.rig.mouth.patch.rect  # wider than mouth_box: spread lips leave it
        _, y, _, h = animator.mouth_box
        luma = frame[y : y + h, x : x + w].astype(np.float32) @ np.array([0.299, 0.587, 0.114])
        return int((luma < _INTERIOR_LUMA).any(axis=0).sum())

    assert dark_columns("round") < dark_columns("open") < dark_columns("wide")
    closed = next(animator.speak([MouthPose(1.0, "closed")], 0))
    assert _dark_share(closed, animator.mouth_box) < 0.02


@pytest.mark.parametrize("shape", ["open", "wide", "round", "teeth"])
def test_the_photo_mouth_has_no_drawn_outline(animator: PhotoAnimator, shape: str) -> None:
    """No thin dark line along the lips at any opening: a barely parted mouth is a shadow, a
    wide one a soft-edged interior (a flat fill with a hard edge reads as a drawn stroke:
    up to 130 luma levels on this photo)."""
    rest = animator.idle(0)
    line = 0.06 * animator.rig.mouth.width  # thicker than a drawn stroke, thinner than a mouth
    contrast = [
        stroke_contrast(
            next(animator.speak([MouthPose(level, shape)], 0)),  # type: ignore[arg-type]
            rest,
            animator.rig.mouth.patch.rect,
            line,
        )
        for level in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
    ]
    assert max(contrast) < _STROKE_BOUND, contrast


def test_a_photo_avatar_mid_word_is_photographed_for_the_look_book(
    animator: PhotoAnimator,
) -> None:
    """The program frame mid-syllable, with close-ups of the mouth at rest, mid-word and wide
    open beside it; SAVE_SCREENSHOTS=1 refreshes docs/screenshots/photo-avatar-mid-word.png."""
    poses = mouth_track(_speech_like(), RATE, FPS)
    k = min(range(len(poses)), key=lambda i: abs(poses[i].open - 0.6))
    frame = next(animator.speak([poses[k]], k))
    rest = animator.idle(k)
    shot = look_book_page(
        frame,
        [
            (rest, "at rest"),
            (frame, "mid-word"),
            (next(animator.speak([MouthPose(1.0, "open")], k)), "wide open"),
        ],
        animator.rig.mouth.patch.rect,
    )
    assert shot.shape[0] == frame.shape[0]
    assert _dark_share(frame, animator.mouth_box) > _dark_share(rest, animator.mouth_box) + 0.05
    if os.environ.get("SAVE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(SCREENSHOTS / "photo-avatar-mid-word.png"), shot[..., ::-1])


def test_decoded_mouth_opening_follows_the_audio_envelope(
    astronaut: np.ndarray, face: Face
) -> None:
    anim = PhotoAnimator(astronaut, face, 512, 512, FPS)
    pcm = _speech_like()
    frames = h264_round_trip(list(anim.speak(mouth_track(pcm, RATE, FPS), start_frame=40)))
    opening = np.array([_dark_share(f, anim.mouth_box) for f in frames])
    envelope = _rms(pcm)[: len(opening)]
    by_lag = {lag: _lagged_corr(envelope, opening, lag) for lag in range(-3, 4)}
    assert by_lag[0] > 0.8, by_lag
    best = max(by_lag, key=lambda lag: by_lag[lag])
    assert abs(best) <= 1, by_lag


def test_idle_frames_blink_within_ten_seconds(animator: PhotoAnimator) -> None:
    darkness = np.array(
        [_dark_share(animator.idle(i), animator.eye_box, _IRIS_LUMA) for i in range(10 * FPS)]
    )
    open_level = float(np.median(darkness))
    closed = darkness < 0.5 * open_level
    assert closed.any() and closed.mean() < 0.1
    starts = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
    assert len(starts) >= 1


def test_speech_starts_from_the_idle_frame_outside_the_mouth(animator: PhotoAnimator) -> None:
    start = 0
    while animator.idle(start).tobytes() == animator.idle(start + 1).tobytes():
        start += 1  # a frame in a blink, so the eyes are part of what must match
    spoken = next(animator.speak([MouthPose(0.9, "wide")], start_frame=start + 1))
    idle = animator.idle(start + 1)
    x, y, w, h = animator.rig.mouth.patch.rect
    outside = np.ones(idle.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert np.array_equal(spoken[outside], idle[outside])
    assert not np.array_equal(spoken, idle)
