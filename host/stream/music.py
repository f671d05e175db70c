"""The background music bed: one file, looped forever under the program's audio.

The file is decoded once, when the bed is built, so a missing or unreadable file stops the
session before it starts instead of going silent mid-stream. The bed plays at `level_db`
(relative to the file's own level) under silence and `duck_db` lower while the host speaks.
The gain moves between the two linearly in dB over `ramp_s`, sample by sample, and carries
over from one frame to the next, so ducking never clicks or zippers. The loop point is a
short equal-power crossfade of the file's tail into its head.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from host.errors import HostError

LOOP_CROSSFADE_S = 0.05  # tail-into-head crossfade at the loop point


class MusicBed:
    def __init__(
        self, path: Path, rate: int, spf: int, level_db: float, duck_db: float, ramp_s: float
    ) -> None:
        self.spf = spf
        self.level_db = level_db
        self.duck_db = duck_db
        self._loop = _seamless_loop(_decode(path, rate), round(rate * LOOP_CROSSFADE_S))
        self._pos = 0
        self._gain_db = level_db  # starts at rest: the first frame is not a ramp
        # dB per sample, so a full duck (or release) takes ramp_s
        self._step_db = abs(duck_db) / (ramp_s * rate) if ramp_s > 0 else float("inf")

    def mix(self, speech: np.ndarray, speaking: bool) -> np.ndarray:
        """One frame of program audio: `speech` (int16) over the bed, ducked if `speaking`."""
        n = len(speech)
        if n != self.spf:
            raise ValueError(f"music bed mixes frames of {self.spf} samples, got {n}")
        gain = 10.0 ** (self._gains_db(n, speaking) / 20.0)
        mixed = speech.astype(np.float32) + self._take(n) * gain
        return np.clip(np.rint(mixed), -32768, 32767).astype(np.int16)

    def _gains_db(self, n: int, speaking: bool) -> np.ndarray:
        """The gain for each of the next `n` samples, moving toward the target and holding it."""
        target = self.level_db + (self.duck_db if speaking else 0.0)
        start = self._gain_db
        if start == target:
            return np.full(n, target, np.float32)
        steps = np.arange(1, n + 1, dtype=np.float64) * self._step_db
        if target < start:
            gains = np.maximum(start - steps, target)
        else:
            gains = np.minimum(start + steps, target)
        self._gain_db = float(gains[-1])
        return gains.astype(np.float32)

    def _take(self, n: int) -> np.ndarray:
        """The next `n` samples of the loop (float32, int16 scale), wrapping around."""
        idx = (self._pos + np.arange(n)) % len(self._loop)
        self._pos = (self._pos + n) % len(self._loop)
        return self._loop[idx]


def _decode(path: Path, rate: int) -> np.ndarray:
    """The whole file as mono float32 at `rate`, on the int16 scale (any format FFmpeg reads)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise HostError(f"music file {path} has no audio track")
            resampler = av.AudioResampler(format="fltp", rate=rate)  # keeps the channels
            pieces: list[np.ndarray] = []
            for frame in container.decode(container.streams.audio[0]):
                pieces.extend(_mono(f) for f in resampler.resample(frame))
            pieces.extend(_mono(f) for f in resampler.resample(None))
    except HostError:
        raise
    except (av.FFmpegError, OSError, ValueError) as error:
        raise HostError(f"music file {path} cannot be read: {error}") from error
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if len(samples) < rate // 10:
        raise HostError(f"music file {path} holds no audio (under 0.1 s decoded)")
    return (samples * 32767.0).astype(np.float32)


def _mono(frame: av.AudioFrame) -> np.ndarray:
    """The channels' average: the file's own level for a centred mix, and it cannot clip."""
    return np.asarray(frame.to_ndarray(), np.float32).mean(axis=0)


def _seamless_loop(samples: np.ndarray, fade: int) -> np.ndarray:
    """Fold the last `fade` samples into the first ones, so the end runs on into the start.

    The loop is `fade` samples shorter than the file: its head fades in the file's start
    while the file's tail fades out, and its last sample is the one just before that tail.
    """
    fade = min(fade, len(samples) // 4)
    if fade == 0:
        return samples
    loop = samples[:-fade].copy()
    t = (np.arange(fade, dtype=np.float32) + 0.5) / fade
    fade_in, fade_out = np.sin(t * np.pi / 2), np.cos(t * np.pi / 2)
    loop[:fade] = samples[:fade] * fade_in + samples[-fade:] * fade_out
    return loop
