"""How the built-in host moves: idle drift that never repeats, nods on stressed syllables,
and a gesture towards the product while it is talked about.

Idle motion is seeded smooth noise (a random value at every knot, eased between knots, two
octaves), so there is no period at all: no loop shows however long the stream runs, and
any frame's pose is computed from its index alone, in any process. Nods come from the
sentence's own mouth track, known whole before its first frame. The gesture is the only
state: `Gesture.present` starts an eased ramp of each arm towards its new target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from host.face.base import MouthPose, Side
from host.face.blinks import unit_hash

SIGNS: dict[Side, int] = {"left": -1, "right": 1}
RAMP_S = 0.6  # an arm's lift or drop towards the product
NOD_S = 0.5  # one nod, down and back up
NOD_GAP_S = 0.9  # fewest seconds between the starts of two nods
_ACCENT, _BEFORE = 0.6, 0.4  # a syllable this open after ones no wider than this is stressed
_LOOKBACK_S = 0.24

# knot spacing (s) of each smooth-noise channel; distinct and irrational in ratio
_HEAD_X, _HEAD_Y, _TURN, _PITCH, _HAND = 2.3, 1.9, 3.3, 2.9, 1.3
_BREATH_S = 4.3


def smooth_noise(seed: int, channel: int, t: float, spacing: float) -> float:
    """Seeded value noise in [-1, 1]: random at knots `spacing` apart, eased in between."""

    def knot(i: int) -> float:
        return 2 * unit_hash(seed * 131 + channel, i) - 1

    def octave(x: float) -> float:
        i = math.floor(x)
        u = x - i
        ease = u * u * u * (u * (6 * u - 15) + 10)
        return knot(i) + (knot(i + 1) - knot(i)) * ease

    return 0.7 * octave(t / spacing) + 0.3 * octave(t / spacing * 2.71 + 17.3)


@dataclass(frozen=True)
class Pose:
    """Where every part is at one frame, in pixels (reach: 0 arm at rest .. 1 held out)."""

    head_x: float
    head_y: float
    face_x: float  # the face sprites' offset on the head: turning ...
    face_y: float  # ... and nodding
    lift: float  # the body, breathing
    reach_left: float
    reach_right: float


@dataclass(frozen=True)
class Ranges:
    """The motion's size, in pixels, for a face half-width `a`."""

    head_x: float
    head_y: float
    turn: float
    pitch: float
    breath: float
    nod: float
    lean: float
    look: float  # how far the face turns towards the product

    @classmethod
    def for_face(cls, a: float) -> Ranges:
        return cls(
            head_x=0.035 * a,
            head_y=0.02 * a,
            turn=0.035 * a,
            pitch=0.008 * a,
            breath=0.018 * a,
            nod=0.06 * a,
            lean=0.02 * a,
            look=0.045 * a,
        )

    def face_reach(self) -> tuple[float, float]:
        """The farthest the face sprites move on the head (x, y)."""
        return self.turn + self.look, self.pitch + 0.5 * self.nod


Ramp = tuple[int, float, float]  # (first frame, reach then, reach aimed at)


@dataclass(frozen=True)
class GestureState:
    """All a gesture remembers, so another process (a render pool) moves the arms alike."""

    side: Side | None
    left: Ramp
    right: Ramp


class Gesture:
    """Each arm's reach over time: an eased ramp from where it was to its new target."""

    def __init__(self, fps: int) -> None:
        self._frames = max(1, round(RAMP_S * fps))
        self._ramps: dict[int, Ramp] = {-1: (0, 0.0, 0.0), 1: (0, 0.0, 0.0)}
        self.side: Side | None = None

    def state(self) -> GestureState:
        return GestureState(self.side, self._ramps[-1], self._ramps[1])

    def restore(self, state: GestureState) -> None:
        self.side = state.side
        self._ramps = {-1: state.left, 1: state.right}

    def present(self, side: Side | None, frame_index: int) -> None:
        if side == self.side:
            return
        self.side = side
        for sign in (-1, 1):
            target = 1.0 if side is not None and SIGNS[side] == sign else 0.0
            self._ramps[sign] = (frame_index, self.reach(sign, frame_index), target)

    def reach(self, sign: int, frame_index: int) -> float:
        start, begin, end = self._ramps[sign]
        u = min(max((frame_index - start) / self._frames, 0.0), 1.0)
        return begin + (end - begin) * u * u * (3 - 2 * u)


def nods(poses: Sequence[MouthPose], fps: int) -> list[float]:
    """How far down the head is nodding (0..1) at each frame of a sentence.

    A nod starts on a stressed syllable (the mouth opening wide after a quieter stretch),
    at most one per NOD_GAP_S, and only where it can finish inside the sentence, so the
    head is back in place when the next line or the idle motion takes over.
    """
    length = max(2, round(NOD_S * fps))
    lookback, gap = max(1, round(_LOOKBACK_S * fps)), round(NOD_GAP_S * fps)
    amount = [0.0] * len(poses)
    last = -gap
    for k, pose in enumerate(poses):
        before = max((p.open for p in poses[max(0, k - lookback) : k]), default=0.0)
        if (
            pose.open >= _ACCENT
            and before <= _BEFORE
            and k - last >= gap
            and k + length <= len(poses)
        ):
            last = k
            for j in range(length):
                amount[k + j] = max(amount[k + j], math.sin(math.pi * j / length))
    return amount


def pose_at(
    frame_index: int, fps: int, seed: int, size: Ranges, gesture: Gesture, nod: float = 0.0
) -> Pose:
    """The whole pose at a frame: idle drift, breathing, the gesture's lean and look, a nod."""
    t = frame_index / fps
    breath = size.breath * math.sin(2 * math.pi * t / _BREATH_S + 2 * math.pi * unit_hash(seed, -1))
    left, right = gesture.reach(-1, frame_index), gesture.reach(1, frame_index)
    toward = right - left  # -1 presenting on the left .. 1 on the right
    if left or right:  # a held-out hand never freezes
        wobble = 0.06 * (1 + smooth_noise(seed, 5, t, _HAND))
        left, right = left * (1 - wobble), right * (1 - wobble)
    return Pose(
        head_x=size.head_x * smooth_noise(seed, 1, t, _HEAD_X) + size.lean * toward,
        head_y=breath + size.head_y * smooth_noise(seed, 2, t, _HEAD_Y) + size.nod * nod,
        face_x=size.turn * smooth_noise(seed, 3, t, _TURN) + size.look * toward,
        face_y=size.pitch * smooth_noise(seed, 4, t, _PITCH) + 0.5 * size.nod * nod,
        lift=breath,
        reach_left=left,
        reach_right=right,
    )
