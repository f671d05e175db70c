"""Voices speak at their own rate (22050 Hz for Piper and espeak); the program runs at 48 kHz.

libswresample (through PyAV) does the conversion with a proper anti-aliasing filter. Its
output length after flushing can be off by a few samples from the ideal, and the program
counts samples to keep A/V sync, so the result is padded or trimmed to exactly
round(n * dst / src).
"""

from __future__ import annotations

import av
import numpy as np


def resample(pcm: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Mono int16 `pcm` at `src_rate` as mono int16 at `dst_rate`, of exactly the ideal length."""
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    samples = np.ascontiguousarray(pcm, dtype=np.int16).reshape(-1)
    if src_rate == dst_rate:
        return samples.copy()
    target = round(len(samples) * dst_rate / src_rate)
    if target == 0:
        return np.zeros(0, dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = src_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=dst_rate)
    pieces = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    out = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    if len(out) >= target:
        return out[:target].copy()
    return np.concatenate([out, np.zeros(target - len(out), dtype=np.int16)])
