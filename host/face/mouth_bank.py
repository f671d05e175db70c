"""Real mouths from the streamer's own video, indexed by lip geometry, pasted onto loop frames.

A painted mouth never looks like the person: their teeth, tongue and lips are in their own
footage. When a loop avatar is made, every usable frame of the video is described by two
numbers read off its landmarks (how far the lips part, how wide the mouth is against its
rest width, both normalised by the range this person shows), and up to `BANK_SIZE` frames
that cover that range are kept as mouth crops (`build_bank`). Each crop is stored in one
canonical frame, fixed by the face's rigid points (nose and inner eye corners, which speech
does not move), so a crop is placed on any loop frame by one similarity transform.

On air a pose is turned into the same two numbers and the nearest real mouth is chosen,
keeping the previous one while it is nearly as close (no flicker between look-alikes);
the crop is warped onto the frame, shifted to the frame's colour in the blend's soft edge,
and feathered in under one mask shared by every crop, so the seam stays where it was
when the mouth changes. A paste costs two small warps (crop and mask) and a blend, about a
millisecond at 720x1280, so nothing is precomputed per loop frame. Poisson blending was
measured and not kept (`bench/mouth.py`: a larger step at the edge, sixteen times slower).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from host.face.base import MouthPose
from host.face.landmarks import LIPS_INNER_LOWER, LIPS_INNER_UPPER, LIPS_OUTER, FaceError
from host.face.mouth_warp import SHAPES, pose_strengths

BANK = "mouths.npz"
BANK_SIZE = 32  # mouths kept: enough to cover open, wide, round and closed with steps between
MIN_GAP_RANGE = 0.06  # lips part by less (inter-eye widths) over the video: nothing to index
MOUTH_PX = 96  # mouth width in the canonical crop, pixels
CROP_W, CROP_H = 2 * MOUTH_PX, 2 * MOUTH_PX  # canonical crop, mouth centre at (CROP_W / 2, _TOP)
_TOP = 0.8 * MOUTH_PX
RIGID = (1, 2, 4, 5, 6, 98, 327, 168, 133, 362)  # nose and inner eye corners: still in speech
_GAP_PAIRS = tuple(zip(LIPS_INNER_UPPER[3:8], LIPS_INNER_LOWER[3:8], strict=True))
_NOSE_BASE = (2, 98, 327)  # subnasale and the nose wings
_MOUTH_CORNERS = (61, 291)
_EYE_CORNERS = (33, 263)
_SPREAD_WEIGHT = 0.5  # lip width counts half as much as the opening when choosing a mouth
HYSTERESIS = 0.02  # keep the previous mouth while it is this close to the nearest (squared)
_MARGIN = 0.16  # the mask reaches this far past every kept lip outline (mouth widths)
_FEATHER = 0.07  # ... and fades out over this (Gaussian sigma, mouth widths)
_RING = (0.1, 0.9)  # mask values where the frame's colour is read to match the crop


@dataclass(frozen=True)
class Norms:
    """This person's range of lip motion, which maps raw geometry onto 0..1 and -1..1."""

    gap_lo: float
    gap_hi: float
    width_lo: float
    width_rest: float
    width_hi: float

    def features(self, points: np.ndarray) -> np.ndarray:
        """(n, 2): opening 0 (closed) .. 1 (widest seen), width -1 (roundest) .. 1 (widest)."""
        gap, width = raw_geometry(points)
        opening = np.clip((gap - self.gap_lo) / (self.gap_hi - self.gap_lo), 0.0, 1.0)
        wider = (width - self.width_rest) / max(self.width_hi - self.width_rest, 1e-6)
        rounder = (width - self.width_rest) / max(self.width_rest - self.width_lo, 1e-6)
        spread = np.clip(np.where(width >= self.width_rest, wider, rounder), -1.0, 1.0)
        return np.stack([opening, spread], axis=1).astype(np.float32)


def lip_gap_px(points: np.ndarray) -> np.ndarray:
    """How far the lips part in the middle of the mouth, in the points' own pixels (n,)."""
    xy = np.asarray(points, np.float32)[:, :, :2]
    upper = xy[:, [u for u, _ in _GAP_PAIRS]]
    lower = xy[:, [v for _, v in _GAP_PAIRS]]
    return np.linalg.norm(lower - upper, axis=2).mean(axis=1)


def raw_geometry(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lip gap, mouth width) of each face in `points` (n, 478, 2+), in inter-eye widths."""
    xy = np.asarray(points, np.float32)[:, :, :2]
    eyes = np.linalg.norm(xy[:, _EYE_CORNERS[0]] - xy[:, _EYE_CORNERS[1]], axis=1)
    gap = lip_gap_px(xy) / eyes
    width = np.linalg.norm(xy[:, _MOUTH_CORNERS[0]] - xy[:, _MOUTH_CORNERS[1]], axis=1) / eyes
    return gap, width


def _norms(points: np.ndarray) -> Norms | None:
    gap, width = raw_geometry(points)
    lo, hi = np.percentile(gap, [5, 99])
    if hi - lo < MIN_GAP_RANGE:
        return None
    closed = gap <= lo + 0.15 * (hi - lo)
    return Norms(
        gap_lo=float(lo),
        gap_hi=float(hi),
        width_lo=float(np.percentile(width, 2)),
        width_rest=float(np.median(width[closed])),
        width_hi=float(np.percentile(width, 98)),
    )


def _most_closed(features: np.ndarray) -> int:
    """The closed mouth nearest its rest width: what a silent person shows."""
    return int(np.argmin(features[:, 0] + 0.1 * np.abs(features[:, 1])))


def _cover(features: np.ndarray, count: int) -> list[int]:
    """Farthest-point sampling from the most closed mouth: `count` frames spread over the range."""
    weights = np.array([1.0, _SPREAD_WEIGHT], np.float32)
    first = _most_closed(features)
    chosen = [first]
    distance = (((features - features[first]) ** 2) * weights).sum(axis=1)
    while len(chosen) < min(count, len(features)):
        nxt = int(np.argmax(distance))
        if distance[nxt] <= 1e-4:
            break
        chosen.append(nxt)
        distance = np.minimum(distance, (((features - features[nxt]) ** 2) * weights).sum(axis=1))
    return chosen


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 rotation, uniform scale and shift that best maps `src` points onto `dst`."""
    affine, _ = cv2.estimateAffinePartial2D(
        src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS
    )
    if affine is None:
        raise FaceError("the face's landmarks are degenerate (nose and eyes on one point)")
    return affine.astype(np.float32)


def _template(points: np.ndarray) -> np.ndarray:
    """The canonical rigid points: a face's own, moved so its mouth is MOUTH_PX wide at the
    canonical mouth centre."""
    xy = points[:, :2]
    left, right = xy[_MOUTH_CORNERS[0]], xy[_MOUTH_CORNERS[1]]
    scale = MOUTH_PX / float(np.linalg.norm(right - left))
    centre = (left + right) / 2
    return ((xy[list(RIGID)] - centre) * scale + (CROP_W / 2, _TOP)).astype(np.float32)


def _apply(affine: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return (xy @ affine[:, :2].T + affine[:, 2]).astype(np.float32)


def _mask(lips: np.ndarray, template: np.ndarray) -> np.ndarray:
    """One soft mask over every kept lip outline and the base of the nose, with a margin.

    Its upper edge lies on the nose, where every crop matches the frame best (the crops are
    aligned on it), rather than on the skin above the lip, which speech stretches.
    """
    nose = template[[RIGID.index(i) for i in _NOSE_BASE]]
    outline = np.concatenate([lips.reshape(-1, 2), nose]).astype(np.float32)
    hull = cv2.convexHull(outline).astype(np.int32)
    hard = np.zeros((CROP_H, CROP_W), np.uint8)
    cv2.fillConvexPoly(hard, hull, (255,))
    grow = round(2 * _MARGIN * MOUTH_PX) | 1
    grown = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    soft = cv2.GaussianBlur(grown.astype(np.float32) / 255, (0, 0), _FEATHER * MOUTH_PX)
    edge = round(_FEATHER * MOUTH_PX)  # nothing at the crop's own border
    border = np.zeros((CROP_H, CROP_W), np.float32)
    border[edge:-edge, edge:-edge] = 1.0
    inside = cv2.GaussianBlur(border, (0, 0), edge / 2)
    return np.asarray(soft * inside, np.float32)


@dataclass(frozen=True)
class MouthBank:
    """The kept mouths of one person and how to choose and place them."""

    crops: np.ndarray  # (k, CROP_H, CROP_W, 3) uint8, canonical frame
    features: np.ndarray  # (k, 2) float32: opening 0..1, spread -1..1 (`Norms.features`)
    gaps: np.ndarray  # (k,) float32: how far the lips part in each crop, canonical pixels
    template: np.ndarray  # (len(RIGID), 2) the canonical rigid points
    mask: np.ndarray  # (CROP_H, CROP_W) float32 0..1
    norms: Norms

    @property
    def rest(self) -> int:
        """The most closed mouth, worn when the person is silent."""
        return _most_closed(self.features)

    def save(self, path: Path) -> None:
        n = self.norms
        np.savez_compressed(
            path,
            crops=self.crops,
            features=self.features,
            gaps=self.gaps,
            template=self.template,
            mask=self.mask,
            norms=np.array([n.gap_lo, n.gap_hi, n.width_lo, n.width_rest, n.width_hi]),
        )

    @staticmethod
    def load(path: Path) -> MouthBank | None:
        """The bank stored beside a loop; None for a loop made without one."""
        if not path.is_file():
            return None
        with np.load(path) as data:
            return MouthBank(
                crops=data["crops"],
                features=data["features"],
                gaps=data["gaps"],
                template=data["template"],
                mask=data["mask"],
                norms=Norms(*(float(v) for v in data["norms"])),
            )

    def query(self, pose: MouthPose) -> np.ndarray:
        """The (opening, spread) a pose asks for, on the bank's scales."""
        opening, spread = pose_strengths(pose)
        widest = max(s for _, s in SHAPES.values())
        roundest = -min(s for _, s in SHAPES.values())
        return np.array([opening, spread / (widest if spread >= 0 else roundest)], np.float32)

    def nearest(self, target: np.ndarray) -> np.ndarray:
        """Squared weighted distance from `target` (opening, spread) to every kept mouth."""
        weights = np.array([1.0, _SPREAD_WEIGHT], np.float32)
        return (((self.features - target) ** 2) * weights).sum(axis=1)

    def choose(self, poses: Sequence[MouthPose]) -> list[int]:
        """One kept mouth per pose: the nearest, unless the previous is within HYSTERESIS."""
        picks: list[int] = []
        for pose in poses:
            distance = self.nearest(self.query(pose))
            best = int(np.argmin(distance))
            if picks and distance[picks[-1]] <= distance[best] + HYSTERESIS:
                best = picks[-1]
            picks.append(best)
        return picks

    def placement(self, points: np.ndarray) -> np.ndarray:
        """The 2x3 map from the canonical crop onto a frame whose face has these landmarks."""
        return _similarity(self.template, np.asarray(points)[list(RIGID), :2])

    @cached_property
    def _extent(self) -> tuple[int, int, int, int]:
        """The mask's bounding box in the crop (left, top, right, bottom): all a paste covers."""
        x, y, w, h = cv2.boundingRect((self.mask > 1 / 255).astype(np.uint8))
        return x, y, x + w, y + h

    def _region(
        self, placement: np.ndarray, shape: tuple[int, ...]
    ) -> tuple[slice, slice, np.ndarray, tuple[int, int]] | None:
        """The frame rows and columns the placed crop covers, its map into them, their size."""
        height, width = shape[:2]
        left, top, right, bottom = self._extent
        corners = _apply(
            placement, np.array([[left, top], [right, top], [left, bottom], [right, bottom]])
        )
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            return None
        local = placement.copy()
        local[:, 2] -= (x0, y0)
        return slice(y0, y1), slice(x0, x1), local, (x1 - x0, y1 - y0)

    def footprint(self, placement: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The blend's weight (0..1) over a whole frame of this shape: where mouths go."""
        weight = np.zeros(shape[:2], np.float32)
        region = self._region(placement, shape)
        if region is not None:
            rows, cols, local, size = region
            weight[rows, cols] = cv2.warpAffine(self.mask, local, size, flags=cv2.INTER_LINEAR)
        return weight

    def gap(self, mouth: int, placement: np.ndarray) -> float:
        """How far the lips part in kept mouth `mouth` once placed, in frame pixels."""
        return float(self.gaps[mouth] * np.sqrt(abs(np.linalg.det(placement[:, :2]))))

    @cached_property
    def _alpha(self) -> np.ndarray:
        """The mask as uint8 (warped four times faster than float)."""
        return np.round(self.mask * 255).astype(np.uint8)

    def paste(self, frame: np.ndarray, mouth: int, placement: np.ndarray) -> None:
        """Blend kept mouth `mouth` into `frame` (in place) where `placement` puts it, shifted
        to the frame's colour where the blend's edge is."""
        region = self._region(placement, frame.shape)
        if region is None:
            return
        rows, cols, local, size = region
        crop = cv2.warpAffine(self.crops[mouth], local, size, flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(self._alpha, local, size, flags=cv2.INTER_LINEAR)
        roi = np.ascontiguousarray(frame[rows, cols])
        ring = ((alpha > 255 * _RING[0]) & (alpha < 255 * _RING[1])).astype(np.uint8)
        if cv2.countNonZero(ring):
            shift = np.subtract(cv2.mean(roi, ring), cv2.mean(crop, ring))
            # A scalar tuple: OpenCV adds it per channel, saturating (the stubs miss the form).
            crop = cv2.add(crop, tuple(float(v) for v in shift))  # type: ignore[call-overload]
        weight = alpha.astype(np.float32) * np.float32(1 / 255)
        frame[rows, cols] = cv2.blendLinear(crop, roi, weight, 1 - weight)


def build_bank(
    frames: Iterable[np.ndarray], points: Sequence[np.ndarray | None]
) -> MouthBank | None:
    """Collect the kept mouths from a video's frames (RGB, in order) and their landmarks (None
    for a frame without a usable face); None when the lips barely move in the whole video."""
    usable = [i for i, p in enumerate(points) if p is not None]
    if len(usable) < 2:
        return None
    stacked = np.stack([points[i] for i in usable]).astype(np.float32)  # type: ignore[misc]
    norms = _norms(stacked)
    if norms is None:
        return None
    features = norms.features(stacked)
    kept = _cover(features, BANK_SIZE)
    template = _template(stacked[kept[0]])
    wanted = {usable[j]: slot for slot, j in enumerate(kept)}
    last = max(wanted)
    crops = np.zeros((len(kept), CROP_H, CROP_W, 3), np.uint8)
    lips = np.zeros((len(kept), len(LIPS_OUTER), 2), np.float32)
    gaps = np.zeros(len(kept), np.float32)
    for k, frame in enumerate(frames):
        slot = wanted.get(k)
        if slot is None:
            continue
        face = stacked[kept[slot]]
        to_crop = _similarity(face[list(RIGID), :2], template)
        crops[slot] = cv2.warpAffine(
            frame,
            to_crop,
            (CROP_W, CROP_H),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        lips[slot] = _apply(to_crop, face[list(LIPS_OUTER), :2])
        gaps[slot] = lip_gap_px(_apply(to_crop, face[:, :2])[None])[0]
        if k >= last:
            break
    return MouthBank(crops, features[kept], gaps, template, _mask(lips, template), norms)
