"""The photo animator: a real person's photo, lip-synced and blinking, fast on one core.

At load the photo is scaled into the program frame over a blurred, darkened fill of
itself (head in the upper middle, the bottom third left to captions and product cards),
and the face's warps are prepared on that composed frame. A frame is then a copy of it
with the mouth and eye regions re-warped (`host.face.mouth_warp`). Motion depends only on
the frame index and the seed, so idle and speaking frames at one position differ only in
the mouth region, and any process can render any chunk.
"""

from __future__ import annotations

import cv2
import numpy as np

from host.face.avatars import StoredAvatar
from host.face.base import MouthPose, PosedAnimator
from host.face.blinks import eyelid_closure
from host.face.landmarks import Face, Rect
from host.face.mouth_warp import FaceRig, animate, build_rig

FACE_WIDTH = 0.42  # of the frame width, at most
FACE_HEIGHT = 0.30  # of the frame height, at most
FACE_CENTRE_Y = 0.33  # where the face's centre sits, in frame heights
_FEATHER = 0.04  # soft edge of the photo over its fill, in frame widths


def compose(photo: np.ndarray, face: Face, width: int, height: int) -> tuple[np.ndarray, Face]:
    """The photo placed in a width x height frame, and the face's landmarks in that frame."""
    fx, fy, fw, fh = face.box
    scale = min(FACE_WIDTH * width / fw, FACE_HEIGHT * height / fh)
    dx = width / 2 - (fx + fw / 2) * scale
    dy = FACE_CENTRE_Y * height - (fy + fh / 2) * scale
    affine = np.array([[scale, 0, dx], [0, scale, dy]], np.float64)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    placed = cv2.warpAffine(photo, affine, (width, height), flags=interpolation)
    coverage = cv2.warpAffine(
        np.full(photo.shape[:2], 255, np.uint8), affine, (width, height), flags=cv2.INTER_LINEAR
    )
    feather = max(3, round(_FEATHER * width)) | 1
    eroded = cv2.erode(coverage, np.ones((feather, feather), np.uint8))
    alpha = cv2.GaussianBlur(eroded, (feather, feather), 0).astype(np.float32)[..., None] / 255
    fill = _fill(photo, width, height)
    frame = (placed * alpha + fill * (1 - alpha)).astype(np.uint8)
    return frame, face.scaled(scale, dx, dy)


def _fill(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photo scaled to cover the whole frame, blurred and darkened: a backdrop that matches."""
    h, w = photo.shape[:2]
    cover = max(width / w, height / h)
    big = cv2.resize(photo, (max(width, round(w * cover)), max(height, round(h * cover))))
    x0, y0 = (big.shape[1] - width) // 2, (big.shape[0] - height) // 2
    small = cv2.resize(
        big[y0 : y0 + height, x0 : x0 + width], (max(1, width // 16), max(1, height // 16))
    )
    blurred = cv2.resize(
        cv2.GaussianBlur(small, (0, 0), 2), (width, height), interpolation=cv2.INTER_LINEAR
    )
    return (blurred.astype(np.float32) * 0.55).astype(np.uint8)


class PhotoAnimator(PosedAnimator):
    """`Animator` over one photo avatar (an RGB image and its face landmarks)."""

    def __init__(
        self,
        photo: np.ndarray,
        face: Face,
        width: int = 720,
        height: int = 1280,
        fps: int = 25,
        seed: int = 7,
    ) -> None:
        self.width, self.height, self.fps, self.seed = width, height, fps, seed
        base, self.face = compose(photo, face, width, height)
        base.setflags(write=False)
        self._base = base
        self.rig: FaceRig = build_rig(self.face, base.shape)
        self.mouth_box: Rect = self.rig.mouth_box
        self.eye_box: Rect = self.rig.eye_box

    @classmethod
    def from_avatar(
        cls,
        avatar: StoredAvatar,
        width: int = 720,
        height: int = 1280,
        fps: int = 25,
        seed: int = 7,
    ) -> PhotoAnimator:
        """The animator of a stored avatar (`host.face.avatars.load_avatar`)."""
        return cls(avatar.image(), avatar.face(), width, height, fps, seed)

    def _render(self, frame_index: int, pose: MouthPose | None) -> np.ndarray:
        frame = self._base.copy()
        animate(frame, self._base, self.rig, pose, eyelid_closure(frame_index, self.fps, self.seed))
        return frame
