"""Per-frame mouth and eyelid motion on a real face, from its landmarks: small, local warps.

Everything that depends only on the face is computed once (`build_rig`): unit displacement
fields over a small region around the mouth and each eye. A frame then costs two
multiply-adds and one `cv2.remap` per region, plus a small shaded polygon for the mouth
interior, so a photo or a video frame is animated in about a millisecond on one core.

Warps are backward maps (out(p) = base(p - d(p))):
- jaw: below the lower inner lip the face moves down by the opening, fading out under the
  chin and towards the cheeks; inside the mouth the move is a step at the lip line, and
  the gap it opens is shaded into the mouth interior (soft-edged, darkest mid-gap, with a
  hint of upper teeth when the photo shows none; no drawn outline), so nothing is
  stretched where it would show;
- lips: spread (ee, s) or rounded (oo) by a horizontal scaling about the mouth centre
  under a smooth bump;
- eyelids: the lid skin above each eye is stretched down over the eye opening, so a blink
  shows the person's own eyelid and lashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from host.face.base import MouthPose
from host.face.landmarks import (
    JAW,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    Face,
    Rect,
)
from host.voice.base import MouthShape

# (share of the full jaw opening, lip spread: + wider, - rounder) per mouth shape
SHAPES: dict[MouthShape, tuple[float, float]] = {
    "rest": (0.0, 0.0),
    "closed": (0.0, 0.03),
    "open": (1.0, 0.0),
    "wide": (0.6, 0.12),
    "round": (0.7, -0.16),
    "teeth": (0.35, 0.08),
}
JAW_OPEN = 0.3  # the widest jaw opening, in mouth widths
_FULL_PULL = 0.45  # the jaw pulls fully within this many half-mouth-widths of the centre
_CORNER_FALLOFF = 1.25  # ... and not at all past this many
_NECK_FADE = 0.45  # the pull fades out over this many mouth widths below the chin
_TEETH_BELOW_GAP = 0.05  # the photo shows no teeth when its lips part by less (mouth widths)
# The mouth interior is the gap's own pixels times a shade (by depth into the gap) and a tint.
_SHADE_TOP, _SHADE_DEEP, _SHADE_BOTTOM = 0.5, 0.14, 0.3
_DARKEST_AT = 0.55  # depth into the gap (0 = upper lip line, 1 = lower lip) of the darkest row
_INTERIOR_TINT = np.array([1.0, 0.72, 0.74], np.float32)  # warm: tongue and gums, not ink
_SOFT_EDGE = 0.012  # the interior's edge blur (Gaussian sigma, mouth widths)
_THIN_GAP = 0.1  # a gap thinner than this (mouth widths) is only a shadow, fading to none
_TEETH = np.array([228, 222, 212], np.float32)


@dataclass(frozen=True)
class Patch:
    """A displacement field over one region of the base image (the region is x, y, w, h)."""

    rect: Rect
    grid_x: np.ndarray  # absolute x of each region pixel, float32 (h, w)
    grid_y: np.ndarray
    unit_x: np.ndarray  # displacement at strength 1, float32 (h, w)
    unit_y: np.ndarray

    def warp(self, base: np.ndarray, strength_x: float, strength_y: float) -> np.ndarray:
        """The region of `base` warped at these strengths (a new (h, w, 3) array)."""
        map_x = self.grid_x - strength_x * self.unit_x if strength_x else self.grid_x
        map_y = self.grid_y - strength_y * self.unit_y if strength_y else self.grid_y
        return cv2.remap(base, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class MouthRig:
    patch: Patch
    width: float  # mouth width, pixels
    centre_x: float
    hinge: np.ndarray  # (n, 2) the lower inner lip at rest, where the jaw step sits
    hinge_pull: np.ndarray  # (n,) jaw pull at each hinge point (0..1)
    hinge_bump: np.ndarray  # (n,) lip-shape pull at each hinge point (0..1)
    draw_teeth: bool


@dataclass(frozen=True)
class FaceRig:
    """All a face needs to be animated in one image; boxes cover every motion (for tests)."""

    mouth: MouthRig
    eyes: tuple[Patch, Patch]
    mouth_box: Rect
    eye_box: Rect


def _clip_rect(x0: float, y0: float, x1: float, y1: float, shape: tuple[int, ...]) -> Rect:
    h, w = shape[:2]
    left, top = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    right, bottom = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
    return left, top, max(1, right - left), max(1, bottom - top)


def _grid(rect: Rect) -> tuple[np.ndarray, np.ndarray]:
    x, y, w, h = rect
    gx, gy = np.meshgrid(
        np.arange(x, x + w, dtype=np.float32), np.arange(y, y + h, dtype=np.float32)
    )
    return gx, gy


def _contour_y(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The y of a left-to-right contour at each x (held flat beyond its ends)."""
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1]).astype(np.float32)


def _jaw_pull_x(xs: np.ndarray, centre_x: float, half_width: float) -> np.ndarray:
    """Horizontal profile of the jaw's pull: 1 at the centre, a little at the corners, 0 past."""
    reach = (_CORNER_FALLOFF - _FULL_PULL) * half_width
    u = np.clip((np.abs(xs - centre_x) - _FULL_PULL * half_width) / reach, 0.0, 1.0)
    return (0.5 * (1 + np.cos(np.pi * u))).astype(np.float32)


def _mouth_rig(face: Face, shape: tuple[int, ...]) -> MouthRig:
    upper, lower = face.group(LIPS_INNER_UPPER), face.group(LIPS_INNER_LOWER)
    left, right = lower[0], lower[-1]
    width = float(np.hypot(*(right - left)))
    half = width / 2
    centre_x = float((left[0] + right[0]) / 2)
    jaw = face.group(JAW)
    chin_y = float(jaw[:, 1].max())
    fade = _NECK_FADE * width
    top = float(min(upper[:, 1].min(), lower[:, 1].min())) - 0.25 * width
    rect = _clip_rect(
        centre_x - _CORNER_FALLOFF * half - 2,
        top,
        centre_x + _CORNER_FALLOFF * half + 2,
        chin_y + fade + 2,
        shape,
    )
    gx, gy = _grid(rect)
    xs = gx[0]
    hinge_y = _contour_y(lower, xs)
    chin = np.maximum(_contour_y(jaw, xs), hinge_y + 1)
    pull_x = _jaw_pull_x(xs, centre_x, half)
    # Near and past the mouth corners the step becomes a ramp widening outwards: cheeks stretch.
    ramp = np.maximum(np.abs(xs - centre_x) - 0.8 * half, 0.0) * 2.0 + 1e-3
    below = gy - hinge_y
    pull_y = np.where(below < 0, 0.0, np.minimum(below / ramp, 1.0))
    pull_y = pull_y * np.clip(1.0 - (gy - chin) / fade, 0.0, 1.0)
    unit_y = (pull_y * pull_x * JAW_OPEN * width).astype(np.float32)
    mid_y = float(lower[:, 1].mean())
    bump = np.exp(-(((gx - centre_x) / (1.1 * half)) ** 2) - ((gy - mid_y) / (0.6 * half)) ** 2)
    unit_x = ((gx - centre_x) * bump).astype(np.float32)
    hinge_bump = np.exp(
        -(((lower[:, 0] - centre_x) / (1.1 * half)) ** 2)
        - ((lower[:, 1] - mid_y) / (0.6 * half)) ** 2
    ).astype(np.float32)
    parted = float(np.mean(lower[:, 1] - upper[:, 1])) / width
    return MouthRig(
        patch=Patch(rect, gx, gy, unit_x, unit_y),
        width=width,
        centre_x=centre_x,
        hinge=lower.astype(np.float32),
        hinge_pull=_jaw_pull_x(lower[:, 0], centre_x, half),
        hinge_bump=hinge_bump,
        draw_teeth=parted < _TEETH_BELOW_GAP,
    )


def _eye_patch(
    face: Face, upper_ids: tuple[int, ...], lower_ids: tuple[int, ...], shape: tuple[int, ...]
) -> Patch:
    upper, lower = face.group(upper_ids), face.group(lower_ids)
    eye_w = float(np.hypot(*(upper[-1] - upper[0])))
    lid = 0.45 * eye_w  # the eyelid skin stretched over the eye when it shuts
    rect = _clip_rect(
        upper[:, 0].min() - 2,
        upper[:, 1].min() - lid - 2,
        upper[:, 0].max() + 2,
        lower[:, 1].max() + 2,
        shape,
    )
    gx, gy = _grid(rect)
    xs = gx[0]
    top, bottom = _contour_y(upper, xs), _contour_y(lower, xs)
    bottom = np.maximum(bottom, top)
    gap = bottom - top
    start = top - lid
    inside = (gy >= start) & (gy <= bottom)
    unit_y = np.where(inside, gap * (gy - start) / (bottom - start), 0.0).astype(np.float32)
    return Patch(rect, gx, gy, np.zeros_like(unit_y), unit_y)


def _union(rects: list[Rect]) -> Rect:
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    return x0, y0, x1 - x0, y1 - y0


def build_rig(face: Face, shape: tuple[int, ...]) -> FaceRig:
    """Precompute the warps of `face` in an image of this shape (h, w[, 3])."""
    mouth = _mouth_rig(face, shape)
    eyes = (
        _eye_patch(face, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, shape),
        _eye_patch(face, LEFT_EYE_UPPER, LEFT_EYE_LOWER, shape),
    )
    hinge = mouth.hinge
    mouth_box = _clip_rect(
        hinge[:, 0].min(),
        hinge[:, 1].min() - 0.1 * mouth.width,
        hinge[:, 0].max(),
        hinge[:, 1].max() + JAW_OPEN * mouth.width,
        shape,
    )
    return FaceRig(mouth, eyes, mouth_box, _union([eyes[0].rect, eyes[1].rect]))


def pose_strengths(pose: MouthPose) -> tuple[float, float]:
    """(jaw opening 0..1, lip spread) for a pose; the spread grows in with the opening."""
    level = min(max(pose.open, 0.0), 1.0)
    share, spread = SHAPES[pose.shape]
    return level * share, spread * min(1.0, 2 * level)


def _shade_interior(frame: np.ndarray, rig: MouthRig, opening: float, spread: float) -> None:
    """Darken the gap the jaw opened between the lips into a mouth interior, without a line.

    The gap holds the warp's copy of what lies above the lip line (teeth or lip), so it is
    shaded, not painted: light under the upper teeth, darkest in the middle, a little
    lighter again on the lower lip's inside. Its edge is soft, and a gap thinner than
    `_THIN_GAP` is only a shadow, so a barely parted mouth never shows a drawn stroke.
    """
    drop = opening * JAW_OPEN * rig.width * rig.hinge_pull
    xs = rig.centre_x + (rig.hinge[:, 0] - rig.centre_x) * (1 + spread * rig.hinge_bump)
    top = np.stack([xs, rig.hinge[:, 1]], axis=1)
    bottom = np.stack([xs, rig.hinge[:, 1] + drop], axis=1)
    polygon = np.concatenate([top, bottom[::-1]])
    height, width = frame.shape[:2]
    soften = max(0.7, _SOFT_EDGE * rig.width)
    pad = 3 * soften
    (x0, y0), (x1, y1) = polygon.min(axis=0) - pad, polygon.max(axis=0) + pad
    x, y, w, h = _clip_rect(float(x0), float(y0), float(x1), float(y1), (height, width))
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(
        mask, [np.round((polygon - (x, y)) * 4).astype(np.int32)], (255,), cv2.LINE_AA, shift=2
    )
    edge: np.ndarray = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), soften)
    cols = np.arange(w, dtype=np.float32) + x
    lip_y = np.interp(cols, xs, rig.hinge[:, 1])
    gap = np.interp(cols, xs, drop)
    rows = np.arange(h, dtype=np.float32)[:, None] + y
    depth = np.clip((rows - lip_y) / np.maximum(gap, 1.0), 0.0, 1.0)
    upper = np.clip(1 - depth / _DARKEST_AT, 0.0, 1.0)
    lower = np.clip((depth - _DARKEST_AT) / (1 - _DARKEST_AT), 0.0, 1.0)
    shade = (
        _SHADE_DEEP
        + (_SHADE_TOP - _SHADE_DEEP) * upper**2
        + (_SHADE_BOTTOM - _SHADE_DEEP) * lower**2
    )
    thin = np.clip(gap / (_THIN_GAP * rig.width), 0.0, 1.0)
    alpha = edge * (thin * thin * (3 - 2 * thin))[None, :]
    roi = frame[y : y + h, x : x + w].astype(np.float32)
    if rig.draw_teeth:
        band = np.minimum(0.3 * gap, 0.07 * rig.width)
        across = np.clip(1.2 - 1.4 * np.abs(cols - rig.centre_x) / (rig.width / 2), 0.0, 1.0)
        teeth = np.clip((band - (rows - lip_y)) / 1.5, 0.0, 1.0) * across[None, :]
        roi += (_TEETH - roi) * (teeth * alpha)[..., None]
        shade = shade + (1 - shade) * teeth
    factor = 1 - alpha[..., None] * (1 - shade[..., None] * _INTERIOR_TINT)
    frame[y : y + h, x : x + w] = np.clip(roi * factor, 0, 255).astype(np.uint8)


def animate(
    frame: np.ndarray, base: np.ndarray, rig: FaceRig, pose: MouthPose | None, closure: float
) -> None:
    """Write the mouth (`pose`, None = at rest) and eyelids (`closure` 0..1) into `frame`.

    `frame` is a copy of `base` (or `base` with other edits outside the rig's regions); only
    the mouth and eye regions are written.
    """
    if closure > 0:
        for eye in rig.eyes:
            x, y, w, h = eye.rect
            frame[y : y + h, x : x + w] = eye.warp(base, 0.0, closure)
    if pose is None:
        return
    opening, spread = pose_strengths(pose)
    if opening <= 0 and spread == 0:
        return
    move_jaw(frame, base, rig, opening, spread)
    if opening > 0:
        _shade_interior(frame, rig.mouth, opening, spread)


def move_jaw(
    frame: np.ndarray, base: np.ndarray, rig: FaceRig, opening: float, spread: float = 0.0
) -> None:
    """Write the mouth region of `base` with the jaw dropped by `opening` (negative: raised)
    and the lips spread into `frame`, leaving the gap as the warp made it."""
    patch = rig.mouth.patch
    x, y, w, h = patch.rect
    frame[y : y + h, x : x + w] = patch.warp(base, spread, opening)
