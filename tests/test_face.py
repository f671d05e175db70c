"""The built-in animator and the mouth track, checked from rendered pixels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from host.config import Settings
from host.face.avatar_art import LOOKS, LookName, draw_avatar
from host.face.base import MouthPose
from host.face.builtin import IllustratedAnimator
from host.face.mouth import mouth_track
from host.face.wear import build_animator, builtin_look
from host.voice.base import Viseme
from host.voice.registry import voice_gender
from tests.face_metrics import eye_darkness, eyes_closed, h264_round_trip, mouth_openness

RATE = 48_000
FPS = 25
SPF = RATE // FPS


def _speech_like(seconds: float = 10.0, seed: int = 1) -> np.ndarray:
    """Voiced syllable bursts of varied loudness, short gaps, and longer pauses between phrases."""
    rng = np.random.default_rng(seed)
    env = np.zeros(int(seconds * RATE), np.float32)
    t = 0.3
    while t < seconds - 1.0:
        for _ in range(rng.integers(3, 7)):
            dur = rng.uniform(0.12, 0.3)
            n = int(dur * RATE)
            start = int(t * RATE)
            env[start : start + n] = rng.uniform(0.15, 0.9) * np.hanning(n) ** 0.5
            t += dur + rng.uniform(0.03, 0.1)
        t += rng.uniform(0.45, 0.8)
    time = np.arange(len(env)) / RATE
    f0 = 170 + 30 * np.sin(2 * np.pi * 0.7 * time)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6)) + 0.1 * rng.standard_normal(len(env))
    return (env * voiced / 2 * 32767).astype(np.int16)


def _rms(pcm: np.ndarray) -> np.ndarray:
    n = -(-len(pcm) // SPF)
    x = np.zeros(n * SPF, np.float64)
    x[: len(pcm)] = pcm / 32767
    return np.sqrt((x.reshape(n, SPF) ** 2).mean(axis=1))


def _lagged_corr(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """Correlation of a[k] with b[k + lag]."""
    if lag < 0:
        return _lagged_corr(b, a, -lag)
    return float(np.corrcoef(a[: len(a) - lag], b[lag:])[0, 1])


@pytest.fixture(scope="module")
def animator() -> IllustratedAnimator:
    return IllustratedAnimator(720, 1280, FPS)


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, list[np.ndarray]]:
    pcm = _speech_like()
    anim = IllustratedAnimator(720, 1280, FPS)
    return pcm, list(anim.speak(mouth_track(pcm, RATE, FPS), start_frame=100))


@pytest.mark.parametrize("size", [(720, 1280), (1280, 720), (512, 512)])
def test_frames_are_fresh_rgb_arrays_of_the_program_size(size: tuple[int, int]) -> None:
    anim = IllustratedAnimator(*size)
    assert (anim.width, anim.height) == size
    first = anim.idle(0)
    spoken = next(anim.speak([MouthPose(1.0, "open")], 0))
    for frame in (first, spoken):
        assert frame.shape == (size[1], size[0], 3) and frame.dtype == np.uint8
    first[:] = 0
    assert anim.idle(0).any()


@pytest.mark.parametrize("size", [(720, 1280), (1280, 720)])
def test_face_sits_in_the_upper_middle_leaving_the_bottom_third_free(size: tuple[int, int]) -> None:
    anim = IllustratedAnimator(*size)
    w, h = size
    for x, y, bw, bh in (anim.mouth_box, anim.eye_box):
        assert w * 0.25 < x and x + bw < w * 0.75
        assert y > 0 and y + bh < h * 2 / 3
    assert anim.eye_box[1] + anim.eye_box[3] <= anim.mouth_box[1]


def test_landscape_mouth_opens_and_eyes_shut_there_too() -> None:
    anim = IllustratedAnimator(1280, 720)
    wide_open = next(anim.speak([MouthPose(1.0, "open")], 0))
    assert mouth_openness(wide_open, anim.mouth_box) > 0.1
    assert mouth_openness(anim.idle(0), anim.mouth_box) == 0
    blink = next(i for i in range(400) if anim.eyes(i) == "closed")
    assert eyes_closed(anim.idle(blink), anim.eye_box)
    assert not eyes_closed(anim.idle(blink + 10), anim.eye_box)


@pytest.mark.parametrize(
    ("n", "rate", "fps"),
    [
        (48_000, 48_000, 25),
        (48_001, 48_000, 25),
        (22_050 * 3 + 7, 22_050, 25),
        (16_000, 16_000, 30),
        (1, 48_000, 25),
        (0, 48_000, 25),
    ],
)
def test_mouth_track_has_one_pose_per_started_frame(n: int, rate: int, fps: int) -> None:
    pcm = (np.sin(np.arange(n) / 7) * 8000).astype(np.int16)
    assert len(mouth_track(pcm, rate, fps)) == math.ceil(n / (rate / fps))


def test_mouth_opening_tracks_the_audio_envelope_without_lag(speech) -> None:
    pcm, frames = speech
    box = IllustratedAnimator(720, 1280, FPS).mouth_box
    mouth = np.array([mouth_openness(f, box) for f in frames])
    rms = _rms(pcm)
    assert len(mouth) == len(rms)
    at_zero = _lagged_corr(mouth, rms, 0)
    assert at_zero > 0.8
    for lag in (*range(-8, -1), *range(2, 9)):
        assert at_zero > _lagged_corr(mouth, rms, lag), lag


def test_mouth_is_closed_in_pauses(speech) -> None:
    pcm, frames = speech
    box = IllustratedAnimator(720, 1280, FPS).mouth_box
    rms = _rms(pcm)
    silent = (rms == 0) & (np.roll(rms, 1) == 0) & (np.roll(rms, -1) == 0)
    assert silent.sum() > 30
    poses = mouth_track(pcm, RATE, FPS)
    assert all(poses[k].open == 0 and poses[k].shape == "rest" for k in np.flatnonzero(silent))
    assert max(mouth_openness(frames[k], box) for k in np.flatnonzero(silent)) == 0
    speaking = rms > 0.2 * rms.max()
    assert min(mouth_openness(frames[k], box) for k in np.flatnonzero(speaking)) > 0.02


def test_quiet_voice_opens_the_mouth_as_wide_as_a_loud_one() -> None:
    """Openness is normalised to the utterance, so a quiet TTS voice still moves the lips."""
    pcm = _speech_like(4.0)
    loud = [p.open for p in mouth_track(pcm, RATE, FPS)]
    quiet = [p.open for p in mouth_track((pcm // 8).astype(np.int16), RATE, FPS)]
    assert max(quiet) > 0.9 and np.allclose(loud, quiet, atol=0.08)


def test_hiss_below_the_noise_floor_keeps_the_mouth_closed() -> None:
    hiss = (np.random.default_rng(3).standard_normal(RATE) * 40).astype(np.int16)
    assert {p.open for p in mouth_track(hiss, RATE, FPS)} == {0.0}


def test_visemes_choose_the_shape_at_each_frame_centre() -> None:
    pcm = (np.sin(np.arange(RATE) * 2 * np.pi * 200 / RATE) * 12000).astype(np.int16)
    visemes = (Viseme(0.0, 0.3, "round"), Viseme(0.3, 0.5, "closed"), Viseme(0.5, 0.9, "wide"))
    shapes = [p.shape for p in mouth_track(pcm, RATE, FPS, visemes)]
    assert shapes[:7] == ["round"] * 7  # centres 0.02 .. 0.26 s
    assert shapes[8:12] == ["closed"] * 4
    assert shapes[13:22] == ["wide"] * 9
    assert shapes[23:] == ["open"] * 2  # no viseme there: from the level


def test_mouth_measure_survives_h264(speech) -> None:
    _, frames = speech
    box = IllustratedAnimator(720, 1280, FPS).mouth_box
    clip = frames[:100]
    decoded = h264_round_trip(clip, FPS)
    before = np.array([mouth_openness(f, box) for f in clip])
    after = np.array([mouth_openness(f, box) for f in decoded])
    assert np.corrcoef(before, after)[0, 1] > 0.98
    assert np.abs(before - after).max() < 0.02


def test_idle_blinks_every_few_seconds_and_keeps_eyes_open_mostly(
    animator: IllustratedAnimator,
) -> None:
    closed = np.array([eyes_closed(animator.idle(i), animator.eye_box) for i in range(10 * FPS)])
    starts = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
    assert len(starts) >= 2
    assert all(2.3 * FPS <= gap <= 6.2 * FPS for gap in np.diff(starts))
    assert closed.mean() < 0.1
    assert (
        min(
            eye_darkness(animator.idle(i), animator.eye_box)
            for i in range(0, 250, 5)
            if not closed[i]
        )
        > 0.07
    )


def test_blink_schedule_depends_on_the_seed() -> None:
    a, b = IllustratedAnimator(seed=1), IllustratedAnimator(seed=2)
    assert [a.eyes(i) for i in range(500)] != [b.eyes(i) for i in range(500)]
    assert [a.eyes(i) for i in range(500)] == [
        IllustratedAnimator(seed=1).eyes(i) for i in range(500)
    ]


def test_idle_is_never_frozen_for_a_second(animator: IllustratedAnimator) -> None:
    moved, previous = [], animator.idle(0)
    for i in range(1, 20 * FPS):
        frame = animator.idle(i)
        moved.append(not np.array_equal(previous, frame))
        previous = frame
    assert all(any(moved[i : i + FPS]) for i in range(len(moved) - FPS))
    assert np.mean(moved) < 0.6  # a gentle drift, not a jitter


def test_idle_motion_stays_within_a_few_pixels(animator: IllustratedAnimator) -> None:
    poses = [animator.pose(i) for i in range(60 * FPS)]
    head = np.array([(p.head_x, p.head_y, p.face_x, p.face_y, p.lift) for p in poses])
    assert np.abs(head).max() < 8  # a gentle drift, never a jump
    assert (np.ptp(head, axis=0) > 1).all()  # and every part of it moves
    assert {(p.reach_left, p.reach_right) for p in poses} == {(0.0, 0.0)}  # hands at rest


def _idle_poses(animator: IllustratedAnimator, seconds: int) -> np.ndarray:
    return np.array(
        [
            (p.head_x, p.head_y, p.face_x, p.face_y, p.lift)
            for p in map(animator.pose, range(seconds * FPS))
        ]
    )


def test_idle_motion_never_repeats_within_a_minute(animator: IllustratedAnimator) -> None:
    """No frame's pose recurs 1 to 60 s later, and no second of motion replays a pixel's
    worth alike: a viewer watching a minute sees no loop."""
    poses = _idle_poses(animator, 62)
    n = len(poses)
    window = FPS  # one second of motion
    closest = np.inf
    for lag in range(FPS, 60 * FPS + 1):
        same = np.abs(poses[lag:] - poses[: n - lag]).max(axis=1)
        assert (same > 0).all(), f"a pose recurs {lag / FPS:.2f} s later"
        worst = np.lib.stride_tricks.sliding_window_view(same, window).max(axis=1)
        closest = min(closest, float(worst.min()))
    assert closest > 0.5, f"a second of motion replays within {closest:.2f} px"


@pytest.mark.parametrize("start", [0, 137, 10_000_001])
def test_speech_starts_where_idle_is_and_differs_only_at_the_mouth(
    animator: IllustratedAnimator, start: int
) -> None:
    spoken = next(animator.speak([MouthPose(0.8, "open")], start))
    idle = animator.idle(start)
    x, y, w, h = animator.mouth_box
    inside = np.zeros(idle.shape[:2], bool)
    inside[y : y + h, x : x + w] = True
    changed = (spoken != idle).any(axis=2)
    assert changed[inside].any()
    assert not changed[~inside].any()


def test_blinks_keep_running_during_speech(animator: IllustratedAnimator) -> None:
    blink = next(i for i in range(200, 600) if animator.eyes(i) == "closed")
    frames = list(animator.speak([MouthPose(0.6, "open")] * 20, blink - 10))
    assert eyes_closed(frames[10], animator.eye_box)
    assert not eyes_closed(frames[0], animator.eye_box)


def test_every_shape_opens_wider_with_level(animator: IllustratedAnimator) -> None:
    for shape in ("rest", "open", "wide", "round"):
        frames = animator.speak([MouthPose(k / 4, shape) for k in range(5)], 0)
        measured = [mouth_openness(f, animator.mouth_box) for f in frames]
        assert measured == sorted(measured) and measured[-1] > measured[0] + 0.05, shape
    pressed = animator.speak([MouthPose(1.0, "closed")], 0)
    assert mouth_openness(next(pressed), animator.mouth_box) == 0


# --- one look per bundled voice --------------------------------------------------------


@pytest.mark.parametrize("look", list(LOOKS))
@pytest.mark.parametrize("size", [(720, 1280), (1280, 720)])
def test_every_look_opens_its_mouth_and_blinks(look: LookName, size: tuple[int, int]) -> None:
    anim = IllustratedAnimator(*size, look=look)
    wide_open = next(anim.speak([MouthPose(1.0, "open")], 0))
    assert mouth_openness(wide_open, anim.mouth_box) > 0.1
    assert mouth_openness(anim.idle(0), anim.mouth_box) == 0
    blink = next(i for i in range(400) if anim.eyes(i) == "closed")
    assert eyes_closed(anim.idle(blink), anim.eye_box)
    assert not eyes_closed(anim.idle(blink + 10), anim.eye_box)


def lowest_hair_row(look: LookName) -> int:
    """The lowest row of the head layer where the look's hair colour shows."""
    art = draw_avatar(720, 1280, look)
    hair = np.abs(art.head.rgb.astype(int) - LOOKS[look].hair).sum(axis=2) < 30
    return int(np.flatnonzero((hair & (art.head.alpha == 255)).sum(axis=1) > 3).max())


def test_the_two_looks_differ_where_a_viewer_sees_it_and_share_every_sprite_box() -> None:
    female, male = draw_avatar(720, 1280, "female"), draw_avatar(720, 1280, "male")
    assert (female.eyes_rect, female.mouth_rect) == (male.eyes_rect, male.mouth_rect)
    assert lowest_hair_row("female") > female.mouth_rect[1] + female.mouth_rect[3]  # long hair
    assert lowest_hair_row("male") < male.eyes_rect[1] + male.eyes_rect[3]  # above the ears
    assert (male.torso.alpha > 0).sum() > (female.torso.alpha > 0).sum() * 1.03  # broader
    top = female.mouth_rect[1]  # the faces, down to the mouth: hair, brows, eyes, skin
    differs = np.abs(female.head.rgb[:top].astype(int) - male.head.rgb[:top].astype(int))
    assert (differs.sum(axis=2) > 60).mean() > 0.1
    clothes = np.abs(female.torso.rgb.astype(int) - male.torso.rgb.astype(int)).sum(axis=2)
    assert (clothes > 60).mean() > 0.3


def test_the_default_host_looks_like_the_bundled_voices_sound(settings: Settings) -> None:
    assert (voice_gender(settings, "en"), voice_gender(settings, "zh")) == ("male", "male")
    assert builtin_look(settings) == "male"
    worn = build_animator(settings)
    assert isinstance(worn, IllustratedAnimator) and worn.look == "male"
    chosen = settings.model_copy(update={"host_look": "female"})
    assert builtin_look(chosen) == "female"
    server = settings.model_copy(update={"voice_en": "openai", "voice_zh": "openai"})
    assert voice_gender(server, "en") is None  # a server's voice is the user's to describe
    assert builtin_look(server) == "female"
    own_piper = settings.model_copy(update={"piper_model_en": Path("/models/amy.onnx")})
    assert voice_gender(own_piper, "en") is None
