"""Fake `get_facerender_data`: what the renderer needs to know about one clip."""

from __future__ import annotations

import json
import os


def get_facerender_data(
    coeff_path: str,
    pic_path: str,
    first_coeff_path: str,
    audio_path: str,
    batch_size: int,
    input_yaw_list: list[int] | None = None,
    input_pitch_list: list[int] | None = None,
    input_roll_list: list[int] | None = None,
    expression_scale: float = 1.0,
    still_mode: bool = False,
    preprocess: str = "crop",
    size: int = 256,
) -> dict[str, object]:
    with open(coeff_path) as f:
        frames = json.load(f)["num_frames"]
    return {
        "frame_num": frames,
        "source_image": pic_path,
        "video_name": os.path.splitext(os.path.basename(coeff_path))[0],
        "audio_path": audio_path,
    }
