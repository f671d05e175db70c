"""Fake `CropAndExtract`: "loading" reads the JSON checkpoint and counts the load."""

from __future__ import annotations

import json
import os
import shutil


def load_checkpoint(paths: dict[str, object]) -> dict[str, float]:
    """Read the fake checkpoint (JSON) and log one load next to it."""
    checkpoint = str(paths["checkpoint"])
    with open(checkpoint) as f:
        config: dict[str, float] = json.load(f)
    with open(os.path.join(os.path.dirname(checkpoint), "loads.log"), "a") as log:
        log.write(f"{os.getpid()}\n")
    return config


class CropAndExtract:
    def __init__(self, sadtalker_path: dict[str, object], device: str) -> None:
        self.config = load_checkpoint(sadtalker_path)

    def generate(
        self,
        input_path: str,
        save_dir: str,
        crop_or_resize: str = "crop",
        source_image_flag: bool = False,
        pic_size: int = 256,
    ) -> tuple[str, str, tuple[tuple[int, int], None, None]]:
        print("3DMM Extraction for source image")  # SadTalker prints progress on stdout
        name = os.path.splitext(os.path.basename(input_path))[0]
        coeff_path = os.path.join(save_dir, name + ".mat")
        png_path = os.path.join(save_dir, name + ".png")
        shutil.copyfile(input_path, png_path)
        with open(coeff_path, "w") as f:
            json.dump({"image": input_path}, f)
        return coeff_path, png_path, ((pic_size, pic_size), None, None)
