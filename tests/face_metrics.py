"""Pixel measures of an avatar's mouth and eyes, for tests and benchmarks.

They read only frames (no animator state), so they work the same on rendered frames and
on frames decoded from an encoded stream. Openness counts dark pixels by luma, which H.264
keeps far better than colour, inside a box the animator publishes (`mouth_box`, `eye_box`);
strokes and seams compare a frame with the same frame before the mouth was drawn.
"""

from __future__ import annotations

import io

import av
import cv2
import numpy as np
from skimage.color import rgb2lab

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


def seam_delta_e(
    frame: np.ndarray, base: np.ndarray, weight: np.ndarray, sectors: int = 16
) -> float:
    """The colour step across a blend's soft edge that the untouched `base` does not have.

    Around the blend (`weight`, 0..1 over the frame), in each of `sectors` angular sectors,
    the mean Lab colour of a band just inside the edge (weight 0.85..0.97) minus that of a
    band just outside it (0.03..0.15) is the step across the edge; the same step on `base`
    is the face's own shading there. Returns the mean over sectors of the CIE76 distance
    between the two steps (0 = no seam; about 2.3 is a just-noticeable difference).
    """
    inside = (weight > 0.85) & (weight < 0.97)
    outside = (weight > 0.03) & (weight < 0.15)
    ys, xs = np.nonzero(weight > 0.5)
    rows, cols = np.mgrid[: weight.shape[0], : weight.shape[1]]
    angle = np.arctan2(rows - ys.mean(), cols - xs.mean())
    sector = ((angle + np.pi) / (2 * np.pi) * sectors).astype(int) % sectors
    excess = []
    for s in range(sectors):
        here_in, here_out = inside & (sector == s), outside & (sector == s)
        if here_in.sum() < 4 or here_out.sum() < 4:
            continue
        steps = []
        for image in (frame, base):
            means = np.stack([image[here_in].mean(axis=0), image[here_out].mean(axis=0)])
            lab = rgb2lab((means / 255.0)[None])[0]
            steps.append(lab[0] - lab[1])
        excess.append(float(np.linalg.norm(steps[0] - steps[1])))
    return float(np.mean(excess))


def look_book_page(
    frame: np.ndarray, close_ups: list[tuple[np.ndarray, str]], box: tuple[int, int, int, int]
) -> np.ndarray:
    """A program frame with labelled close-ups of one region (`box`) stacked beside it."""
    height = frame.shape[0]
    x, y, w, h = box
    side = height // len(close_ups)
    width = round(side * w / h)
    column = []
    for picture, label in close_ups:
        tile = cv2.resize(
            np.ascontiguousarray(picture[y : y + h, x : x + w]),
            (width, side),
            interpolation=cv2.INTER_CUBIC,
        )
        scale = side / 420
        at = (round(30 * scale), side - round(40 * scale))
        cv2.putText(
            tile, label, at, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1 + (scale > 0.6)
        )
        column.append(tile)
    stacked = np.concatenate(column)
    pad = np.zeros((height - stacked.shape[0], width, 3), np.uint8)
    return np.concatenate([frame, np.concatenate([stacked, pad])], axis=1)
