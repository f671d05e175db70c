"""What the program consumes each tick, and the protocols around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from host.catalog.facts import ProductFacts
from host.stream.onair import OnAirComment
from host.trace import Trace


@dataclass(frozen=True)
class Overlay:
    """Content of the layers above the avatar. Equal overlays render once and are reused."""

    caption: str | None = None  # the line being spoken
    spoken: int | None = None  # how many characters of the caption have been said so far
    comment: OnAirComment | None = None  # the comment being answered; made only by `on_air`
    product: ProductFacts | None = None  # product card: name, live price, link number
    showcase: bool = False  # the line is about `product`: show it large beside the host


@dataclass
class ProgramFrame:
    image: np.ndarray  # avatar layer, RGB uint8 (height, width, 3)
    audio: np.ndarray  # int16 mono at the program rate, exactly audio_rate // fps samples
    overlay: Overlay
    trace: Trace | None = None  # stamped with `stages` when the frame leaves the program
    stages: tuple[str, ...] = ("first_frame_out",)


class FrameSource(Protocol):
    async def next_frame(self, index: int) -> ProgramFrame:
        """The frame at program position `index`.

        In realtime this must return at once (an idle frame when nothing is ready); in fast
        mode it may wait for in-flight work so the output matches an infinitely fast machine.
        """
        ...
