"""A synthetic streamer who talks: test footage for loop avatars built from speaking video.

No footage of a real person talking can be had here, so a clip is made from scikit-image's
public-domain astronaut: her mouth is opened, spread and rounded by the photo warp
(`host.face.mouth_warp`) to a random schedule of mouth shapes, then the picture sways,
zooms and drifts in light like handheld footage. What the clip exercises is the real path:
the face mesh tracks it, the mouth bank indexes its frames and pastes them back. What it
cannot show is a real mouth's teeth and tongue: its interiors are the warp's own.
"""

from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data

from host.face.base import MouthPose
from host.face.landmarks import detect_faces
from host.face.mouth_warp import animate, build_rig
from host.voice.base import MouthShape

SPEAKING: tuple[MouthShape, ...] = ("open", "wide", "round", "teeth", "closed", "rest")


def talking_poses(count: int, fps: int, seed: int = 3) -> list[MouthPose]:
    """Syllables of 0.12-0.3 s in random shapes and loudness, with short closures between."""
    rng = np.random.default_rng(seed)
    poses: list[MouthPose] = []
    while len(poses) < count:
        shape = SPEAKING[int(rng.integers(len(SPEAKING)))]
        level = float(rng.uniform(0.35, 1.0))
        frames = max(2, round(rng.uniform(0.12, 0.3) * fps))
        for i in range(frames):
            rise = math.sin(math.pi * (i + 0.5) / frames) ** 0.5  # opens and closes per syllable
            poses.append(MouthPose(level * rise, shape))
        poses.extend([MouthPose(0.0, "rest")] * int(rng.integers(0, 3)))
    return poses[:count]


def talking_clip(
    path: Path,
    seconds: float = 7.0,
    fps: int = 25,
    size: tuple[int, int] = (448, 576),
    zoom: float = 1.6,
) -> Path:
    """Write the clip (H.264, `size` = width, height) to `path`."""
    image = data.astronaut()
    rig = build_rig(detect_faces(image)[0], image.shape)
    w, h = size
    count = round(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "16"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for k, pose in enumerate(talking_poses(count, fps)):
            t = k / fps
            face = image.copy()
            animate(face, image, rig, pose, 0.0)
            scale = zoom * (1.0 + 0.02 * math.sin(2 * math.pi * t / 6.1))
            dx = w / 2 - 256 * scale + 6 * math.sin(2 * math.pi * t / 5.3)
            dy = h / 2 - 200 * scale + 4 * math.sin(2 * math.pi * t / 3.7)
            affine = np.array([[scale, 0, dx], [0, scale, dy]])
            frame = cv2.warpAffine(
                face, affine, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
            )
            light = 1.0 + 0.05 * math.sin(2 * math.pi * t / 7.0)
            picture = np.clip(frame * light, 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return path
