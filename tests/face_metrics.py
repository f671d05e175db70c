"""Pixel measures of the illustrated avatar's mouth and eyes, for tests.

They read only the frame (no animator state), so they work the same on rendered frames and
on frames decoded from an encoded stream. Both count dark pixels by luma, which H.264 keeps
far better than colour, inside a box the animator publishes (`mouth_box`, `eye_box`).
"""

from __future__ import annotations

import io

import av
import cv2
import numpy as np

_DARK_LUMA = 100  # mouth interior, tongue, iris, lashes; skin, lips and teeth are brighter
_EYES_CLOSED_BELOW = 0.07  # dark share of the eye box: open ~0.17, half-shut ~0.085, shut ~0.045


def _dark_fraction(frame: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    patch = frame[y : y + h, x : x + w].astype(np.float32)
    luma = patch @ np.array([0.299, 0.587, 0.114], np.float32)
    return float((luma < _DARK_LUMA).mean())


def mouth_openness(frame: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of the mouth box that is dark mouth interior: 0 when the lips are closed."""
    return _dark_fraction(frame, box)


def eye_darkness(frame: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of the eye box that is iris, pupil or lash: high when open, low when shut."""
    return _dark_fraction(frame, box)


def eyes_closed(frame: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    return eye_darkness(frame, box) < _EYES_CLOSED_BELOW


def h264_round_trip(frames: list[np.ndarray], fps: int = 25) -> list[np.ndarray]:
    """The frames after an H.264 encode and decode, as a viewer's player would see them."""
    height, width = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 2_500_000
        stream.options = {"preset": "veryfast", "tune": "zerolatency"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, "r") as inp:
        return [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]


def stroke_contrast(
    frame: np.ndarray, base: np.ndarray, box: tuple[int, int, int, int], line_px: float
) -> float:
    """How much darker thin lines (a drawn outline, a hairline gap) are in `frame` than in
    `base` inside `box`: the 99th percentile of the rise in luma black-hat, in luma levels.

    A black-hat (closing minus image) with a kernel `line_px` wide lights up dark structures
    thinner than that and ignores wide dark areas such as an open mouth.
    """
    x, y, w, h = box
    side = max(3, round(line_px)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))

    def black_hat(image: np.ndarray) -> np.ndarray:
        luma = image[y : y + h, x : x + w].astype(np.float32) @ np.array(
            [0.299, 0.587, 0.114], np.float32
        )
        return cv2.morphologyEx(luma, cv2.MORPH_BLACKHAT, kernel)

    return float(np.percentile(black_hat(frame) - black_hat(base), 99))
