"""Face mesh landmarks (mediapipe's 478 points) for photos and video frames, and face checks.

mediapipe 0.10.21 ships the face mesh model in its wheel, so this runs offline. Its own
face detector is the short-range one, which misses faces under about a tenth of the image
width (two people side by side, a phone photo taken from a few metres); photos are
therefore searched with the full-range detector first and the mesh is fitted on a square
crop around each face found, which also gives small faces enough pixels. Video frames use
the mesh's tracking mode, which follows one face from frame to frame.

Points are pixel coordinates of the image given. `z` is mediapipe's relative depth scaled
like x (pixels), smaller toward the camera; it is what the yaw estimate reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from host.errors import HostError

Rect = tuple[int, int, int, int]  # x, y, w, h

POINTS = 478  # 468 mesh points + 10 iris points (refined landmarks)

# Index groups of mediapipe's canonical face mesh, each ordered along its contour, from the
# image-left mouth or eye corner to the image-right one. "Right" / "left" are the subject's,
# as in mediapipe: the subject's right eye is on the image's left.
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
# The outer lip outline, once round: lower lip left to right, then upper lip right to left.
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39,
              40, 185)  # fmt: skip
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (362, 398, 384, 385, 386, 387, 388, 466, 263)
LEFT_EYE_LOWER = (362, 382, 381, 380, 374, 373, 390, 249, 263)
# The lower face contour from the image-left cheek, through the chin, to the image-right one.
JAW = (234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288,
       361, 323, 454)  # fmt: skip
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109)  # fmt: skip
NOSE_TIP = 1
RIGHT_CHEEK = 234  # image left
LEFT_CHEEK = 454  # image right

# What makes a face usable as an avatar.
MIN_FACE_PX = 100  # face oval height in the source image
MIN_BRIGHTNESS = 50.0  # mean luma (0-255) inside the face oval
MAX_YAW_DEG = 25.0
MAX_ROLL_DEG = 20.0

_CROP_GROW = 2.2  # the square crop around a detection, in detection-box sizes
_CROP_SIZE = 512  # the crop is resized to this before the mesh is fitted


class FaceError(HostError):
    """The media has no single usable face for an avatar."""


@dataclass(frozen=True)
class Face:
    """One face's landmarks in an image."""

    points: np.ndarray  # (478, 3) float32: x, y, z in pixels of the image

    def group(self, indices: tuple[int, ...]) -> np.ndarray:
        """(len(indices), 2) pixel coordinates of an index group (e.g. `LIPS_INNER_UPPER`)."""
        return self.points[list(indices), :2]

    @property
    def box(self) -> Rect:
        """The face oval's bounding box (forehead to chin, cheek to cheek)."""
        x, y, w, h = cv2.boundingRect(self.group(FACE_OVAL).astype(np.float32))
        return int(x), int(y), int(w), int(h)

    @property
    def yaw_deg(self) -> float:
        """Left-right turn: the depth difference across the cheeks; 0 when frontal."""
        right, left = self.points[RIGHT_CHEEK], self.points[LEFT_CHEEK]
        return math.degrees(math.atan2(left[2] - right[2], left[0] - right[0]))

    @property
    def roll_deg(self) -> float:
        """In-plane tilt: the angle of the line through the outer eye corners."""
        right, left = self.points[33], self.points[263]
        return math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))

    def brightness(self, image: np.ndarray) -> float:
        """Mean luma (0-255) of the RGB image inside the face oval."""
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(self.group(FACE_OVAL)).astype(np.int32)], (255,))
        luma = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        return float(cv2.mean(luma, mask=mask)[0]) if mask.any() else 0.0

    def scaled(self, scale: float, dx: float = 0.0, dy: float = 0.0) -> Face:
        """The same face after the image is scaled by `scale` and shifted by (dx, dy)."""
        return Face((self.points * scale + np.array([dx, dy, 0.0], np.float32)).astype(np.float32))

    def to_json(self) -> list[list[float]]:
        return [[round(float(v), 2) for v in p] for p in self.points]

    @staticmethod
    def from_json(data: Any) -> Face:
        points = np.asarray(data, np.float32)
        if points.shape != (POINTS, 3):
            raise FaceError(f"landmarks must be {POINTS} points of x, y, z, got {points.shape}")
        return Face(points)


def _mesh_points(result: Any, width: int, height: int) -> list[np.ndarray]:
    faces = result.multi_face_landmarks or []
    return [
        np.array([(p.x * width, p.y * height, p.z * width) for p in f.landmark], np.float32)
        for f in faces
    ]


class FaceMesh:
    """mediapipe's face mesh. `static=True` for unrelated photos, False to track a video.

    A mediapipe graph is not thread-safe and holds native resources: use one per thread and
    close it (or use it as a context manager).
    """

    def __init__(self, *, static: bool = True, max_faces: int = 1) -> None:
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static,
            max_num_faces=max_faces,
            refine_landmarks=True,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    def faces(self, image: np.ndarray) -> list[Face]:
        """Every face the mesh finds in an RGB uint8 image, as many as `max_faces`."""
        height, width = image.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(image))
        return [Face(points) for points in _mesh_points(result, width, height)]

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceMesh:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _detections(detector: Any, image: np.ndarray) -> list[Rect]:
    """Face boxes from mediapipe's full-range detector (faces up to about 5 m away)."""
    height, width = image.shape[:2]
    result = detector.process(np.ascontiguousarray(image))
    boxes = []
    for detection in result.detections or []:
        box = detection.location_data.relative_bounding_box
        boxes.append(
            (
                round(box.xmin * width),
                round(box.ymin * height),
                round(box.width * width),
                round(box.height * height),
            )
        )
    return boxes


def _mesh_in_crop(mesh: FaceMesh, image: np.ndarray, box: Rect) -> Face | None:
    """Fit the mesh on a square crop around a detection box, in the image's coordinates."""
    x, y, w, h = box
    side = max(w, h) * _CROP_GROW
    cx, cy = x + w / 2, y + h / 2
    scale = _CROP_SIZE / side
    affine = np.array(
        [[scale, 0, _CROP_SIZE / 2 - cx * scale], [0, scale, _CROP_SIZE / 2 - cy * scale]]
    )
    crop = cv2.warpAffine(
        image,
        affine,
        (_CROP_SIZE, _CROP_SIZE),
        flags=cv2.INTER_AREA,
        borderMode=cv2.BORDER_REPLICATE,
    )
    found = mesh.faces(crop)
    if not found:
        return None
    points = found[0].points.copy()
    points[:, 0] = (points[:, 0] - affine[0, 2]) / scale
    points[:, 1] = (points[:, 1] - affine[1, 2]) / scale
    points[:, 2] = points[:, 2] / scale
    return Face(points)


class FaceFinder:
    """The mediapipe graphs `detect_faces` runs, kept open across many photos (a video's
    sampled frames): building them costs most of a single call. Close it, or use it as a
    context manager; one per thread, like `FaceMesh`."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.5
        )
        self._mesh = FaceMesh(static=True)
        self._whole: FaceMesh | None = None  # opened the first time the detector finds none

    def faces(self, image: np.ndarray) -> list[Face]:
        """Every face in an RGB photo, with landmarks; an empty list when there is none.

        Faces the full-range detector finds get the mesh fitted on their own crop; when it
        finds none (it is strict on very dark or very close-up faces), the mesh's own
        detector has a look at the whole image.
        """
        boxes = _detections(self._detector, image)
        if boxes:
            return [
                face for box in boxes if (face := _mesh_in_crop(self._mesh, image, box)) is not None
            ]
        if self._whole is None:
            self._whole = FaceMesh(static=True, max_faces=4)
        return self._whole.faces(image)

    def close(self) -> None:
        self._detector.close()
        self._mesh.close()
        if self._whole is not None:
            self._whole.close()

    def __enter__(self) -> FaceFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def detect_faces(image: np.ndarray) -> list[Face]:
    """Every face in one RGB photo (`FaceFinder.faces`); an empty list when there is none."""
    with FaceFinder() as finder:
        return finder.faces(image)


def usable_face(image: np.ndarray, faces: list[Face], source: str = "the image") -> Face:
    """The one face in `faces` fit to be an avatar, or a `FaceError` saying what is wrong."""
    if not faces:
        luma = float(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).mean())
        if luma < MIN_BRIGHTNESS:
            raise FaceError(f"{source} is too dark to find a face (mean brightness {luma:.0f}/255)")
        raise FaceError(f"no face found in {source}; use a clear, frontal, well-lit photo")
    if len(faces) > 1:
        raise FaceError(f"{len(faces)} faces found in {source}; the avatar needs exactly one")
    face = faces[0]
    _, _, _, height = face.box
    if height < MIN_FACE_PX:
        raise FaceError(
            f"the face in {source} is too small ({height} px tall; needs at least {MIN_FACE_PX})"
        )
    brightness = face.brightness(image)
    if brightness < MIN_BRIGHTNESS:
        raise FaceError(
            f"the face in {source} is too dark (brightness {brightness:.0f}/255; needs at least "
            f"{MIN_BRIGHTNESS:.0f}): use a better-lit photo"
        )
    if abs(face.yaw_deg) > MAX_YAW_DEG or abs(face.roll_deg) > MAX_ROLL_DEG:
        raise FaceError(
            f"the face in {source} is not frontal (turned {face.yaw_deg:.0f}°, tilted "
            f"{face.roll_deg:.0f}°; at most {MAX_YAW_DEG:.0f}° and {MAX_ROLL_DEG:.0f}°)"
        )
    return face
