"""The built-in animator: an illustrated presenter, idling, talking and pointing, fast on one core.

All pictures are drawn once (`draw_avatar`); a frame is a copy of a prepared backdrop with
the torso at its breathing offset, two arm sprites at their quantised reach, the head
blended in at its offset, and two small opaque face sprites (eyes, mouth) placed on the
head a few pixels off centre to turn and nod it. About six small blends per frame.
Motion depends on the frame index, the seed, the sentence's own mouth track (nods) and the
`present` hint (gesture), so idle and speech frames at one position differ only in the
mouth and the nods, and any process can render any chunk.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from host.face.avatar_art import MOUTH_LEVELS, AvatarArt, EyeState, LookName, draw_avatar
from host.face.avatar_body import ARM_LEVELS
from host.face.avatar_looks import Geometry
from host.face.base import MouthPose, Side
from host.face.blinks import eyelid_closure
from host.face.canvas import Layer, Rect
from host.face.host_motion import Gesture, Pose, Ranges, nods, pose_at
from host.voice.base import MouthShape


class _Sprite:
    """A layer with its inverse alpha ready for blending (cv2 arithmetic, no float temporaries)."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.inv = cv2.merge([255 - layer.alpha] * 3)

    def paste(self, dst: np.ndarray, dx: int, dy: int) -> None:
        layer = self.layer
        h, w = layer.alpha.shape
        x, y = layer.x + dx, layer.y + dy
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, dst.shape[1]), min(y + h, dst.shape[0])
        if x0 >= x1 or y0 >= y1:
            return
        src = np.s_[y0 - y : y1 - y, x0 - x : x1 - x]
        roi = dst[y0:y1, x0:x1]
        roi[:] = cv2.add(cv2.multiply(roi, self.inv[src], scale=1 / 255), layer.rgb[src])


class IllustratedAnimator:
    """`Animator` over a built-in illustrated host (`look`: see `avatar_looks.LOOKS`)."""

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
        self._size = Ranges.for_face(Geometry.for_frame(width, height).a)
        self.gesture = Gesture(fps)
        self._bases: dict[int, np.ndarray] = {}
        self._head = _Sprite(self._art.head)
        self._arms = {key: _Sprite(layer) for key, layer in self._art.arms.items()}
        self.mouth_box: Rect = self._frame_box(self._art.mouth_rect, self._art.lips_only)
        self.eye_box: Rect = self._frame_box(self._art.eyes_rect, self._art.eyes_only)

    def _frame_box(self, sprite: Rect, part: Rect) -> Rect:
        """Where a part of a face sprite can be in the frame: its rect grown to cover every
        motion offset (what a test measures the mouth or eyes in)."""
        s = self._size
        rx = math.ceil(s.head_x + s.lean + s.turn + s.look) + 1
        up = math.ceil(s.breath + s.head_y + s.pitch) + 1
        down = math.ceil(s.breath + s.head_y + s.pitch + 1.5 * s.nod) + 1
        x, y, w, h = part
        head = self._art.head
        return head.x + sprite[0] + x - rx, head.y + sprite[1] + y - up, w + 2 * rx, h + up + down

    def _base(self, lift: int) -> np.ndarray:
        """Backdrop with the torso at a breathing offset, composed once per offset."""
        if lift not in self._bases:
            base = self._art.backdrop.copy()
            _Sprite(self._art.torso).paste(base, 0, lift)
            base.setflags(write=False)
            self._bases[lift] = base
        return self._bases[lift]

    def present(self, side: Side | None, frame_index: int) -> None:
        self.gesture.present(side, frame_index)

    def pose(self, frame_index: int, nod: float = 0.0) -> Pose:
        """Where every part is at this frame (in pixels), before rounding to the pixel grid."""
        return pose_at(frame_index, self.fps, self.seed, self._size, self.gesture, nod)

    def eyes(self, frame_index: int) -> EyeState:
        """The shared blink schedule (host/face/blinks.py), so any frame is O(1)."""
        closure = eyelid_closure(frame_index, self.fps, self.seed)
        return "open" if closure == 0 else "closed" if closure == 1 else "half"

    def _render(
        self, frame_index: int, mouth: tuple[MouthShape, int], nod: float = 0.0
    ) -> np.ndarray:
        art, p = self._art, self.pose(frame_index, nod)
        lift = round(p.lift)
        out = self._base(lift).copy()
        for side, reach in ((-1, p.reach_left), (1, p.reach_right)):
            self._arms[side, round(reach * (ARM_LEVELS - 1))].paste(out, 0, lift)
        hx, hy = round(p.head_x), round(p.head_y)
        self._head.paste(out, hx, hy)
        rx, ry = art.feature_reach
        fx = art.head.x + hx + min(max(round(p.face_x), -rx), rx)
        fy = art.head.y + hy + min(max(round(p.face_y), -ry), ry)
        for (x, y, w, h), sprite in (
            (art.eyes_rect, art.eyes[self.eyes(frame_index)]),
            (art.mouth_rect, art.mouths[mouth]),
        ):
            out[fy + y : fy + y + h, fx + x : fx + x + w] = sprite
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
        for i, (pose, nod) in enumerate(zip(poses, nods(poses, self.fps), strict=True)):
            yield self.speaking(start_frame + i, pose, nod)

    def speaking(self, frame_index: int, pose: MouthPose, nod: float) -> np.ndarray:
        """One frame of `speak`, its nod given (from `nods` over the whole sentence): what a
        render pool draws a sentence with, a chunk at a time."""
        level = round(min(max(pose.open, 0.0), 1.0) * (MOUTH_LEVELS - 1))
        return self._render(frame_index, (pose.shape, level), nod)
