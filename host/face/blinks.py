"""The blink schedule every animator shares: natural gaps, computable for any frame alone.

One blink falls in each 4.25 s slot at a seeded random offset (gaps of about 2.5 to 6 s, as
people blink while talking to a camera), so a renderer in any process can tell the eye
state of frame k without having rendered frames 0..k-1.
"""

from __future__ import annotations

import math

SLOT_S = 4.25
JITTER_S = 1.75
BLINK_S = 0.16


def unit_hash(seed: int, i: int) -> float:
    """A stable pseudo-random number in [0, 1) for (seed, i); splitmix64 finaliser."""
    mask = (1 << 64) - 1
    x = (seed * 0x9E3779B97F4A7C15 + i * 0xBF58476D1CE4E5B9 + 0x632BE59BD9B4E019) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return (x ^ (x >> 31)) / float(1 << 64)


def eyelid_closure(frame_index: int, fps: int, seed: int) -> float:
    """How far the eyelids are shut at this frame: 0 open, 0.5 half-way, 1 shut."""
    slot_frames = SLOT_S * fps
    slot = math.floor(frame_index / slot_frames)
    start = round(slot * slot_frames + unit_hash(seed, slot) * JITTER_S * fps)
    length = max(3, round(BLINK_S * fps))
    k = frame_index - start
    if not 0 <= k < length:
        return 0.0
    return 0.5 if k in (0, length - 1) else 1.0
