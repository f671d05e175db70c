"""Loop-video avatars: the loop is cut from a synthetic streamer video and played back warped."""

from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data

import host.face.landmarks
import host.face.loop
from host.face.base import Animator, MouthPose
from host.face.landmarks import FaceError
from host.face.loop import LoopInfo, build_loop
from host.face.loop_animator import LoopAnimator
from host.face.mouth_bank import BANK
from tests.face_metrics import mouth_openness

FPS = 25
SIZE = (448, 576)  # width, height of the "streamer" video


def _streamer_video(path: Path, seconds: float = 10.0, face: bool = True) -> Path:
    """The astronaut (public domain) with slow breathing-like sway, zoom and light drift."""
    image = data.astronaut() if face else np.full((512, 512, 3), 120, np.uint8)
    w, h = SIZE
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for k in range(round(seconds * FPS)):
            t = k / FPS
            scale = 1.0 + 0.02 * math.sin(2 * math.pi * t / 6.1)
            dx = w / 2 - 256 * scale + 6 * math.sin(2 * math.pi * t / 5.3)
            dy = h / 2 - 256 * scale + 4 * math.sin(2 * math.pi * t / 3.7)
            affine = np.array([[scale, 0, dx], [0, scale, dy]])
            frame = cv2.warpAffine(image, affine, (w, h), borderMode=cv2.BORDER_REFLECT)
            light = 1.0 + 0.05 * math.sin(2 * math.pi * t / 7.0)
            picture = np.clip(frame * light, 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return path


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def streamer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _streamer_video(tmp_path_factory.mktemp("media") / "streamer.mp4", seconds=7.0)


@pytest.fixture(scope="module")
def loop(streamer: Path, tmp_path_factory: pytest.TempPathFactory) -> LoopInfo:
    return build_loop(streamer, tmp_path_factory.mktemp("avatar"), seconds=4.0)


@pytest.fixture(scope="module")
def animator(loop: LoopInfo) -> LoopAnimator:
    return LoopAnimator(loop.video.parent, 360, 640, FPS)


def test_loop_has_the_requested_length_with_landmarks_for_every_frame(loop: LoopInfo) -> None:
    frames = _decode(loop.video)
    assert loop.frames == len(frames) == 100
    assert frames[0].shape == (SIZE[1], SIZE[0], 3)
    with np.load(loop.landmarks) as stored:
        points = stored["points"]
    assert points.shape == (100, 478, 3)
    assert np.isfinite(points).all() and (points[:, :, :2] > 0).all()


def test_the_seam_jumps_no_more_than_motion_inside_the_loop(loop: LoopInfo) -> None:
    frames = np.stack(_decode(loop.video)).astype(np.float32)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    seam = float(np.abs(frames[0] - frames[-1]).mean())
    assert seam <= np.percentile(steps, 95), (seam, np.percentile(steps, [50, 95]))


def test_a_second_build_reuses_the_cached_loop_without_the_face_mesh(
    streamer: Path, loop: LoopInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_mesh(*args: object, **kwargs: object) -> None:
        raise AssertionError("face mesh ran again")

    monkeypatch.setattr(host.face.loop, "FaceMesh", no_mesh)
    monkeypatch.setattr(host.face.landmarks, "FaceMesh", no_mesh)
    assert build_loop(streamer, loop.video.parent, seconds=4.0) == loop
    anim = LoopAnimator(loop.video.parent, 200, 320, FPS)
    next(anim.speak([MouthPose(1.0)], 3))
    anim.close()


def test_a_loop_whose_lips_never_move_keeps_no_mouths_and_is_warped(
    loop: LoopInfo, animator: LoopAnimator
) -> None:
    assert not (loop.video.parent / BANK).exists()
    assert animator.bank is None
    idle, spoken = animator.idle(30), next(animator.speak([MouthPose(1.0)], 30))
    box = animator.rig(30).mouth_box
    assert mouth_openness(spoken, box) > mouth_openness(idle, box) + 0.1


def test_a_video_without_a_face_is_refused(tmp_path: Path) -> None:
    media = _streamer_video(tmp_path / "wall.mp4", seconds=2.0, face=False)
    with pytest.raises(FaceError, match="no steady stretch"):
        build_loop(media, tmp_path / "out")
    assert not (tmp_path / "out" / "loop.json").exists()


def test_unreadable_media_is_refused(tmp_path: Path) -> None:
    media = tmp_path / "clip.mp4"
    media.write_bytes(b"not a video at all")
    with pytest.raises(FaceError, match=r"cannot read clip\.mp4"):
        build_loop(media, tmp_path / "out")


def test_animator_satisfies_the_protocol_at_program_sizes(
    loop: LoopInfo, animator: LoopAnimator
) -> None:
    face: Animator = animator
    assert face.idle(0).shape == (640, 360, 3)
    square = LoopAnimator(loop.video.parent, 512, 512, FPS)
    frames = [square.idle(7), next(square.speak([MouthPose(0.8, "round")], 8))]
    assert all(f.shape == (512, 512, 3) and f.dtype == np.uint8 for f in frames)
    square.close()


def test_mouth_opening_follows_the_pose(animator: LoopAnimator) -> None:
    levels = [0.5 + 0.5 * math.sin(k / 2.3) for k in range(40)]
    start = 30
    spoken = list(animator.speak([MouthPose(v, "open") for v in levels], start))
    openness = []
    for i, frame in enumerate(spoken):
        box = animator.rig(start + i).mouth_box
        openness.append(mouth_openness(frame, box) - mouth_openness(animator.idle(start + i), box))
    assert np.corrcoef(levels, openness)[0, 1] > 0.9
    assert max(openness) > 0.1 and min(openness) >= 0.0


def test_idle_frames_move_and_repeat_each_loop(animator: LoopAnimator) -> None:
    first = animator.idle(2).astype(np.int16)
    later = animator.idle(40).astype(np.int16)
    in_order = animator.idle(41)  # decoded forward from frame 40
    assert np.abs(first - later).mean() > 2.0  # sway, zoom and light of the real footage
    again = animator.idle(2 + animator.frames).astype(np.int16)  # wrapped round, then sought
    assert np.abs(first - again).mean() < 0.5
    assert np.array_equal(animator.idle(41), in_order)  # sought back after the wrap
