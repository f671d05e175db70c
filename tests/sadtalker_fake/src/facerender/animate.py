"""Fake `AnimateFromCoeff`: encodes a real tiny H.264 MP4 of the source image, mouth bar moving."""

from __future__ import annotations

import os

import av
import numpy as np
from PIL import Image
from src.utils.preprocess import load_checkpoint


class AnimateFromCoeff:
    def __init__(self, sadtalker_path: dict[str, object], device: str) -> None:
        load_checkpoint(sadtalker_path)

    def generate(
        self,
        x: dict[str, object],
        video_save_dir: str,
        pic_path: str,
        crop_info: object,
        enhancer: str | None = None,
        background_enhancer: str | None = None,
        preprocess: str = "crop",
        img_size: int = 256,
    ) -> str:
        size = 64
        image = Image.open(str(x["source_image"])).convert("RGB").resize((size, size))
        base = np.asarray(image)
        path = os.path.join(video_save_dir, f"{x['video_name']}.mp4")
        with av.open(path, "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
            for k in range(int(x["frame_num"])):  # type: ignore[call-overload]
                frame = base.copy()
                frame[40 : 40 + (k % 8), 20:44] = 0
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
        return path
