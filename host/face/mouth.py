"""Speech audio (and visemes, where the voice knows them) to one mouth pose per video frame.

Openness follows the loudness of each frame's own audio window: it is linear in RMS between
a noise floor and the utterance's loud level, so the mouth closes in pauses and opens most
on stressed syllables. Smoothing is centred (no lag), since a whole chunk is known upfront.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from host.face.base import MouthPose
from host.voice.base import MouthShape, Viseme

_FLOOR_ABS = 0.002  # RMS (full scale 1.0, about -54 dBFS) below which a frame is silence
_FLOOR_REL = 0.08  # ... or below this fraction of the utterance's loud level
_LOUD_PERCENTILE = 95
_SMOOTH = np.array([0.2, 0.6, 0.2])


def _as_float(pcm: np.ndarray) -> np.ndarray:
    if np.issubdtype(pcm.dtype, np.integer):
        return pcm.astype(np.float32) / float(np.iinfo(pcm.dtype).max)
    return pcm.astype(np.float32)


def frame_rms(pcm: np.ndarray, sample_rate: int, fps: int) -> np.ndarray:
    """RMS of each video frame's audio window; frame k covers samples [k*spf, (k+1)*spf)."""
    x = _as_float(np.asarray(pcm).reshape(-1))
    n = -(-len(x) * fps // sample_rate)
    edges = np.minimum((np.arange(n + 1) * sample_rate) // fps, len(x))
    sums = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    return np.sqrt((sums[edges[1:]] - sums[edges[:-1]]) / counts)


def _shape_at(t: float, visemes: Sequence[Viseme]) -> MouthShape | None:
    for v in visemes:
        if v.start <= t < v.end:
            return v.shape
    return None


def mouth_track(
    pcm: np.ndarray, sample_rate: int, fps: int, visemes: Sequence[Viseme] = ()
) -> list[MouthPose]:
    """One pose per video frame of `pcm`: ceil(len(pcm) / (sample_rate / fps)) poses."""
    rms = frame_rms(pcm, sample_rate, fps)
    if len(rms) == 0:
        return []
    level = np.zeros_like(rms)
    audible = rms[rms > _FLOOR_ABS]
    loud = float(np.percentile(audible, _LOUD_PERCENTILE)) if len(audible) else 0.0
    floor = max(_FLOOR_ABS, _FLOOR_REL * loud)
    voiced = rms > floor
    if voiced.any() and loud > floor:
        level = np.clip((rms - floor) / (loud - floor), 0.0, 1.0)
        padded = np.pad(level, 1, mode="edge")
        level = np.convolve(padded, _SMOOTH, mode="valid") * voiced
    poses = []
    for k, value in enumerate(level.tolist()):
        shape = _shape_at((k + 0.5) / fps, visemes) if visemes else None
        poses.append(MouthPose(value, shape or ("open" if value > 0 else "rest")))
    return poses
