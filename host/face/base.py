"""The face stage's events and protocol.

An animator works in chunks (a whole sentence of mouth poses per call), never one call per
frame, so it can later run in another process or behind a GPU worker.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from host.voice.base import MouthShape

Side = Literal["left", "right"]  # of the frame, as the viewer sees it


@dataclass(frozen=True)
class MouthPose:
    """The mouth for one video frame."""

    open: float  # 0 = closed .. 1 = wide open
    shape: MouthShape = "open"


class Animator(Protocol):
    width: int
    height: int

    def idle(self, frame_index: int) -> np.ndarray:
        """The frame at this program position with the mouth at rest (blinks, breathing)."""
        ...

    def speak(self, poses: Sequence[MouthPose], start_frame: int) -> Iterator[np.ndarray]:
        """One frame per pose, continuing the idle motion from `start_frame` (seamless splices).

        Frames are RGB uint8 arrays of shape (height, width, 3).
        """
        ...

    def present(self, side: Side | None, frame_index: int) -> None:
        """From this frame on, the product talked about is shown on `side` (None: no product
        is talked about). A host with hands gestures towards it; others ignore the hint."""
        ...

    def set_backdrop(self, image: np.ndarray) -> bool:
        """Draw the host over `image` (RGB, the frame's size) from the next frame on: the set
        with the lineup's photos (`stream/backdrop.py`). False when the animator's frames are
        the person's own picture, background and all (photo, video)."""
        ...


class PosedAnimator(ABC):
    """`idle` and `speak` for animators that draw any frame from its index and a mouth pose
    (None at rest), so speaking and idle frames at one position differ only in the mouth."""

    @abstractmethod
    def _render(self, frame_index: int, pose: MouthPose | None) -> np.ndarray: ...

    def idle(self, frame_index: int) -> np.ndarray:
        return self._render(frame_index, None)

    def set_backdrop(self, image: np.ndarray) -> bool:
        return False  # a real picture keeps its own background

    def speak(self, poses: Sequence[MouthPose], start_frame: int) -> Iterator[np.ndarray]:
        for i, pose in enumerate(poses):
            yield self._render(start_frame + i, pose)

    def present(self, side: Side | None, frame_index: int) -> None:
        """A face without hands has nothing to point with."""
        return
