"""Fake `Audio2Coeff`: misbehaves on request (by audio file name), else writes the coefficients."""

from __future__ import annotations

import json
import os
import time

from src.utils.preprocess import load_checkpoint


class Audio2Coeff:
    def __init__(self, sadtalker_path: dict[str, object], device: str) -> None:
        self.slowdown = float(load_checkpoint(sadtalker_path).get("slowdown", 0.0))

    def generate(
        self,
        batch: dict[str, object],
        coeff_save_dir: str,
        pose_style: int,
        ref_pose_coeff_path: str | None = None,
    ) -> str:
        name = str(batch["audio_name"])
        if "sleep" in name:
            time.sleep(3600)
        if "crash" in name:
            os._exit(3)
        if "bad" in name:
            raise ValueError(f"cannot read audio {name}")
        time.sleep(self.slowdown * float(batch["seconds"]))  # type: ignore[arg-type]
        path = os.path.join(coeff_save_dir, f"{batch['pic_name']}##{name}.mat")
        with open(path, "w") as f:
            json.dump({"num_frames": batch["num_frames"]}, f)
        return path
