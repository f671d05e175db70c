"""The built-in host below the head: torso in its clothes, and arms drawn at every reach.

The torso never changes shape, so it is drawn once. Each arm is a two-bone chain from the
shoulder: at reach 0 the hands rest together in front of the waist; at reach 1 the arm on
the product's side is lifted with the palm open towards the product. Arms are drawn once
per quantised reach (`ARM_LEVELS`), so a gesture at frame time is one sprite pasted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from host.face.avatar_looks import GOLD, SKIN, SKIN_DEEP, SKIN_SHADE, Geometry, Look
from host.face.canvas import Canvas, Layer, bow, capsule, curve, ellipse, quad_bezier

ARM_LEVELS = 10  # reaches 0, 1/9, ..., 1 per arm
BODY_SCALE = 2  # supersampling of the big, smooth shapes below the head

# joint angles (degrees from straight down, positive away from the body), forearm
# foreshortening and hand direction: at rest, and lifted towards the product
_REST = (5.0, -60.0, 0.78, -84.0)
_LIFTED = (9.0, 146.0 - 360, 0.74, 128.0 - 360)  # the forearm rises in front, then opens out
_UPPER, _FORE = 2.0, 1.7  # bone lengths in face half-widths


@dataclass(frozen=True)
class _Arm:
    shoulder: np.ndarray
    elbow: np.ndarray
    wrist: np.ndarray
    hand: float  # direction of the fingers, radians in image coordinates
    side: int  # -1 the viewer's left, 1 the right


def _direction(side: int, degrees: float) -> np.ndarray:
    r = math.radians(degrees)
    return np.array([side * math.sin(r), math.cos(r)])


def _arm(g: Geometry, look: Look, side: int, reach: float) -> _Arm:
    a = g.a
    ease = reach * reach * (3 - 2 * reach)
    upper, fore, short, hand = (
        rest + (lifted - rest) * ease for rest, lifted in zip(_REST, _LIFTED, strict=True)
    )
    # on the way, the forearm swings towards the camera: shorter on screen, elbow a little out
    swing = math.sin(math.pi * ease)
    upper, short = upper + 8 * swing, short * (1 - 0.55 * swing)
    shoulder = np.array([g.cx + side * (look.shoulders - 0.36) * a, g.shoulder_y + 0.85 * a])
    elbow = shoulder + _UPPER * a * _direction(side, upper)
    wrist = elbow + short * _FORE * a * _direction(side, fore)
    d = _direction(side, hand)
    return _Arm(shoulder, elbow, wrist, math.atan2(d[1], d[0]), side)


def _torso_outline(g: Geometry, look: Look) -> np.ndarray:
    a, cx, ys = g.a, g.cx, g.shoulder_y
    reach = look.shoulders * a

    def shoulder(x: np.ndarray) -> np.ndarray:
        d = np.clip((np.abs(x - cx) - 0.45 * a) / (reach - 0.45 * a), 0, 1)
        return ys + 0.95 * a * (1 - np.sqrt(1 - d**2))

    bottom = g.height + 4
    pinch = 0.55 if look.inner is None else 0.3  # a fitted blouse, a straighter jacket
    side = [
        [reach + 0.02 * a, ys + 1.3 * a],
        [reach - 0.12 * a, ys + 2.2 * a],
        [reach - pinch * a, ys + 3.4 * a],
        [reach - pinch * a + 0.1 * a, max(bottom, ys + 3.5 * a)],
    ]
    right = np.array([[cx + dx, y] for dx, y in side])
    left = np.array([[cx - dx, y] for dx, y in side[::-1]])
    return np.vstack([left, curve(cx - reach, cx + reach, shoulder, 120), right])


def draw_torso(g: Geometry, look: Look) -> Layer:
    """Neck, shoulders and the garment with its neckline, shaded from the upper left."""
    a, cx, ys = g.a, g.cx, g.shoulder_y
    top = int(g.cy + 0.5 * g.b)
    c = Canvas(0, top, g.width, g.height + 4 - top, scale=BODY_SCALE)
    neck = look.neck * a
    neck_poly = np.array(
        [
            [cx - neck, top],
            [cx + neck, top],
            [cx + neck + 0.06 * a, ys + 0.3 * a],
            [cx - neck - 0.06 * a, ys + 0.3 * a],
        ]
    )
    c.poly(neck_poly, SKIN)
    c.rim(c.mask(neck_poly), SKIN_SHADE, 0.8, 0.25 * a)
    c.poly(ellipse(cx, g.cy + 1.0 * g.b, neck + 0.02 * a, 0.2 * a), SKIN_SHADE)  # under the chin
    body = _torso_outline(g, look)
    c.poly(body, look.top)
    c.rim(c.mask(body), look.top_shade, 0.9, 0.55 * a)
    c.soft_spot(cx - 1.0 * a, ys + 0.55 * a, 0.6 * a, 0.3 * a, look.top_light, 0.35)
    if look.inner is None:
        _vee(c, g, look)
        belt = np.array(
            [
                [cx - 2 * a, ys + 3.25 * a],
                [cx + 2 * a, ys + 3.25 * a],
                [cx + 2 * a, ys + 3.5 * a],
                [cx - 2 * a, ys + 3.5 * a],
            ]
        )
        c.paint(c.mask(belt) * c.mask(body), look.top_shade)
        c.poly(ellipse(cx, ys + 3.375 * a, 0.16 * a, 0.12 * a), GOLD)
    else:
        _jacket(c, g, look, look.inner)
    _microphone(c, g)
    return c.layer()


def _microphone(c: Canvas, g: Geometry) -> None:
    """A clip-on microphone on the right of the neckline, as every live-room host wears."""
    a, cx, ys = g.a, g.cx, g.shoulder_y
    x, y = cx + 0.46 * a, ys + 0.5 * a
    c.line(
        quad_bezier(
            np.array([x, y]),
            np.array([x + 0.3 * a, y + 0.6 * a]),
            np.array([x + 0.1 * a, y + 1.6 * a]),
        ),
        0.025 * a,
        (30, 30, 34),
    )
    c.poly(
        capsule(np.array([x, y - 0.05 * a]), np.array([x, y + 0.12 * a]), 0.06 * a, 0.05 * a),
        (36, 36, 40),
    )
    c.ellipse(x - 0.015 * a, y - 0.03 * a, 0.02 * a, 0.03 * a, (110, 110, 118))


def _vee(c: Canvas, g: Geometry, look: Look) -> None:
    """A V-neck blouse with a fine gold chain and a pendant in the opening."""
    a, cx, ys = g.a, g.cx, g.shoulder_y
    vee = np.array([[cx - 0.5 * a, ys - 0.05 * a], [cx + 0.5 * a, ys - 0.05 * a], [cx, ys + a]])
    c.poly(vee, SKIN)
    c.rim(c.mask(vee), SKIN_SHADE, 0.5, 0.2 * a, light=(0.0, 1.0))
    c.line(bow(cx - 0.4 * a, cx + 0.4 * a, ys + 0.02 * a, 0.42 * a), 0.018 * a, GOLD)
    c.ellipse(cx, ys + 0.47 * a, 0.05 * a, 0.065 * a, GOLD)
    for side in (-1, 1):
        collar = np.array(
            [
                [cx + side * 0.5 * a, ys - 0.06 * a],
                [cx, ys + 1.0 * a],
                [cx + side * 0.08 * a, ys + 1.06 * a],
                [cx + side * 0.62 * a, ys + 0.02 * a],
            ]
        )
        c.poly(collar, look.cuff)


def _jacket(c: Canvas, g: Geometry, look: Look, shirt: tuple[int, int, int]) -> None:
    """An open blazer: a crew-neck shirt in the opening, lapels, a pocket square."""
    a, cx, ys = g.a, g.cx, g.shoulder_y
    opening = np.array(
        [
            [cx - 0.62 * a, ys - 0.05 * a],
            [cx + 0.62 * a, ys - 0.05 * a],
            [cx + 0.2 * a, g.height + 4],
            [cx - 0.2 * a, g.height + 4],
        ]
    )
    c.poly(opening, shirt)
    c.rim(c.mask(opening), (206, 208, 212), 0.7, 0.25 * a, light=(0.0, 1.0))
    collar = bow(
        cx - look.neck * a - 0.08 * a, cx + look.neck * a + 0.08 * a, ys - 0.06 * a, 0.3 * a
    )
    c.poly(collar, SKIN)
    c.line(collar, 0.08 * a, (226, 228, 230))
    for side in (-1, 1):
        lapel = np.array(
            [
                [cx + side * 0.6 * a, ys - 0.1 * a],
                [cx + side * 0.16 * a, ys + 2.6 * a],
                [cx + side * 0.5 * a, ys + 1.6 * a],
                [cx + side * 0.98 * a, ys + 1.1 * a],
                [cx + side * 0.8 * a, ys + 0.2 * a],
            ]
        )
        c.poly(lapel, look.top_shade)
        c.line(lapel[:2], 0.03 * a, look.top_light)
    c.poly(
        np.array(
            [
                [cx + 1.05 * a, ys + 1.45 * a],
                [cx + 1.4 * a, ys + 1.38 * a],
                [cx + 1.36 * a, ys + 1.58 * a],
                [cx + 1.08 * a, ys + 1.6 * a],
            ]
        ),
        (236, 200, 120),
    )


def draw_arm(g: Geometry, look: Look, side: int, reach: float) -> Layer:
    """One arm, sleeve and hand, at `reach` (0 resting, 1 held out towards the product)."""
    a = g.a
    arm = _arm(g, look, side, reach)
    fingers = np.array([math.cos(arm.hand), math.sin(arm.hand)])
    tip = arm.wrist + 1.2 * a * fingers
    c = Canvas.around(np.vstack([arm.shoulder, arm.elbow, arm.wrist, tip]), 0.5 * a, BODY_SCALE)
    upper = capsule(arm.shoulder, arm.elbow, 0.36 * a, 0.28 * a)
    cuff_at = arm.elbow + look.sleeve * (arm.wrist - arm.elbow)
    forearm_skin = capsule(arm.elbow, arm.wrist, 0.2 * a, 0.16 * a)
    end = 0.27 * a - 0.06 * look.sleeve * a
    sleeve = _band(arm.elbow, cuff_at, 0.27 * a, end)
    _hand(c, arm, fingers, a, reach)
    if look.sleeve < 1:
        c.poly(forearm_skin, SKIN)
        c.rim(c.mask(forearm_skin), SKIN_SHADE, 0.9, 0.14 * a)
    elbow = ellipse(arm.elbow[0], arm.elbow[1], 0.27 * a, 0.27 * a)
    cloth = np.maximum(np.maximum(c.mask(upper), c.mask(sleeve)), c.mask(elbow))
    c.paint(cloth, look.top)
    c.rim(cloth, look.top_shade, 1.0, 0.3 * a)
    along = _unit(arm.wrist - arm.elbow)
    c.poly(_band(cuff_at - 0.11 * a * along, cuff_at, end, end), look.cuff)
    return c.layer()


def _band(p0: np.ndarray, p1: np.ndarray, r0: float, r1: float) -> np.ndarray:
    """A tapering strip with square ends (a sleeve cut off at the cuff)."""
    d = _unit(p1 - p0)
    n = np.array([-d[1], d[0]])
    return np.array([p0 + r0 * n, p1 + r1 * n, p1 - r1 * n, p0 - r0 * n])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.hypot(*v)), 1e-9)


def _hand(c: Canvas, arm: _Arm, fingers: np.ndarray, a: float, reach: float) -> None:
    """A hand: palm, fingers held together with the gaps drawn, and the thumb.

    Resting hands show their backs, fingers towards the other hand; the lifted hand shows
    its open palm, the thumb on top.
    """
    across = np.array([-fingers[1], fingers[0]])
    if across[1] > 0:
        across = -across  # the thumb side is the upper one
    w = arm.wrist
    knuckles = w + 0.58 * a * fingers
    palm = capsule(w, knuckles, 0.19 * a, 0.25 * a)
    digits = capsule(knuckles, knuckles + 0.5 * a * fingers + 0.03 * a * across, 0.24 * a, 0.15 * a)
    thumb_base = w + 0.18 * a * fingers + 0.16 * a * across
    thumb = capsule(
        thumb_base, thumb_base + 0.45 * a * _unit(fingers + 1.2 * across), 0.1 * a, 0.08 * a
    )
    hand = np.maximum(np.maximum(c.mask(palm), c.mask(digits)), c.mask(thumb))
    c.paint(hand, SKIN)
    c.rim(hand, SKIN_DEEP if reach < 0.5 else SKIN_SHADE, 0.8, 0.1 * a)
    for k in (-0.55, 0.0, 0.55):
        base = knuckles + 0.12 * a * fingers + k * 0.22 * a * across
        c.line(np.vstack([base, base + 0.32 * a * fingers]), 0.02 * a, SKIN_DEEP)
    if reach >= 0.5:  # the open palm's crease
        crease = quad_bezier(
            w + 0.15 * a * fingers - 0.12 * a * across,
            w + 0.35 * a * fingers + 0.06 * a * across,
            knuckles - 0.03 * a * fingers + 0.15 * a * across,
        )
        c.line(crease, 0.02 * a, SKIN_SHADE)
