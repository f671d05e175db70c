"""Real mouths on loop avatars and the outline-free photo mouth: seam, motion, cost.

A loop avatar is built from synthetic talking footage (`tests.talking_clip`: the public-
domain astronaut, her mouth warped to a random schedule of shapes; no footage of a real
person talking can be had here), then prints, on one core:
- the seam: the colour step across the blend's edge beyond the face's own shading
  (`tests.face_metrics.seam_delta_e`, CIE76; 2.3 is just noticeable) for the feathered,
  colour-matched blend the animator uses, the same without the colour match, and Poisson
  blending (`cv2.seamlessClone`) for comparison;
- the mouth's motion against the audio envelope (correlation of dark mouth share with
  per-frame RMS, at lags -2..2 frames), for the loop avatar and the photo avatar;
- what a frame costs: the paste alone, a whole speaking frame, an idle frame, and the
  bank's build time at avatar creation;
- the photo mouth's strongest thin dark line (`stroke_contrast`, luma levels).

    python bench/mouth.py [--seconds S]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import cv2
import numpy as np
from machine import pin_to_one_core

from host.face.base import MouthPose
from host.face.loop import _frames, _track, build_loop
from host.face.loop_animator import LoopAnimator
from host.face.mouth import mouth_track
from host.face.mouth_bank import MouthBank, build_bank
from tests.face_metrics import mouth_openness, seam_delta_e, stroke_contrast
from tests.talking_clip import talking_clip
from tests.test_face import FPS, RATE, _lagged_corr, _rms, _speech_like

SIZE = (720, 1280)
SHAPES = ("open", "wide", "round", "teeth")


def _placed(
    bank: MouthBank, under: np.ndarray, mouth: int, placement: np.ndarray
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """The frame region a kept mouth covers, the crop warped there (no colour match), and
    the blend weight there."""
    region = bank._region(placement, under.shape)
    assert region is not None
    rows, cols, local, size = region
    crop = cv2.warpAffine(bank.crops[mouth], local, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(bank.mask, local, size, flags=cv2.INTER_LINEAR)
    return (rows, cols), crop, alpha


def _unmatched(bank: MouthBank, under: np.ndarray, mouth: int, placement: np.ndarray) -> np.ndarray:
    """The crop feathered in as it was filmed, without the colour match."""
    where, crop, alpha = _placed(bank, under, mouth, placement)
    out = under.copy()
    roi = out[where].astype(np.float32)
    out[where] = np.clip(roi + alpha[..., None] * (crop - roi), 0, 255).astype(np.uint8)
    return out


def _poisson(bank: MouthBank, under: np.ndarray, mouth: int, placement: np.ndarray) -> np.ndarray:
    """The crop Poisson-blended (`cv2.seamlessClone`) inside the blend's half-weight line."""
    where, crop, alpha = _placed(bank, under, mouth, placement)
    source = under.copy()
    source[where] = crop
    inside = np.zeros(under.shape[:2], np.uint8)
    inside[where] = (alpha > 0.3).astype(np.uint8) * 255
    ys, xs = np.nonzero(inside)
    centre = ((int(xs.min()) + int(xs.max()) + 1) // 2, (int(ys.min()) + int(ys.max()) + 1) // 2)
    return cv2.seamlessClone(source, under, inside, centre, cv2.NORMAL_CLONE)


def _envelope_corr(frames: list[np.ndarray], boxes: list[tuple[int, int, int, int]]) -> str:
    pcm = _speech_like()
    opening = np.array([mouth_openness(f, b) for f, b in zip(frames, boxes, strict=True)])
    envelope = _rms(pcm)[: len(opening)]
    return "  ".join(
        f"{lag:+d}: {_lagged_corr(envelope, opening, lag):.3f}" for lag in range(-2, 3)
    )


def _box(weight: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(weight > 0.5)
    return int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of talking footage")
    args = parser.parse_args()
    print(pin_to_one_core())
    folder = Path(tempfile.mkdtemp(prefix="bench-mouth-"))
    media = talking_clip(folder / "talk.mp4", seconds=args.seconds, size=(720, 960), zoom=2.2)
    build_loop(media, folder / "avatar", seconds=min(8.0, args.seconds - 1.0))
    track = _track(media)
    started = time.perf_counter()
    bank = build_bank(_frames(media), track.points)
    print(f"bank: {time.perf_counter() - started:.2f} s for {len(track.points)} frames")
    assert bank is not None
    anim = LoopAnimator(folder / "avatar", *SIZE, FPS)
    assert anim.bank is not None
    print(f"bank: {len(bank.crops)} mouths kept, crop {bank.crops.shape[2]}x{bank.crops.shape[1]}")

    seams: dict[str, list[float]] = {"feathered + colour match": [], "no colour match": []}
    seams["Poisson (seamlessClone)"] = []
    poisson_ms: list[float] = []
    for k in range(0, anim.frames, max(1, anim.frames // 12)):
        for shape in SHAPES:
            (mouth,) = bank.choose([MouthPose(0.9, shape)])  # type: ignore[arg-type]
            under = anim.frame(k, mouth, blend=False)
            weight = anim.mouth_weight(k)
            placement = anim._placements[k]
            seams["feathered + colour match"].append(
                seam_delta_e(anim.frame(k, mouth), under, weight)
            )
            seams["no colour match"].append(
                seam_delta_e(_unmatched(bank, under, mouth, placement), under, weight)
            )
            started = time.perf_counter()
            poisson = _poisson(bank, under, mouth, placement)
            poisson_ms.append(1000 * (time.perf_counter() - started))
            seams["Poisson (seamlessClone)"].append(seam_delta_e(poisson, under, weight))
    print(f"seam at {SIZE[0]}x{SIZE[1]}, CIE76 beyond the face's own shading (mean / max):")
    for name, values in seams.items():
        print(f"  {name:26s} {np.mean(values):5.2f} / {np.max(values):5.2f}  (n={len(values)})")
    print(f"  Poisson costs {np.median(poisson_ms):.1f} ms a frame (median)")

    under = anim.frame(5, 0, blend=False)
    reps = 200
    started = time.perf_counter()
    for i in range(reps):
        frame = under.copy()
        bank.paste(frame, i % len(bank.crops), anim._placements[5])
    paste = (time.perf_counter() - started) / reps
    poses = mouth_track(_speech_like(), RATE, FPS)
    started = time.perf_counter()
    frames = list(anim.speak(poses, 0))
    speak = (time.perf_counter() - started) / len(frames)
    started = time.perf_counter()
    for i in range(len(frames)):
        anim.idle(i)
    idle = (time.perf_counter() - started) / len(frames)
    print(
        f"cost at {SIZE[0]}x{SIZE[1]}: paste {1000 * paste:.2f} ms; speaking frame (decode, jaw,"
        f" paste) {1000 * speak:.2f} ms; idle frame {1000 * idle:.2f} ms"
    )
    boxes = [_box(anim.mouth_weight(i)) for i in range(len(frames))]
    print(
        f"loop avatar: mouth vs audio envelope, correlation by lag: {_envelope_corr(frames, boxes)}"
    )
    distinct = len(set(bank.choose(poses)))
    print(f"loop avatar: {distinct} distinct kept mouths over {len(poses)} frames of speech")

    from skimage import data

    from host.face.landmarks import detect_faces
    from host.face.photo import PhotoAnimator

    photo = PhotoAnimator(data.astronaut(), detect_faces(data.astronaut())[0], *SIZE, FPS)
    frames = list(photo.speak(poses, 0))
    print(
        "photo avatar: mouth vs audio envelope, correlation by lag: "
        f"{_envelope_corr(frames, [photo.mouth_box] * len(frames))}"
    )
    rest = photo.idle(0)
    line = 0.06 * photo.rig.mouth.width
    worst = max(
        stroke_contrast(
            next(photo.speak([MouthPose(level, shape)], 0)),  # type: ignore[arg-type]
            rest,
            photo.rig.mouth.patch.rect,
            line,
        )
        for shape in SHAPES
        for level in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
    )
    print(f"photo avatar: strongest thin dark line {worst:.0f} luma levels (black-hat rise)")


if __name__ == "__main__":
    main()
