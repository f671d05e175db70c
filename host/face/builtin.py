"""The built-in animator: the illustrated avatar, idling and lip-synced, fast on one core.

All pictures are drawn once (`draw_avatar`); a frame is a copy of a prepared backdrop, the
head blended in at a one- or two-pixel offset, and two small opaque sprites (eyes, mouth).
Motion depends only on the frame index and the seed, so idle and speech frames at the same
position differ only in the mouth, and any process can render any chunk.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from host.face.avatar_art import (
    MOUTH_LEVELS,
    AvatarArt,
    EyeState,
    Layer,
    LookName,
    Rect,
    draw_avatar,
)
from host.face.base import MouthPose
from host.face.blinks import eyelid_closure, unit_hash
from host.voice.base import MouthShape

# (period s, amplitude px): breathing lifts the shoulders and head, the head nods and sways
_BREATH = (4.1, 1.0)
_NOD = (2.9, 1.0)
_SWAY = (5.3, 1.0)
_REACH = (1, 2)  # largest |dx|, |dy| of the head those can add up to


def _paste(dst: np.ndarray, layer: Layer, x: int, y: int) -> None:
    """Blend a premultiplied layer onto dst at (x, y), clipped to dst."""
    h, w = layer.alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, dst.shape[1]), min(y + h, dst.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    src = np.s_[y0 - y : y1 - y, x0 - x : x1 - x]
    inv = cv2.merge([255 - layer.alpha[src]] * 3)
    roi = dst[y0:y1, x0:x1]
    roi[:] = cv2.add(cv2.multiply(roi, inv, scale=1 / 255), layer.rgb[src])


class IllustratedAnimator:
    """`Animator` over a built-in illustrated host (`look`: see `avatar_art.LOOKS`)."""

    def __init__(
        self,
        width: int = 720,
        height: int = 1280,
        fps: int = 25,
        seed: int = 7,
        look: LookName = "female",
    ) -> None:
        self.width, self.height, self.fps, self.seed = width, height, fps, seed
        self.look = look
        self._art: AvatarArt = draw_avatar(width, height, look)
        self._bases: dict[int, np.ndarray] = {}
        self._phases = tuple(2 * math.pi * unit_hash(seed, -k) for k in range(1, 4))
        self._head_inv = cv2.merge([255 - self._art.head.alpha] * 3)
        self.mouth_box: Rect = self._frame_box(self._art.mouth_rect)
        self.eye_box: Rect = self._frame_box(self._art.eyes_rect)

    def _frame_box(self, rect: Rect) -> Rect:
        """A head-layer rect in frame coordinates, grown to cover every motion offset."""
        x, y, w, h = rect
        rx, ry = _REACH
        return self._art.head.x + x - rx, self._art.head.y + y - ry, w + 2 * rx, h + 2 * ry

    def _base(self, lift: int) -> np.ndarray:
        """Backdrop with the body at a breathing offset, composed once per offset."""
        if lift not in self._bases:
            base = self._art.backdrop.copy()
            _paste(base, self._art.body, self._art.body.x, self._art.body.y + lift)
            base.setflags(write=False)
            self._bases[lift] = base
        return self._bases[lift]

    def motion(self, frame_index: int) -> tuple[int, int, int]:
        """(head dx, head dy, body dy) in pixels at this frame."""
        t = frame_index / self.fps

        def wave(spec: tuple[float, float], phase: float) -> int:
            period, amplitude = spec
            return round(amplitude * math.sin(2 * math.pi * t / period + phase))

        breath = wave(_BREATH, self._phases[0])
        return wave(_SWAY, self._phases[2]), breath + wave(_NOD, self._phases[1]), breath

    def eyes(self, frame_index: int) -> EyeState:
        """The shared blink schedule (host/face/blinks.py), so any frame is O(1)."""
        closure = eyelid_closure(frame_index, self.fps, self.seed)
        return "open" if closure == 0 else "closed" if closure == 1 else "half"

    def _render(self, frame_index: int, mouth: tuple[MouthShape, int]) -> np.ndarray:
        dx, dy, lift = self.motion(frame_index)
        art = self._art
        out = self._base(lift).copy()
        hx, hy = art.head.x + dx, art.head.y + dy
        h, w = art.head.alpha.shape
        roi = out[hy : hy + h, hx : hx + w]
        roi[:] = cv2.add(cv2.multiply(roi, self._head_inv, scale=1 / 255), art.head.rgb)
        state = self.eyes(frame_index)
        if state != "open":
            ex, ey, ew, eh = art.eyes_rect
            out[hy + ey : hy + ey + eh, hx + ex : hx + ex + ew] = art.eyes[state]
        if mouth != ("rest", 0):
            mx, my, mw, mh = art.mouth_rect
            out[hy + my : hy + my + mh, hx + mx : hx + mx + mw] = art.mouths[mouth]
        return out

    def idle(self, frame_index: int) -> np.ndarray:
        return self._render(frame_index, ("rest", 0))

    def set_backdrop(self, image: np.ndarray) -> bool:
        """The illustrated host stands in front of any set; her own room is the default."""
        if image.shape != self._art.backdrop.shape:
            raise ValueError(f"backdrop is {image.shape}, frames are {self._art.backdrop.shape}")
        self._art = dataclasses.replace(self._art, backdrop=image)
        self._bases.clear()
        return True

    def speak(self, poses: Sequence[MouthPose], start_frame: int) -> Iterator[np.ndarray]:
        for i, pose in enumerate(poses):
            level = round(min(max(pose.open, 0.0), 1.0) * (MOUTH_LEVELS - 1))
            yield self._render(start_frame + i, (pose.shape, level))
