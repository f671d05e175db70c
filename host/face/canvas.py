"""The drawing surface of the illustrated hosts: supersampled, anti-aliased, premultiplied RGBA.

Shapes are given in output-pixel coordinates and drawn `S` times larger, then shrunk with
area averaging, so every edge is smooth at any frame size. Shading (`rim`) is computed at
output resolution and scaled up, which keeps drawing a whole host well under a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

Rect = tuple[int, int, int, int]  # x, y, w, h
Color = tuple[int, int, int]

S = 4  # supersampling factor of every drawing


@dataclass(frozen=True)
class Layer:
    """A premultiplied RGBA picture placed at (x, y) in the frame."""

    x: int
    y: int
    rgb: np.ndarray  # (h, w, 3) uint8, premultiplied by alpha
    alpha: np.ndarray  # (h, w) uint8


class Canvas:
    """A supersampled premultiplied RGBA canvas addressed in output-pixel coordinates."""

    def __init__(
        self,
        x: int,
        y: int,
        w: int,
        h: int,
        base: np.ndarray | None = None,
        scale: int = S,
    ) -> None:
        self.x, self.y, self.w, self.h, self.s = x, y, w, h, scale
        self.img = np.zeros((h * scale, w * scale, 4), np.uint8) if base is None else base.copy()

    @classmethod
    def around(cls, pts: np.ndarray, pad: float, scale: int = S) -> Canvas:
        """An empty canvas just big enough for `pts` and `pad` pixels around them."""
        x0, y0 = np.floor(pts.min(axis=0) - pad).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0) + pad).astype(int)
        return cls(int(x0), int(y0), int(x1 - x0), int(y1 - y0), scale=scale)

    def _pts(self, pts: np.ndarray) -> np.ndarray:
        p = (pts - (self.x, self.y)) * self.s
        return np.round(p).astype(np.int32).reshape(-1, 1, 2)

    def poly(self, pts: np.ndarray, color: Color) -> None:
        cv2.fillPoly(self.img, [self._pts(pts)], (*color, 255), cv2.LINE_AA)

    def line(self, pts: np.ndarray, thickness: float, color: Color) -> None:
        t = max(1, round(thickness * self.s))
        cv2.polylines(self.img, [self._pts(pts)], False, (*color, 255), t, cv2.LINE_AA)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, color: Color) -> None:
        self.poly(ellipse(cx, cy, rx, ry), color)

    def mask(self, pts: np.ndarray) -> np.ndarray:
        """Coverage (0..1 float) of a filled polygon, for clipping one shape by another."""
        m = np.zeros(self.img.shape[:2], np.uint8)
        cv2.fillPoly(m, [self._pts(pts)], (255,), cv2.LINE_AA)
        return m.astype(np.float32) / 255

    def opaque(self) -> np.ndarray:
        """Coverage of everything drawn so far."""
        return self.img[..., 3].astype(np.float32) / 255

    def paint(self, coverage: np.ndarray, color: Color, opacity: float = 1.0) -> None:
        """Lay a colour over the canvas through a coverage mask (source-over, premultiplied)."""
        rows, cols = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
        if not len(rows):
            return
        box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        under = self.img[box]
        c = np.ascontiguousarray(coverage[box], np.float32)
        if opacity != 1.0:
            c *= opacity
        solid = np.empty_like(under)
        solid[:] = (*color, 255)
        self.img[box] = cv2.blendLinear(solid, np.ascontiguousarray(under), c, 1 - c)

    def tint(self, coverage: np.ndarray, color: Color, opacity: float) -> None:
        """Like `paint`, but only where the canvas is already opaque (shading, highlights)."""
        self.paint(coverage * self.opaque(), color, opacity)

    def rim(
        self,
        shape: np.ndarray,
        color: Color,
        opacity: float,
        width: float,
        light: tuple[float, float] = (-0.5, -0.8),
    ) -> None:
        """Shade the side of `shape` (a coverage mask) turned away from the light.

        A blurred copy of the shape, shifted towards the light, falls off first on the far
        side, so one mask gives round, lit forms: darker towards the edges, a soft core.
        """
        small = cv2.resize(shape, (self.w, self.h), interpolation=cv2.INTER_AREA)
        shift = np.array([[1, 0, -light[0] * width], [0, 1, -light[1] * width]], np.float32)
        moved = cv2.warpAffine(small, shift, (self.w, self.h), borderMode=cv2.BORDER_CONSTANT)
        k = int(2 * width) | 1
        blurred = cv2.GaussianBlur(moved, (k, k), width / 2)
        falloff = cv2.resize(1 - blurred, self.img.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        falloff[falloff < 1 / 255] = 0  # no shade at all where it would not show
        self.paint(np.clip(falloff, 0, 1) * shape, color, opacity)

    def soft_spot(
        self, cx: float, cy: float, rx: float, ry: float, color: Color, opacity: float
    ) -> None:
        """A blurred ellipse (blush, glow) painted where the canvas is already opaque."""
        k = int(max(rx, ry) * self.s * 0.6) | 1
        m = np.zeros(self.img.shape[:2], np.uint8)
        cv2.fillPoly(m, [self._pts(ellipse(cx, cy, rx, ry))], (255,), cv2.LINE_AA)
        x0, y0 = self._pts(np.array([[cx - rx, cy - ry]]))[0, 0] - k
        x1, y1 = self._pts(np.array([[cx + rx, cy + ry]]))[0, 0] + k
        roi = np.s_[max(y0, 0) : y1, max(x0, 0) : x1]
        m[roi] = cv2.GaussianBlur(m[roi], (k, k), 0)
        self.tint(m.astype(np.float32) / 255, color, opacity)

    def layer(self) -> Layer:
        small = cv2.resize(self.img, (self.w, self.h), interpolation=cv2.INTER_AREA)
        return Layer(self.x, self.y, np.ascontiguousarray(small[..., :3]), small[..., 3].copy())


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 96) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def curve(x0: float, x1: float, fy: Callable[[np.ndarray], np.ndarray], n: int = 48) -> np.ndarray:
    xs = np.linspace(x0, x1, n)
    return np.stack([xs, np.broadcast_to(fy(xs), xs.shape)], axis=1)


def bow(x0: float, x1: float, y: float, depth: float, n: int = 32) -> np.ndarray:
    """An arc from (x0, y) to (x1, y) whose middle sits `depth` lower (negative: higher)."""
    u = np.linspace(-1, 1, n)
    return np.stack([x0 + (x1 - x0) * (u + 1) / 2, y + depth * (1 - u**2)], axis=1)


def rounded(pts: np.ndarray, passes: int = 3) -> np.ndarray:
    """A closed polygon with its corners cut smooth (Chaikin), for soft organic outlines."""
    for _ in range(passes):
        nxt = np.roll(pts, -1, axis=0)
        pts = np.stack([0.75 * pts + 0.25 * nxt, 0.25 * pts + 0.75 * nxt], axis=1).reshape(-1, 2)
    return pts


def capsule(p0: np.ndarray, p1: np.ndarray, r0: float, r1: float, n: int = 24) -> np.ndarray:
    """A limb: the outline around two circles (radii r0 at p0, r1 at p1), tapering between."""
    d = p1 - p0
    angle = np.arctan2(d[1], d[0])
    half = np.linspace(-np.pi / 2, np.pi / 2, n)
    end = p1 + r1 * np.stack([np.cos(angle + half), np.sin(angle + half)], axis=1)
    start = p0 + r0 * np.stack([np.cos(angle + np.pi + half), np.sin(angle + np.pi + half)], 1)
    return np.vstack([end, start])


def quad_bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int = 32) -> np.ndarray:
    """Points along the quadratic Bézier curve p0 -> p2 pulled towards p1."""
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
