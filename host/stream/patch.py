"""A rendered overlay layer, stored ready to blend so each frame costs only integer math.

Text is drawn by Pillow once per distinct content; what the program does every frame is
`frame = frame * (1 - alpha) + colour * alpha` over the patch's box, on uint16 arrays with
alpha pre-scaled to 0..256 so that the division is a shift. Alpha is stored once per
channel: broadcasting a (h, w, 1) array costs ten times more than the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Patch:
    x: int
    y: int
    premultiplied: np.ndarray  # uint16 (h, w, 3): colour * alpha256
    inverse_alpha: np.ndarray  # uint16 (h, w, 3): 256 - alpha256, repeated per channel

    @classmethod
    def from_image(cls, image: Image.Image, x: int, y: int) -> Patch:
        """A patch from an RGBA image whose top-left corner goes at (x, y), cropped to its ink."""
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint16)
        alpha = rgba[:, :, 3:4]
        rows = np.flatnonzero(alpha.any(axis=(1, 2)))
        cols = np.flatnonzero(alpha.any(axis=(0, 2)))
        if rows.size == 0:
            return cls(x, y, np.zeros((0, 0, 3), np.uint16), np.zeros((0, 0, 3), np.uint16))
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        rgba = rgba[top:bottom, left:right]
        alpha256 = rgba[:, :, 3:4] + (rgba[:, :, 3:4] >> 7)
        return cls(
            x + int(left),
            y + int(top),
            np.ascontiguousarray(rgba[:, :, :3] * alpha256),
            np.ascontiguousarray(np.repeat(256 - alpha256, 3, axis=2)),
        )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the inked box."""
        return self.premultiplied.shape[1], self.premultiplied.shape[0]

    def blend_onto(self, frame: np.ndarray) -> None:
        """Alpha-blend into `frame` (RGB uint8) in place; parts outside the frame are cut off."""
        h, w = self.premultiplied.shape[:2]
        top, left = max(self.y, 0), max(self.x, 0)
        bottom, right = min(self.y + h, frame.shape[0]), min(self.x + w, frame.shape[1])
        if bottom <= top or right <= left:
            return
        rows = slice(top - self.y, bottom - self.y)
        cols = slice(left - self.x, right - self.x)
        region = frame[top:bottom, left:right]
        mixed = region * self.inverse_alpha[rows, cols]
        mixed += self.premultiplied[rows, cols]
        mixed >>= 8
        region[:] = mixed
