"""Fake `get_data`: the batch is the audio's length in 25 fps frames."""

from __future__ import annotations

import math
import os
import wave


def get_data(
    first_coeff_path: str,
    audio_path: str,
    device: str,
    ref_eyeblink_coeff_path: str | None,
    still: bool = False,
) -> dict[str, object]:
    with wave.open(audio_path) as w:
        seconds = w.getnframes() / w.getframerate()
    return {
        "num_frames": max(1, math.ceil(seconds * 25)),
        "seconds": seconds,
        "audio_name": os.path.splitext(os.path.basename(audio_path))[0],
        "pic_name": os.path.splitext(os.path.basename(first_coeff_path))[0],
    }
