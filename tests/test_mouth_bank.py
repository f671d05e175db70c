"""Loop avatars cut from talking footage speak with the person's own mouths.

The footage is synthetic (`tests.talking_clip`: the public-domain astronaut, her mouth
moved to a random schedule of shapes, swaying): the face mesh, the bank's indexing, the
choice and the blend are the real code, only the mouths in the clip are warped ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from host.commands.avatar import avatar_app
from host.config import Settings
from host.face.base import MouthPose
from host.face.loop import build_loop
from host.face.loop_animator import LoopAnimator
from host.face.mouth import mouth_track
from host.face.mouth_bank import BANK, MouthBank
from host.face.wear import build_animator
from tests.conftest import REPO_ROOT
from tests.face_metrics import look_book_page, mouth_openness, seam_delta_e
from tests.talking_clip import talking_clip
from tests.test_face import FPS, RATE, _lagged_corr, _rms, _speech_like

SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
SEAM_BOUND = (
    2.5  # colour step across the blend's edge (CIE76) beyond the face's own; 2.3 is just noticeable
)


@pytest.fixture(scope="module")
def animator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopAnimator]:
    folder = tmp_path_factory.mktemp("talking")
    build_loop(talking_clip(folder / "talk.mp4", seconds=7.0), folder / "avatar", seconds=4.0)
    anim = LoopAnimator(folder / "avatar", 360, 640, FPS)
    yield anim
    anim.close()


@pytest.fixture(scope="module")
def bank(animator: LoopAnimator) -> MouthBank:
    assert animator.bank is not None, "talking footage must leave a mouth bank"
    return animator.bank


def _mouth_box(anim: LoopAnimator, frame_index: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(anim.mouth_weight(frame_index) > 0.5)
    return int(xs.min()), int(ys.min()), int(xs.ptp()) + 1, int(ys.ptp()) + 1


def test_the_bank_is_stored_with_the_loop_and_spans_the_person_s_mouths(
    animator: LoopAnimator, bank: MouthBank
) -> None:
    assert (animator.info.video.parent / BANK).is_file()
    opening, spread = bank.features[:, 0], bank.features[:, 1]
    assert len(bank.features) >= 16
    assert opening.min() < 0.05 and opening.max() > 0.95
    assert spread.min() < -0.7 and spread.max() > 0.7
    assert bank.crops.shape[1:] == (*bank.mask.shape, 3)


def test_visemes_pick_different_real_mouths(bank: MouthBank) -> None:
    rest, wide_open, rounded, spread = bank.choose(
        [MouthPose(0.0, "rest"), MouthPose(1.0, "open"), MouthPose(1.0, "round")]
    ) + bank.choose([MouthPose(1.0, "wide")])
    assert len({rest, wide_open, rounded, spread}) == 4
    features = bank.features
    assert features[rest, 0] < 0.1 < features[rounded, 0] < features[wide_open, 0]
    assert features[rounded, 1] < -0.5 < 0.5 < features[spread, 1]


def test_a_mouth_is_kept_while_its_pose_barely_changes(bank: MouthBank) -> None:
    wobble = [MouthPose(0.6 + 0.02 * (-1) ** k, "open") for k in range(20)]
    assert len(set(bank.choose(wobble))) == 1


def test_pasted_mouths_stay_within_the_seam_bound(animator: LoopAnimator, bank: MouthBank) -> None:
    poses = [MouthPose(level, shape) for shape in ("open", "round", "wide") for level in (0.4, 1)]
    seams = []
    mouths = bank.choose(poses)
    for k, frame in enumerate(animator.speak(poses, 17)):
        under = animator.frame(17 + k, mouths[k], blend=False)
        seams.append(seam_delta_e(frame, under, animator.mouth_weight(17 + k)))
    assert max(seams) < SEAM_BOUND, seams


def test_the_seam_measure_sees_a_mouth_pasted_without_colour_match(
    animator: LoopAnimator, bank: MouthBank
) -> None:
    (mouth,) = bank.choose([MouthPose(1.0, "open")])
    under = animator.frame(17, mouth, blend=False)
    frame = next(animator.speak([MouthPose(1.0, "open")], 17))
    weight = animator.mouth_weight(17)
    lighter = np.clip(frame + 12.0 * (weight > 0.5)[..., None], 0, 255).astype(np.uint8)
    assert seam_delta_e(lighter, under, weight) > SEAM_BOUND


def test_mouth_motion_follows_the_audio_envelope(animator: LoopAnimator) -> None:
    pcm = _speech_like()
    start = 10
    frames = list(animator.speak(mouth_track(pcm, RATE, FPS), start))
    opening = np.array(
        [mouth_openness(f, _mouth_box(animator, start + i)) for i, f in enumerate(frames)]
    )
    envelope = _rms(pcm)[: len(opening)]
    by_lag = {lag: _lagged_corr(envelope, opening, lag) for lag in range(-3, 4)}
    assert by_lag[0] > 0.8, by_lag
    best = max(by_lag, key=lambda lag: by_lag[lag])
    assert abs(best) <= 1, by_lag


def test_idle_frames_wear_a_closed_mouth_where_the_loop_was_talking(
    animator: LoopAnimator, bank: MouthBank
) -> None:
    points = np.stack([animator.face(k).points for k in range(animator.frames)])
    own = bank.norms.features(points)[:, 0]
    talking = int(np.argmax(own))
    assert own[talking] > 0.5  # the loop was cut from speech
    box = _mouth_box(animator, talking)
    assert mouth_openness(animator.idle(talking), box) < 0.5 * mouth_openness(
        animator.frame(talking, None), box
    )
    rest = animator.frame(talking, bank.rest)
    assert np.array_equal(animator.idle(talking), rest)


def test_a_loop_avatar_mid_word_is_photographed_for_the_look_book(
    animator: LoopAnimator, bank: MouthBank
) -> None:
    """A loop frame wearing kept mouths, with close-ups of rest, mid-word, round and wide;
    SAVE_SCREENSHOTS=1 refreshes docs/screenshots/loop-avatar-mid-word.png."""
    poses = [MouthPose(0.0, "rest"), MouthPose(0.6, "open"), MouthPose(0.9, "round")]
    k = 30
    frames = [next(animator.speak([pose], k)) for pose in [*poses, MouthPose(0.9, "wide")]]
    box = _mouth_box(animator, k)
    x, y, w, h = box
    grown = (x - w // 4, y - h // 4, w + w // 2, h + h // 2)
    labels = ["at rest", "mid-word", "round (oo)", "wide (ee)"]
    shot = look_book_page(frames[1], list(zip(frames, labels, strict=True)), grown)
    assert len(set(bank.choose(poses))) == 3
    if os.environ.get("SAVE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(SCREENSHOTS / "loop-avatar-mid-word.png"), shot[..., ::-1])


@pytest.mark.slow
def test_a_loop_avatar_made_from_talking_video_is_worn_with_its_own_mouths(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI reads .env from where it runs: never the developer's
    media = talking_clip(tmp_path / "lily.mp4", seconds=4.0)
    env = {"VAR_DIR": str(settings.var_dir), "DATABASE_URL": settings.database_url}
    args = ["create", "--from-media", str(media), "--name", "lily", "--kind", "loop"]
    made = CliRunner().invoke(avatar_app, [*args, "--consent", "Lily agreed"], env=env)
    assert made.exit_code == 0, made.output
    assert "real mouths kept from the video" in made.output
    wearing = settings.model_copy(update={"avatar": "lily", "width": 360, "height": 640})
    anim = build_animator(wearing)
    assert isinstance(anim, LoopAnimator) and anim.bank is not None
    frames = list(anim.speak([MouthPose(0.0, "rest"), MouthPose(1.0, "open")], 5))
    box = _mouth_box(anim, 6)
    assert mouth_openness(frames[1], box) > mouth_openness(frames[0], box) + 0.05
    anim.close()
