"""The demo hosts: original illustrated avatars, drawn by code at any program size.

There is a look for each voice the project bundles, so the host looks like it sounds: a
woman and a man (`LOOKS`), sharing the studio, the figure's geometry and every sprite
rectangle, so animator code works on either. Everything is drawn once, supersampled and
anti-aliased, into separate layers (backdrop, body, head) and small sprites (eye states,
mouth shapes at several openings), so an animator only copies and pastes at frame time.
Geometry is derived from the frame size alone, so the same size always gives the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Literal

import cv2
import numpy as np

from host.voice.base import MOUTH_SHAPES, MouthShape

EyeState = Literal["open", "half", "closed"]
Rect = tuple[int, int, int, int]  # x, y, w, h
Color = tuple[int, int, int]

EYE_STATES: tuple[EyeState, ...] = ("open", "half", "closed")
MOUTH_LEVELS = 8  # openings 0, 1/7, ..., 1 per shape
_S = 4  # supersampling factor of every drawing

SKIN: Color = (246, 214, 190)
SKIN_SHADE: Color = (228, 186, 162)
BRAND: Color = (22, 160, 150)
BRAND_DARK: Color = (14, 118, 111)
SCLERA: Color = (252, 252, 250)
IRIS: Color = (78, 52, 42)
PUPIL: Color = (26, 18, 20)
LASH: Color = (40, 28, 32)
MOUTH_INSIDE: Color = (70, 22, 34)
TONGUE: Color = (150, 60, 72)
TEETH: Color = (250, 248, 244)
BLUSH: Color = (240, 150, 150)

LookName = Literal["female", "male"]


@dataclass(frozen=True)
class Look:
    """What differs between the hosts; lengths are in face half-widths (a)."""

    hair: Color
    hair_shine: Color
    brow: Color
    brow_width: float  # stroke
    brow_arch: float  # how high the middle of the brow rises
    lip: Color
    lip_line: Color
    blush: float  # opacity of the cheek blush
    lash_wing: bool  # the flick at the outer corner of the upper lid
    jaw_taper: float  # how much the face narrows towards the chin
    long_hair: bool  # a bob to the jaw with side locks; else short hair with sideburns
    neck: float  # half-width
    shoulders: float  # half-width of the torso
    neckline: Literal["vee", "crew"]


LOOKS: dict[LookName, Look] = {
    "female": Look(
        hair=(58, 40, 52),
        hair_shine=(96, 70, 88),
        brow=(92, 64, 66),
        brow_width=0.07,
        brow_arch=0.1,
        lip=(214, 104, 112),
        lip_line=(186, 86, 96),
        blush=0.45,
        lash_wing=True,
        jaw_taper=0.18,
        long_hair=True,
        neck=0.32,
        shoulders=2.15,
        neckline="vee",
    ),
    "male": Look(
        hair=(44, 36, 34),
        hair_shine=(84, 70, 64),
        brow=(58, 44, 40),
        brow_width=0.1,
        brow_arch=0.05,
        lip=(200, 128, 122),
        lip_line=(172, 104, 100),
        blush=0.12,
        lash_wing=False,
        jaw_taper=0.1,
        long_hair=False,
        neck=0.4,
        shoulders=2.35,
        neckline="crew",
    ),
}


@dataclass(frozen=True)
class Layer:
    """A premultiplied RGBA picture placed at (x, y) in the frame."""

    x: int
    y: int
    rgb: np.ndarray  # (h, w, 3) uint8, premultiplied by alpha
    alpha: np.ndarray  # (h, w) uint8


@dataclass(frozen=True)
class AvatarArt:
    """All pictures of the avatar at one frame size. Sprite rects are in head-layer coordinates.

    The head layer has the open eyes and the resting mouth already in it; sprites are opaque
    (they lie inside the face) and replace their rect wholesale.
    """

    width: int
    height: int
    backdrop: np.ndarray  # (height, width, 3) uint8
    body: Layer
    head: Layer
    eyes_rect: Rect
    eyes: Mapping[EyeState, np.ndarray]
    mouth_rect: Rect
    mouths: Mapping[tuple[MouthShape, int], np.ndarray]


@dataclass(frozen=True)
class _Geometry:
    """Where the figure sits: head centre (cx, cy), face half-width a and half-height b."""

    width: int
    height: int
    cx: float
    cy: float
    a: float
    b: float

    @classmethod
    def for_frame(cls, width: int, height: int) -> _Geometry:
        unit = min(width, 0.75 * height)
        a = 0.18 * unit
        portrait = height > 1.2 * width
        return cls(width, height, width / 2, height * (0.34 if portrait else 0.42), a, 1.25 * a)

    @property
    def shoulder_y(self) -> float:
        return self.cy + 1.35 * self.b


class _Canvas:
    """A supersampled premultiplied RGBA canvas addressed in output-pixel coordinates."""

    def __init__(self, x: int, y: int, w: int, h: int, base: np.ndarray | None = None) -> None:
        self.x, self.y, self.w, self.h = x, y, w, h
        self.img = np.zeros((h * _S, w * _S, 4), np.uint8) if base is None else base.copy()

    def _pts(self, pts: np.ndarray) -> np.ndarray:
        p = (pts - (self.x, self.y)) * _S
        return np.round(p).astype(np.int32).reshape(-1, 1, 2)

    def poly(self, pts: np.ndarray, color: Color) -> None:
        cv2.fillPoly(self.img, [self._pts(pts)], (*color, 255), cv2.LINE_AA)

    def line(self, pts: np.ndarray, thickness: float, color: Color) -> None:
        t = max(1, round(thickness * _S))
        cv2.polylines(self.img, [self._pts(pts)], False, (*color, 255), t, cv2.LINE_AA)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, color: Color) -> None:
        self.poly(_ellipse(cx, cy, rx, ry), color)

    def mask(self, pts: np.ndarray) -> np.ndarray:
        """Coverage (0..1 float) of a filled polygon, for clipping one shape by another."""
        m = np.zeros(self.img.shape[:2], np.uint8)
        cv2.fillPoly(m, [self._pts(pts)], (255,), cv2.LINE_AA)
        return m.astype(np.float32) / 255

    def paint(self, coverage: np.ndarray, color: Color, opacity: float = 1.0) -> None:
        """Lay a colour over the canvas through a coverage mask (source-over, premultiplied)."""
        rows, cols = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
        if not len(rows):
            return
        box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        c = (coverage[box] * opacity)[..., None]
        src = np.array((*color, 255), np.float32)
        self.img[box] = np.round(self.img[box] * (1 - c) + src * c).astype(np.uint8)

    def soft_spot(
        self, cx: float, cy: float, rx: float, ry: float, color: Color, opacity: float
    ) -> None:
        """A blurred ellipse (blush, glow) painted where the canvas is already opaque."""
        k = int(max(rx, ry) * _S * 0.6) | 1
        m = np.zeros(self.img.shape[:2], np.uint8)
        cv2.fillPoly(m, [self._pts(_ellipse(cx, cy, rx, ry))], (255,), cv2.LINE_AA)
        x0, y0 = self._pts(np.array([[cx - rx, cy - ry]]))[0, 0] - k
        x1, y1 = self._pts(np.array([[cx + rx, cy + ry]]))[0, 0] + k
        roi = np.s_[max(y0, 0) : y1, max(x0, 0) : x1]
        m[roi] = cv2.GaussianBlur(m[roi], (k, k), 0)
        self.paint(m.astype(np.float32) / 255 * (self.img[..., 3] / 255), color, opacity)

    def crop(self, rect: Rect) -> _Canvas:
        x, y, w, h = rect
        sx, sy = (x - self.x) * _S, (y - self.y) * _S
        return _Canvas(x, y, w, h, self.img[sy : sy + h * _S, sx : sx + w * _S])

    def layer(self) -> Layer:
        small = cv2.resize(self.img, (self.w, self.h), interpolation=cv2.INTER_AREA)
        return Layer(self.x, self.y, np.ascontiguousarray(small[..., :3]), small[..., 3].copy())


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 96) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _curve(x0: float, x1: float, fy: Callable[[np.ndarray], np.ndarray], n: int = 48) -> np.ndarray:
    xs = np.linspace(x0, x1, n)
    return np.stack([xs, np.broadcast_to(fy(xs), xs.shape)], axis=1)


def _bow(x0: float, x1: float, y: float, depth: float, n: int = 32) -> np.ndarray:
    """An arc from (x0, y) to (x1, y) whose middle sits `depth` lower (negative: higher)."""
    u = np.linspace(-1, 1, n)
    return np.stack([x0 + (x1 - x0) * (u + 1) / 2, y + depth * (1 - u**2)], axis=1)


def _backdrop(g: _Geometry) -> np.ndarray:
    """A soft studio wall: warm vertical gradient, a ring-light glow behind the head, a shelf."""
    h, w = g.height, g.width
    top, bottom = np.array((232, 222, 242), np.float32), np.array((250, 216, 204), np.float32)
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(top + (bottom - top) * ramp, (h, w, 3)).copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - g.cx, (yy - g.cy) * 0.9) / (2.4 * g.a)
    img += (255 - img) * (0.55 * np.exp(-(r**2)))[..., None]
    out = np.round(img).astype(np.uint8)
    shelf_y = round(g.cy - 0.2 * g.b)
    for side in (-1, 1):
        x0 = g.cx + side * 2.0 * g.a
        x1 = x0 + side * 1.6 * g.a
        lo, hi = round(min(x0, x1)), round(max(x0, x1))
        cv2.rectangle(
            out, (lo, shelf_y), (hi, shelf_y + max(2, round(0.06 * g.a))), (196, 160, 130), -1
        )
        for i, col in enumerate(((244, 180, 120), (150, 200, 210), (236, 150, 170))):
            bw, bh = 0.34 * g.a, (0.5 + 0.18 * i) * g.a
            bx = min(x0, x1) + (0.12 + 0.5 * i) * g.a
            cv2.rectangle(out, (round(bx), round(shelf_y - bh)), (round(bx + bw), shelf_y), col, -1)
    return out


def _body(g: _Geometry, look: Look) -> _Canvas:
    """Neck and shoulders in the brand colour with the look's neckline and a round badge."""
    a, cx, ys = g.a, g.cx, g.shoulder_y
    top = int(g.cy + 0.5 * g.b)
    c = _Canvas(0, top, g.width, g.height + 4 - top)
    neck = look.neck * a
    c.poly(
        np.array(
            [
                [cx - neck, top],
                [cx + neck, top],
                [cx + neck + 0.02 * a, ys + 0.2 * a],
                [cx - neck - 0.02 * a, ys + 0.2 * a],
            ]
        ),
        SKIN,
    )
    c.ellipse(cx, g.cy + 0.98 * g.b, neck + 0.04 * a, 0.16 * a, SKIN_SHADE)

    reach = look.shoulders * a

    def shoulder(x: np.ndarray) -> np.ndarray:
        d = np.clip((np.abs(x - cx) - 0.5 * a) / (reach - 0.5 * a), 0, 1)
        return ys + 0.9 * a * (1 - np.sqrt(1 - d**2))

    outline = _curve(cx - reach, cx + reach, shoulder, 96)
    bottom = g.height + 4
    torso = np.vstack(
        [[[cx - reach - 0.05 * a, bottom]], outline, [[cx + reach + 0.05 * a, bottom]]]
    )
    c.poly(torso, BRAND)
    if look.neckline == "vee":
        vee = np.array(
            [[cx - 0.4 * a, ys - 0.02 * a], [cx + 0.4 * a, ys - 0.02 * a], [cx, ys + 0.75 * a]]
        )
        c.poly(vee, SKIN)
        c.line(
            np.array([[cx - 0.44 * a, ys], [cx, ys + 0.8 * a], [cx + 0.44 * a, ys]]),
            0.09 * a,
            BRAND_DARK,
        )
    else:
        c.poly(_bow(cx - neck - 0.06 * a, cx + neck + 0.06 * a, ys - 0.02 * a, 0.3 * a), SKIN)
        c.line(
            _bow(cx - neck - 0.1 * a, cx + neck + 0.1 * a, ys - 0.04 * a, 0.36 * a),
            0.1 * a,
            BRAND_DARK,
        )
    c.ellipse(cx + 1.1 * a, ys + 1.0 * a, 0.16 * a, 0.16 * a, (250, 236, 200))
    c.ellipse(cx + 1.1 * a, ys + 1.0 * a, 0.09 * a, 0.09 * a, BRAND_DARK)
    return c


def _face_outline(g: _Geometry, look: Look) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 160, endpoint=False)
    narrow = 1 - look.jaw_taper * np.clip(np.sin(t), 0, None)
    return np.stack([g.cx + g.a * np.cos(t) * narrow, g.cy + g.b * np.sin(t)], axis=1)


def _head_rect(g: _Geometry) -> Rect:
    x0, y0 = int(g.cx - 1.4 * g.a), int(g.cy - 1.3 * g.b)
    return x0, y0, int(g.cx + 1.4 * g.a) + 1 - x0, int(g.cy + 1.06 * g.b) + 1 - y0


def _bare_head(g: _Geometry, look: Look) -> _Canvas:
    """Hair, ears, face, blush, nose and brows: the head without eyes and mouth."""
    a, b, cx, cy = g.a, g.b, g.cx, g.cy
    c = _Canvas(*_head_rect(g))
    if look.long_hair:
        back = np.vstack(
            [
                _ellipse(cx, cy - 0.12 * b, 1.2 * a, 1.12 * b),
                _curve(
                    cx + 1.22 * a,
                    cx - 1.22 * a,
                    lambda x: cy + 0.72 * b - 0.12 * b * ((x - cx) / a) ** 4,
                ),
            ]
        )
    else:
        back = _ellipse(cx, cy - 0.16 * b, 1.1 * a, 1.1 * b)
        back = back[back[:, 1] <= cy - 0.05 * b]
    c.poly(cv2.convexHull(back.astype(np.float32)).reshape(-1, 2), look.hair)
    for side in (-1, 1):
        c.ellipse(cx + side * 0.97 * a, cy + 0.08 * b, 0.17 * a, 0.27 * a, SKIN)
        c.ellipse(cx + side * 0.99 * a, cy + 0.08 * b, 0.08 * a, 0.16 * a, SKIN_SHADE)
    c.poly(_face_outline(g, look), SKIN)
    for side in (-1, 1):
        c.soft_spot(cx + side * 0.56 * a, cy + 0.36 * b, 0.17 * a, 0.11 * a, BLUSH, look.blush)
    c.line(
        _bow(cx - 0.07 * a, cx + 0.07 * a, cy + 0.27 * b + 0.06 * a, -0.06 * a),
        0.035 * a,
        SKIN_SHADE,
    )
    for side in (-1, 1):
        brow = _bow(cx + side * 0.22 * a, cx + side * 0.66 * a, cy - 0.36 * a, -look.brow_arch * a)
        c.line(brow, look.brow_width * a, look.brow)
    (_long_hair if look.long_hair else _short_hair)(c, g, look)
    return c


def _long_hair(c: _Canvas, g: _Geometry, look: Look) -> None:
    """A rounded cap, a fringe sloping across the forehead, locks down to the jaw."""
    a, b, cx, cy = g.a, g.b, g.cx, g.cy
    cap = _ellipse(cx, cy - 0.04 * b, 1.07 * a, 1.1 * b, 120)
    cap = cap[cap[:, 1] <= cy - 0.3 * b]
    fringe = _curve(
        cx + 1.0 * a,
        cx - 1.0 * a,
        lambda x: cy - 0.55 * b + 0.22 * b * np.clip((x - cx) / a + 1, 0, 2) ** 1.6 / 3.03,
    )
    c.poly(
        np.vstack([cap[np.argsort(np.arctan2(cap[:, 1] - cy, cap[:, 0] - cx))], fringe]),
        look.hair,
    )
    for side in (-1, 1):
        lock = np.array(
            [
                [cx + side * 1.07 * a, cy - 0.45 * b],
                [cx + side * 0.86 * a, cy - 0.3 * b],
                [cx + side * 0.9 * a, cy + 0.3 * b],
                [cx + side * 1.04 * a, cy + 0.55 * b],
                [cx + side * 1.12 * a, cy + 0.1 * b],
            ]
        )
        c.poly(lock, look.hair)
    c.line(_bow(cx - 0.55 * a, cx + 0.1 * a, cy - 0.86 * b, -0.2 * b), 0.06 * a, look.hair_shine)


def _short_hair(c: _Canvas, g: _Geometry, look: Look) -> None:
    """Short hair with volume on top, a fringe swept up to the right, neat sideburns."""
    a, b, cx, cy = g.a, g.b, g.cx, g.cy
    cap = _ellipse(cx, cy - 0.16 * b, 1.07 * a, 1.1 * b, 120)
    cap = cap[cap[:, 1] <= cy - 0.42 * b]

    def hairline(x: np.ndarray) -> np.ndarray:
        u = np.clip((x - cx) / a, -1, 1)  # -1 at the left temple, 1 at the right
        swept = 0.2 * b * np.exp(-(((u - 0.45) / 0.45) ** 2))  # forehead bared on the right
        return cy - 0.52 * b - 0.08 * b * (1 - u**2) - swept + 0.05 * b * (u + 1)

    c.poly(
        np.vstack(
            [
                cap[np.argsort(np.arctan2(cap[:, 1] - cy, cap[:, 0] - cx))],
                _curve(cx + 1.06 * a, cx - 1.06 * a, hairline, 96),
            ]
        ),
        look.hair,
    )
    for side in (-1, 1):
        burn = np.array(
            [
                [cx + side * 1.05 * a, cy - 0.5 * b],
                [cx + side * 0.9 * a, cy - 0.46 * b],
                [cx + side * 0.91 * a, cy - 0.04 * b],
                [cx + side * 0.99 * a, cy - 0.04 * b],
            ]
        )
        c.poly(burn, look.hair)
    for x0, x1, y, depth in ((-0.6, 0.2, -0.98, -0.14), (-0.15, 0.6, -0.86, -0.1)):
        strand = _bow(cx + x0 * a, cx + x1 * a, cy + y * b, depth * b)
        c.line(strand, 0.05 * a, look.hair_shine)


def _rect_around(g: _Geometry, x0: float, y0: float, x1: float, y1: float) -> Rect:
    left, top = int(np.floor(g.cx + x0)), int(np.floor(g.cy + y0))
    return left, top, int(np.ceil(g.cx + x1)) - left, int(np.ceil(g.cy + y1)) - top


def _eyes_rect(g: _Geometry) -> Rect:
    a = g.a
    return _rect_around(g, -0.76 * a, -0.26 * a, 0.76 * a, 0.26 * a)


def _draw_eyes(c: _Canvas, g: _Geometry, look: Look, state: EyeState) -> None:
    a = g.a
    ew, up, lo = 0.22 * a, 0.16 * a, 0.11 * a
    for side in (-1, 1):
        ex, ey = g.cx + side * 0.42 * a, g.cy + 0.02 * a

        def upper(x: np.ndarray, ex: float = ex, ey: float = ey) -> np.ndarray:
            return ey - up * np.clip(1 - ((x - ex) / ew) ** 2, 0, 1) ** 0.8

        def lower(x: np.ndarray, ex: float = ex, ey: float = ey) -> np.ndarray:
            return ey + lo * np.clip(1 - ((x - ex) / ew) ** 2, 0, 1)

        if state == "closed":
            c.line(_bow(ex - 1.05 * ew, ex + 1.05 * ew, ey, 0.06 * a), 0.035 * a, LASH)
            continue
        almond = np.vstack([_curve(ex - ew, ex + ew, upper), _curve(ex + ew, ex - ew, lower)])
        inside = c.mask(almond)
        c.paint(inside, SCLERA)
        c.paint(c.mask(_ellipse(ex, ey - 0.01 * a, 0.125 * a, 0.125 * a)) * inside, IRIS)
        c.paint(c.mask(_ellipse(ex, ey - 0.01 * a, 0.06 * a, 0.06 * a)) * inside, PUPIL)
        c.paint(
            c.mask(_ellipse(ex + 0.045 * a, ey - 0.06 * a, 0.03 * a, 0.03 * a)) * inside, SCLERA
        )
        lid = upper
        if state == "half":

            def lid(x: np.ndarray, ex: float = ex, ey: float = ey) -> np.ndarray:
                return ey - 0.01 * a + 0.02 * a * np.clip(1 - ((x - ex) / ew) ** 2, 0, 1)

            cover = np.vstack(
                [
                    np.array([[ex - ew, ey - 0.3 * a], [ex + ew, ey - 0.3 * a]]),
                    _curve(ex + ew, ex - ew, lid),
                ]
            )
            c.poly(cover, SKIN)
        c.line(_curve(ex - ew, ex + ew, lid), 0.045 * a, LASH)
        if not look.lash_wing:
            continue
        c.line(
            np.array(
                [
                    [ex + side * ew, ey],
                    [ex + side * 1.25 * ew, ey - up * 0.45],
                ]
            ),
            0.035 * a,
            LASH,
        )


def _mouth_rect(g: _Geometry) -> Rect:
    a = g.a
    yc = 0.45 * g.b
    return _rect_around(g, -0.46 * a, yc - 0.2 * a, 0.46 * a, yc + 0.4 * a)


# in face half-widths: half-width, full opening, lips (upper, lower), smile lift;
# then the teeth bands (upper, lower) as fractions of the opening
_MOUTH_FORM: dict[MouthShape, tuple[float, float, float, float, float, float, float]] = {
    "rest": (0.28, 0.18, 0.03, 0.05, 0.05, 0.2, 0.0),
    "closed": (0.26, 0.0, 0.045, 0.06, 0.01, 0.0, 0.0),
    "open": (0.28, 0.36, 0.035, 0.055, 0.04, 0.18, 0.0),
    "wide": (0.36, 0.24, 0.03, 0.05, 0.06, 0.28, 0.12),
    "round": (0.16, 0.3, 0.06, 0.07, 0.0, 0.1, 0.0),
    "teeth": (0.32, 0.16, 0.03, 0.05, 0.04, 0.45, 0.35),
}


def _draw_mouth(c: _Canvas, g: _Geometry, look: Look, shape: MouthShape, level: float) -> None:
    """Lips around a dark opening whose height is `level` of the shape's full opening."""
    a = g.a
    *sizes, teeth_up, teeth_lo = _MOUTH_FORM[shape]
    half_w, full, lip_up, lip_lo, smile = (v * a for v in sizes)
    mx, yc = g.cx, g.cy + 0.45 * g.b
    opening = level * full
    if shape == "round":
        half_w *= 1 - 0.25 * level
    power = 0.5 if shape == "round" else 0.9

    def bulge(x: np.ndarray, width: float = half_w) -> np.ndarray:
        return np.clip(1 - ((x - mx) / width) ** 2, 0, 1) ** power

    def lift(x: np.ndarray) -> np.ndarray:
        return smile * ((x - mx) / half_w) ** 2

    def upper(x: np.ndarray) -> np.ndarray:
        return yc - 0.25 * opening * bulge(x) - lift(x)

    def lower(x: np.ndarray) -> np.ndarray:
        return yc + 0.75 * opening * bulge(x) - lift(x)

    outer_w = half_w * 1.08
    lips = np.vstack(
        [
            _curve(
                mx - outer_w, mx + outer_w, lambda x: upper(x) - lip_up * bulge(x, outer_w) ** 0.6
            ),
            _curve(
                mx + outer_w, mx - outer_w, lambda x: lower(x) + lip_lo * bulge(x, outer_w) ** 0.6
            ),
        ]
    )
    c.poly(lips, look.lip)
    if opening < 0.02 * a:
        c.line(_curve(mx - half_w, mx + half_w, upper), 0.03 * a, look.lip_line)
        return
    hole = c.mask(
        np.vstack(
            [_curve(mx - half_w, mx + half_w, upper), _curve(mx + half_w, mx - half_w, lower)]
        )
    )
    c.paint(hole, MOUTH_INSIDE)
    bottom = yc + 0.75 * opening
    c.paint(c.mask(_ellipse(mx, bottom, 0.55 * half_w, 0.35 * opening)) * hole, TONGUE)
    if teeth_up:
        band = np.vstack(
            [
                _curve(mx - half_w, mx + half_w, lambda x: upper(x) - a),
                _curve(mx + half_w, mx - half_w, lambda x: upper(x) + teeth_up * opening),
            ]
        )
        c.paint(c.mask(band) * hole, TEETH)
    if teeth_lo:
        band = np.vstack(
            [
                _curve(mx - half_w, mx + half_w, lambda x: lower(x) - teeth_lo * opening),
                _curve(mx + half_w, mx - half_w, lambda x: lower(x) + a),
            ]
        )
        c.paint(c.mask(band) * hole, TEETH)


def _to_head(rect: Rect, head: Layer) -> Rect:
    x, y, w, h = rect
    return x - head.x, y - head.y, w, h


def _sprite(bare: _Canvas, rect: Rect, draw: Callable[[_Canvas], None]) -> np.ndarray:
    canvas = bare.crop(rect)
    draw(canvas)
    return canvas.layer().rgb


@lru_cache(maxsize=4)
def draw_avatar(width: int, height: int, look: LookName = "female") -> AvatarArt:
    """Draw a host for a frame size. Cached: sessions of one size share read-only arrays."""
    if width < 64 or height < 64:
        raise ValueError(f"frame {width}x{height} is too small for the avatar (min 64x64)")
    g = _Geometry.for_frame(width, height)
    style = LOOKS[look]
    bare = _bare_head(g, style)
    head = bare.layer()
    eyes_rect, mouth_rect = _eyes_rect(g), _mouth_rect(g)
    eyes = {
        s: _sprite(bare, eyes_rect, partial(_draw_eyes, g=g, look=style, state=s))
        for s in EYE_STATES
    }
    mouths = {
        (shape, i): _sprite(
            bare,
            mouth_rect,
            partial(_draw_mouth, g=g, look=style, shape=shape, level=i / (MOUTH_LEVELS - 1)),
        )
        for shape in MOUTH_SHAPES
        for i in range(MOUTH_LEVELS)
    }
    for rect, sprite in ((eyes_rect, eyes["open"]), (mouth_rect, mouths[("rest", 0)])):
        x, y, w, h = _to_head(rect, head)
        if not (head.alpha[y : y + h, x : x + w] == 255).all():
            raise AssertionError(f"sprite rect {rect} is not inside the face at {width}x{height}")
        head.rgb[y : y + h, x : x + w] = sprite
    art = AvatarArt(
        width,
        height,
        _backdrop(g),
        _body(g, style).layer(),
        head,
        _to_head(eyes_rect, head),
        eyes,
        _to_head(mouth_rect, head),
        mouths,
    )
    for arr in (
        art.backdrop,
        art.body.rgb,
        art.body.alpha,
        head.rgb,
        head.alpha,
        *eyes.values(),
        *mouths.values(),
    ):
        arr.setflags(write=False)
    return art
