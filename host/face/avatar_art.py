"""The demo hosts: original illustrated presenters, drawn by code at any program size.

Everything is drawn once, supersampled and anti-aliased, into layers an animator only
copies and pastes at frame time: the studio backdrop, the torso, each arm at every reach
(`avatar_body.py`), the head without its face, and opaque sprites for the face: the eyes
with their brows in each blink state, and the mouth with the nose at every shape and
opening. Face sprites lie on plain skin, so they can be pasted a few pixels off centre to
turn or tilt the face against the head (`feature_reach` says how far stays on plain skin).
Geometry is derived from the frame size alone, so the same size always gives the same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Literal

import cv2
import numpy as np

from host.face.avatar_body import ARM_LEVELS, draw_arm, draw_torso
from host.face.avatar_looks import (
    BLUSH,
    IRIS,
    LASH,
    LOOKS,
    MOUTH_INSIDE,
    PUPIL,
    SCLERA,
    SKIN,
    SKIN_SHADE,
    TEETH,
    TONGUE,
    Geometry,
    Look,
    LookName,
)
from host.face.canvas import Canvas, Layer, Rect, bow, curve, ellipse, quad_bezier, rounded
from host.voice.base import MOUTH_SHAPES, MouthShape

__all__ = ["LOOKS", "MOUTH_LEVELS", "AvatarArt", "EyeState", "LookName", "draw_avatar"]

EyeState = Literal["open", "half", "closed"]

EYE_STATES: tuple[EyeState, ...] = ("open", "half", "closed")
MOUTH_LEVELS = 8  # openings 0, 1/7, ..., 1 per shape
FEATURE_REACH = (0.09, 0.04)  # how far the face may slide on the head (x, y), in a
SIDES = (-1, 1)


@dataclass(frozen=True)
class AvatarArt:
    """All pictures of the avatar at one frame size. Sprite rects are in head-layer coordinates.

    Sprites are opaque and replace their rect wholesale; the head layer has plain skin
    there, `feature_reach` pixels around.
    """

    width: int
    height: int
    backdrop: np.ndarray  # (height, width, 3) uint8
    torso: Layer
    arms: Mapping[tuple[int, int], Layer]  # (side -1 | 1, reach level) -> the arm
    head: Layer
    eyes_rect: Rect  # the eyes with their brows
    eyes: Mapping[EyeState, np.ndarray]
    eyes_only: Rect  # just the eyes inside eyes_rect (where blinks are measured)
    mouth_rect: Rect  # the mouth with the nose
    lips_only: Rect  # just the mouth inside mouth_rect (where openness is measured)
    mouths: Mapping[tuple[MouthShape, int], np.ndarray]
    feature_reach: tuple[int, int]  # pixels the face sprites may move on the head (x, y)


def _backdrop(g: Geometry) -> np.ndarray:
    """A live-room set: warm wall, soft ring-light glow behind the head, shelves of goods
    either side and a counter line low in the frame, all kept quiet behind the host."""
    h, w = g.height, g.width
    top, bottom = np.array((236, 226, 240), np.float32), np.array((250, 222, 208), np.float32)
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(top + (bottom - top) * ramp, (h, w, 3)).copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - g.cx, (yy - g.cy) * 0.9) / (2.6 * g.a)
    img += (255 - img) * (0.6 * np.exp(-(r**2)))[..., None]
    out = np.round(img).astype(np.uint8)
    a = g.a
    goods = ((244, 180, 120), (150, 200, 210), (236, 150, 170), (200, 184, 236), (250, 214, 140))
    for row, shelf_y in enumerate((g.cy - 0.5 * g.b, g.cy + 0.9 * g.b)):
        y = round(shelf_y)
        for side in SIDES:
            x0 = g.cx + side * 2.25 * a
            x1 = x0 + side * 2.6 * a
            lo, hi = round(min(x0, x1)), round(max(x0, x1))
            cv2.rectangle(out, (lo, y), (hi, y + max(2, round(0.07 * a))), (206, 170, 140), -1)
            for i in range(4):
                col = goods[(i + 2 * row + (side > 0)) % len(goods)]
                bw, bh = 0.36 * a, (0.45 + 0.2 * ((i * 7 + row * 3 + side) % 3)) * a
                bx = min(x0, x1) + (0.15 + 0.62 * i) * a
                box = (round(bx), round(y - bh)), (round(bx + bw), y)
                cv2.rectangle(out, *box, col, -1)
                cv2.rectangle(
                    out, (box[0][0], box[0][1]), (box[1][0], box[0][1] + 2), (255, 255, 255), -1
                )
    counter = round(g.shoulder_y + 3.3 * a)
    if counter < h:
        out[counter:] = (
            out[counter:].astype(np.float32) * 0.9 + np.array((90, 60, 70)) * 0.1
        ).astype(np.uint8)
    return out


def _face_outline(g: Geometry, look: Look) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 160, endpoint=False)
    narrow = 1 - look.jaw_taper * np.clip(np.sin(t), 0, None) ** 1.5
    return np.stack([g.cx + g.a * np.cos(t) * narrow, g.cy + g.b * np.sin(t)], axis=1)


def _head_rect(g: Geometry, look: Look) -> Rect:
    x0, y0 = int(g.cx - 1.45 * g.a), int(g.cy - 1.32 * g.b)
    bottom = g.shoulder_y + 1.2 * g.a if look.long_hair else g.cy + 1.06 * g.b
    return x0, y0, int(g.cx + 1.45 * g.a) + 1 - x0, int(bottom) + 1 - y0


def _bare_head(g: Geometry, look: Look) -> Canvas:
    """Hair, ears, face and blush: the head without the face's features."""
    a, b, cx, cy = g.a, g.b, g.cx, g.cy
    c = Canvas(*_head_rect(g, look))
    if look.long_hair:
        _long_hair_back(c, g, look)
    else:
        back = ellipse(cx, cy - 0.16 * b, 1.1 * a, 1.1 * b)
        back = back[back[:, 1] <= cy - 0.05 * b]
        c.poly(cv2.convexHull(back.astype(np.float32)).reshape(-1, 2), look.hair)
    for side in SIDES:
        c.ellipse(cx + side * 0.97 * a, cy + 0.08 * b, 0.17 * a, 0.27 * a, SKIN)
        c.ellipse(cx + side * 0.99 * a, cy + 0.08 * b, 0.08 * a, 0.16 * a, SKIN_SHADE)
    c.poly(_face_outline(g, look), SKIN)
    for side in SIDES:
        c.soft_spot(cx + side * 0.68 * a, cy + 0.4 * a, 0.12 * a, 0.06 * a, BLUSH, look.blush)
    (_long_hair if look.long_hair else _short_hair)(c, g, look)
    return c


def _long_hair_back(c: Canvas, g: Geometry, look: Look) -> None:
    """Hair falling past the jaw onto the shoulders, framing the neck."""
    a, b, cx, cy = g.a, g.b, g.cx, g.cy
    end = g.shoulder_y + 1.1 * a
    for side in SIDES:
        curtain = np.vstack(
            [
                [[cx + side * 0.55 * a, cy - 0.9 * b]],
                [[cx + side * 1.18 * a, cy - 0.2 * b]],
                [[cx + side * 1.22 * a, cy + 0.6 * b]],
                [[cx + side * 1.36 * a, end - 0.4 * a]],
                [[cx + side * 1.2 * a, end]],
                [[cx + side * 0.9 * a, end - 0.2 * a]],
                [[cx + side * (look.neck - 0.02) * a, g.shoulder_y - 0.1 * a]],
                [[cx + side * 0.7 * a, cy + 1.1 * a]],
            ]
        )
        c.poly(rounded(curtain), look.hair)
    cap = ellipse(cx, cy - 0.12 * b, 1.2 * a, 1.12 * b)
    c.poly(cap[cap[:, 1] <= cy + 0.4 * b], look.hair)
    c.rim(c.opaque(), look.hair_shade, 0.9, 0.2 * a)
    for side in SIDES:  # a few strands down each fall of hair
        for k, (x0, x1) in enumerate(((1.12, 1.02), (1.2, 1.18), (1.04, 0.82))):
            strand = quad_bezier(
                np.array([cx + side * x0 * a, cy + (0.4 + 0.1 * k) * b]),
                np.array([cx + side * (x0 + 0.1) * a, g.shoulder_y]),
                np.array([cx + side * x1 * a, end - (0.25 + 0.1 * k) * a]),
            )
            c.line(strand, 0.02 * a, look.hair_shine)


def _long_hair(c: Canvas, g: Geometry, look: Look) -> None:
    """A side-parted crown with a soft fringe swept off the brows, shine on the crown, and
    front locks down the cheeks to the shoulders."""
    a, b, cx, cy = g.a, g.b, g.cx, g.cy
    cap = ellipse(cx, cy - 0.06 * b, 1.08 * a, 1.1 * b, 120)
    cap = cap[cap[:, 1] <= cy - 0.3 * b]

    def fringe(x: np.ndarray) -> np.ndarray:
        u = np.clip((x - cx) / a, -1.2, 1.2)
        parting = 0.3 * a * np.exp(-(((u - 0.35) / 0.5) ** 2))
        sweep = 0.06 * a * u  # lower on the left, swept up towards the parting
        temples = 1.5 * a * np.clip(np.abs(u) - 0.86, 0, None) ** 1.3
        return cy - 0.64 * a - parting - sweep + temples

    hair = np.vstack(
        [
            cap[np.argsort(np.arctan2(cap[:, 1] - cy, cap[:, 0] - cx))],
            curve(cx + 1.02 * a, cx - 1.02 * a, fringe, 96),
        ]
    )
    crown = c.mask(hair)
    c.paint(crown, look.hair)
    for side in SIDES:
        lock = np.vstack(
            [
                [[cx + side * 1.05 * a, cy - 0.7 * a]],
                [[cx + side * 0.88 * a, cy - 0.5 * a]],
                [[cx + side * 0.93 * a, cy + 0.1 * b]],
                [[cx + side * 1.0 * a, cy + 0.9 * b]],
                [[cx + side * 1.12 * a, cy + 1.3 * b]],
                [[cx + side * 1.2 * a, cy + 0.3 * b]],
            ]
        )
        c.poly(lock, look.hair)
    c.rim(c.mask(hair), look.hair_shade, 0.6, 0.12 * a, light=(0.3, -1.0))
    shine = c.mask(ellipse(cx - 0.3 * a, cy - 0.92 * b, 0.42 * a, 0.09 * b))
    c.paint(shine * crown, look.hair_shine, 0.55)
    parting = quad_bezier(
        np.array([cx + 0.3 * a, cy - 1.12 * b]),
        np.array([cx + 0.1 * a, cy - 0.9 * b]),
        np.array([cx - 0.5 * a, cy - 0.66 * a]),
    )
    c.line(parting, 0.025 * a, look.hair_shade)
    for side in SIDES:
        strand = quad_bezier(
            np.array([cx + side * 0.95 * a, cy - 0.3 * b]),
            np.array([cx + side * 1.05 * a, cy + 0.5 * b]),
            np.array([cx + side * 1.12 * a, cy + 1.1 * b]),
        )
        c.line(strand, 0.025 * a, look.hair_shine)


def _short_hair(c: Canvas, g: Geometry, look: Look) -> None:
    """Short hair with volume on top, a quiff swept up to the right, neat sideburns."""
    a, b, cx, cy = g.a, g.b, g.cx, g.cy
    cap = ellipse(cx, cy - 0.2 * b, 1.08 * a, 1.12 * b, 120)
    cap = cap[cap[:, 1] <= cy - 0.42 * b]

    def hairline(x: np.ndarray) -> np.ndarray:
        u = np.clip((x - cx) / a, -1, 1)  # -1 at the left temple, 1 at the right
        swept = 0.2 * b * np.exp(-(((u - 0.45) / 0.45) ** 2))  # forehead bared on the right
        return cy - 0.58 * b - 0.08 * b * (1 - u**2) - swept + 0.05 * b * (u + 1)

    hair = np.vstack(
        [
            cap[np.argsort(np.arctan2(cap[:, 1] - cy, cap[:, 0] - cx))],
            curve(cx + 1.06 * a, cx - 1.06 * a, hairline, 96),
        ]
    )
    c.poly(hair, look.hair)
    for side in SIDES:
        burn = np.array(
            [
                [cx + side * 1.08 * a, cy - 0.62 * b],
                [cx + side * 0.9 * a, cy - 0.52 * b],
                [cx + side * 0.91 * a, cy - 0.12 * b],
                [cx + side * 0.95 * a, cy + 0.02 * b],
                [cx + side * 1.0 * a, cy - 0.12 * b],
            ]
        )
        c.poly(rounded(burn, 2), look.hair)
    c.rim(c.mask(hair), look.hair_shade, 0.7, 0.12 * a, light=(0.3, -1.0))
    for x0, x1, y, depth in (
        (-0.6, 0.2, -1.0, -0.16),
        (-0.15, 0.6, -0.9, -0.12),
        (0.2, 0.75, -0.82, -0.08),
    ):
        c.line(bow(cx + x0 * a, cx + x1 * a, cy + y * b, depth * b), 0.025 * a, look.hair_shine)


def _rect_around(g: Geometry, x0: float, y0: float, x1: float, y1: float) -> Rect:
    left, top = int(np.floor(g.cx + x0)), int(np.floor(g.cy + y0))
    return left, top, int(np.ceil(g.cx + x1)) - left, int(np.ceil(g.cy + y1)) - top


def _eyes_rect(g: Geometry) -> Rect:
    a = g.a
    return _rect_around(g, -0.74 * a, -0.52 * a, 0.74 * a, 0.2 * a)


def _eyes_only(g: Geometry) -> Rect:
    a = g.a
    return _rect_around(g, -0.72 * a, -0.17 * a, 0.72 * a, 0.14 * a)


def _lips_only(g: Geometry) -> Rect:
    a = g.a
    return _rect_around(g, -0.36 * a, 0.42 * a, 0.36 * a, 0.9 * a)


def _draw_eyes(c: Canvas, g: Geometry, look: Look, state: EyeState) -> None:
    """Brows, almond eyes with iris, pupil, two catchlights and lashes, or the lid shut."""
    a = g.a
    ew, up, lo = 0.22 * a, 0.16 * a, 0.1 * a
    for side in SIDES:
        brow = bow(
            g.cx + side * 0.2 * a, g.cx + side * 0.66 * a, g.cy - 0.34 * a, -look.brow_arch * a
        )
        c.line(brow, look.brow_width * a, look.brow)
        ex, ey = g.cx + side * 0.42 * a, g.cy + 0.02 * a

        def upper(x: np.ndarray, ex: float = ex, ey: float = ey) -> np.ndarray:
            return ey - up * np.clip(1 - ((x - ex) / ew) ** 2, 0, 1) ** 0.8

        def lower(x: np.ndarray, ex: float = ex, ey: float = ey) -> np.ndarray:
            return ey + lo * np.clip(1 - ((x - ex) / ew) ** 2, 0, 1)

        if state == "closed":
            c.line(bow(ex - 1.05 * ew, ex + 1.05 * ew, ey, 0.06 * a), 0.04 * a, LASH)
            continue
        almond = np.vstack([curve(ex - ew, ex + ew, upper), curve(ex + ew, ex - ew, lower)])
        inside = c.mask(almond)
        c.paint(inside, SCLERA)
        c.paint(c.mask(ellipse(ex, ey - 0.01 * a, 0.13 * a, 0.13 * a)) * inside, IRIS)
        c.paint(c.mask(ellipse(ex, ey - 0.01 * a, 0.065 * a, 0.065 * a)) * inside, PUPIL)
        c.paint(
            c.mask(ellipse(ex + 0.045 * a, ey - 0.06 * a, 0.035 * a, 0.035 * a)) * inside, SCLERA
        )
        c.paint(
            c.mask(ellipse(ex - 0.05 * a, ey + 0.05 * a, 0.015 * a, 0.015 * a)) * inside, SCLERA
        )
        lid = upper
        if state == "half":

            def lid(x: np.ndarray, ex: float = ex, ey: float = ey) -> np.ndarray:
                return ey - 0.01 * a + 0.02 * a * np.clip(1 - ((x - ex) / ew) ** 2, 0, 1)

            cover = np.vstack(
                [
                    np.array([[ex - ew, ey - 0.3 * a], [ex + ew, ey - 0.3 * a]]),
                    curve(ex + ew, ex - ew, lid),
                ]
            )
            c.poly(cover, SKIN)
        c.line(curve(ex - ew, ex + ew, lid), 0.05 * a, LASH)
        crease = curve(ex - 0.8 * ew, ex + 0.9 * ew, upper) - (0, 0.07 * a)
        c.line(crease, 0.015 * a, SKIN_SHADE)
        c.line(curve(ex - 0.8 * ew, ex + 0.8 * ew, lower), 0.012 * a, SKIN_SHADE)
        if look.lash_wing:
            wing = np.array([[ex + side * ew, ey], [ex + side * 1.28 * ew, ey - up * 0.5]])
            c.line(wing, 0.04 * a, LASH)


def _mouth_rect(g: Geometry) -> Rect:
    a = g.a
    return _rect_around(g, -0.4 * a, 0.28 * a, 0.4 * a, 0.92 * a)


# in face half-widths: half-width, full opening, lips (upper, lower), smile lift;
# then the teeth bands (upper, lower) as fractions of the opening
_MOUTH_FORM: dict[MouthShape, tuple[float, float, float, float, float, float, float]] = {
    "rest": (0.26, 0.18, 0.03, 0.05, 0.05, 0.2, 0.0),
    "closed": (0.24, 0.0, 0.045, 0.06, 0.01, 0.0, 0.0),
    "open": (0.26, 0.34, 0.035, 0.055, 0.04, 0.18, 0.0),
    "wide": (0.33, 0.22, 0.03, 0.05, 0.06, 0.28, 0.12),
    "round": (0.15, 0.28, 0.06, 0.07, 0.0, 0.1, 0.0),
    "teeth": (0.3, 0.15, 0.03, 0.05, 0.04, 0.45, 0.35),
}


def _draw_nose(c: Canvas, g: Geometry) -> None:
    a, cx = g.a, g.cx
    y = g.cy + 0.4 * a
    c.line(bow(cx - 0.075 * a, cx + 0.075 * a, y, -0.05 * a), 0.03 * a, SKIN_SHADE)
    c.line(
        np.array([[cx + 0.03 * a, y - 0.25 * a], [cx + 0.06 * a, y - 0.08 * a]]),
        0.02 * a,
        SKIN_SHADE,
    )


def _draw_mouth(c: Canvas, g: Geometry, look: Look, shape: MouthShape, level: float) -> None:
    """Nose, and lips around a dark opening whose height is `level` of the shape's opening."""
    _draw_nose(c, g)
    a = g.a
    *sizes, teeth_up, teeth_lo = _MOUTH_FORM[shape]
    half_w, full, lip_up, lip_lo, smile = (v * a for v in sizes)
    mx, yc = g.cx, g.cy + 0.57 * a
    opening = level**0.75 * full  # small openings show: a quiet syllable still moves the lips
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
            curve(
                mx - outer_w, mx + outer_w, lambda x: upper(x) - lip_up * bulge(x, outer_w) ** 0.6
            ),
            curve(
                mx + outer_w, mx - outer_w, lambda x: lower(x) + lip_lo * bulge(x, outer_w) ** 0.6
            ),
        ]
    )
    c.poly(lips, look.lip)
    sheen = ellipse(mx + 0.04 * a, yc + 0.75 * opening + lip_lo * 0.45, 0.09 * a, 0.016 * a)
    c.paint(c.mask(sheen), (250, 250, 250), 0.35)
    if opening < 0.02 * a:
        c.line(curve(mx - half_w, mx + half_w, upper), 0.03 * a, look.lip_line)
        return
    hole = c.mask(
        np.vstack([curve(mx - half_w, mx + half_w, upper), curve(mx + half_w, mx - half_w, lower)])
    )
    c.paint(hole, MOUTH_INSIDE)
    bottom = yc + 0.75 * opening
    c.paint(c.mask(ellipse(mx, bottom, 0.55 * half_w, 0.35 * opening)) * hole, TONGUE)
    if teeth_up:
        band = np.vstack(
            [
                curve(mx - half_w, mx + half_w, lambda x: upper(x) - a),
                curve(mx + half_w, mx - half_w, lambda x: upper(x) + teeth_up * opening),
            ]
        )
        c.paint(c.mask(band) * hole, TEETH)
    if teeth_lo:
        band = np.vstack(
            [
                curve(mx - half_w, mx + half_w, lambda x: lower(x) - teeth_lo * opening),
                curve(mx + half_w, mx - half_w, lambda x: lower(x) + a),
            ]
        )
        c.paint(c.mask(band) * hole, TEETH)


def _to_head(rect: Rect, head: Layer) -> Rect:
    x, y, w, h = rect
    return x - head.x, y - head.y, w, h


def _skin_sprite(rect: Rect, draw: Callable[[Canvas], None]) -> np.ndarray:
    x, y, w, h = rect
    canvas = Canvas(x, y, w, h)
    canvas.img[:] = (*SKIN, 255)
    draw(canvas)
    return canvas.layer().rgb


def _plain_reach(head: Layer, rects: tuple[Rect, ...], want: tuple[int, int]) -> tuple[int, int]:
    """How far (up to `want`) the face sprites may move and still land on plain skin.

    The full reach at every usual program size; less on small frames, where a pixel of hair
    or blush comes within reach, and none on thumbnails, where the face is a few pixels.
    """

    def plain(rx: int, ry: int) -> bool:
        for x, y, w, h in rects:
            area = np.s_[y - ry : y + h + ry, x - rx : x + w + rx]
            if not ((head.alpha[area] == 255) & (head.rgb[area] == SKIN).all(axis=2)).all():
                return False
        return True

    for shrink in range(max(want)):
        rx, ry = max(want[0] - shrink, 0), max(want[1] - shrink, 0)
        if plain(rx, ry):
            return rx, ry
    return 0, 0


@lru_cache(maxsize=4)
def draw_avatar(width: int, height: int, look: LookName = "female") -> AvatarArt:
    """Draw a host for a frame size. Cached: sessions of one size share read-only arrays."""
    if width < 64 or height < 64:
        raise ValueError(f"frame {width}x{height} is too small for the avatar (min 64x64)")
    g = Geometry.for_frame(width, height)
    style = LOOKS[look]
    head = _bare_head(g, style).layer()
    want = (math.ceil(FEATURE_REACH[0] * g.a), math.ceil(FEATURE_REACH[1] * g.a))
    eyes_rect, mouth_rect = _eyes_rect(g), _mouth_rect(g)
    reach = _plain_reach(head, (_to_head(eyes_rect, head), _to_head(mouth_rect, head)), want)
    eyes = {
        s: _skin_sprite(eyes_rect, partial(_draw_eyes, g=g, look=style, state=s))
        for s in EYE_STATES
    }
    mouths = {
        (shape, i): _skin_sprite(
            mouth_rect,
            partial(_draw_mouth, g=g, look=style, shape=shape, level=i / (MOUTH_LEVELS - 1)),
        )
        for shape in MOUTH_SHAPES
        for i in range(MOUTH_LEVELS)
    }
    arms = {
        (side, level): draw_arm(g, style, side, level / (ARM_LEVELS - 1))
        for side in SIDES
        for level in range(ARM_LEVELS)
    }

    def inside(rect: Rect, outer: Rect) -> Rect:
        return rect[0] - outer[0], rect[1] - outer[1], rect[2], rect[3]

    art = AvatarArt(
        width,
        height,
        _backdrop(g),
        draw_torso(g, style),
        arms,
        head,
        _to_head(eyes_rect, head),
        eyes,
        inside(_eyes_only(g), eyes_rect),
        _to_head(mouth_rect, head),
        inside(_lips_only(g), mouth_rect),
        mouths,
        reach,
    )
    layers = (art.torso, head, *arms.values())
    for arr in (
        art.backdrop,
        *(layer.rgb for layer in layers),
        *(layer.alpha for layer in layers),
        *eyes.values(),
        *mouths.values(),
    ):
        arr.setflags(write=False)
    return art
