"""Where each overlay layer sits, for portrait and landscape programs of any size.

The platform preset (`platforms.py`) says which parts of the frame the viewer's app covers
and gives three clear zones: the label and the viewer comment go in `top`, the caption is
anchored to the bottom of `caption`, the product card and the showcase to the bottom of
`side`. Sizes scale with the short side of the frame, so 1080x1920 looks like 720x1280, only
sharper; the label is never shorter than LABEL_MIN_HEIGHT of the frame, so a phone viewer
can read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from host.stream.platforms import Platform, PlatformLayout, preset_for

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]

CAPTION_MAX_LINES = 3
COMMENT_MAX_LINES = 2
LABEL_MIN_HEIGHT = 0.033  # of the frame height: 3% (legible on a phone) and a margin for encoding
Side = Literal["left", "right"]


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    label_corner: Corner
    label_height: int = 0  # 0 when the label is hidden
    platform: Platform = "douyin"
    side_reserved: int = 0  # pixels at the top of the side zone kept for the countdown

    @cached_property
    def preset(self) -> PlatformLayout:
        return preset_for(self.platform, self.width, self.height)

    def zone(self, name: Literal["top", "caption", "side"]) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels of one of the preset's clear zones."""
        left, top, right, bottom = getattr(self.preset, name).pixels(self.width, self.height)
        if name == "side" and self.side_reserved:
            top += self.side_reserved + self.px(8)
        return left, top, right, bottom

    def countdown_box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the countdown: the side zone's reserved top."""
        left, top, right, _ = self.preset.side.pixels(self.width, self.height)
        return left, top, right, top + self.side_reserved

    @property
    def showcase_side(self) -> Side:
        """Which side of the host the product is shown on, so the host can gesture toward it."""
        left, _, right, _ = self.zone("side")
        return "left" if left + right < self.width else "right"

    @property
    def portrait(self) -> bool:
        return self.height >= self.width

    @property
    def scale(self) -> float:
        return min(self.width, self.height) / 720

    def px(self, size: float) -> int:
        """A length designed for a 720-pixel short side, at this frame's size."""
        return max(1, round(size * self.scale))

    @property
    def label_font(self) -> int:
        return self.px(22)

    @property
    def caption_font(self) -> int:
        return self.px(34)

    @property
    def comment_font(self) -> int:
        return self.px(26)

    @property
    def caption_line_height(self) -> int:
        return round(self.caption_font * 1.35)

    @property
    def caption_pad(self) -> int:
        """Space between the caption box's edge and its text."""
        return self.px(14)

    @property
    def comment_line_height(self) -> int:
        return round(self.comment_font * 1.35)

    def caption_box(self) -> tuple[int, int]:
        """(left, width) of the caption box; it is anchored to the bottom of its zone."""
        left, _, right, _ = self.zone("caption")
        return left, right - left

    def caption_bottom(self) -> int:
        """Bottom edge of the caption box, above the label when the label is at the bottom."""
        bottom = self.zone("caption")[3]
        if self.label_height and self.label_corner.startswith("bottom"):
            bottom -= self.label_height + self.px(12)
        return bottom

    def caption_reserved_top(self) -> int:
        """Top of the band kept for the tallest caption."""
        tallest = CAPTION_MAX_LINES * self.caption_line_height + 2 * self.caption_pad
        return self.caption_bottom() - tallest

    def comment_box(self) -> tuple[int, int, int]:
        """(left, top, max width) of the comment, below the label when the label is on top."""
        left, top, right, _ = self.zone("top")
        if self.label_height and self.label_corner.startswith("top"):
            top += self.label_height + self.px(12)
        return left, top, right - left

    def card_box(self) -> tuple[int, int, int]:
        """(left, bottom, width) of the product card and the showcase."""
        left, _, right, bottom = self.zone("side")
        return left, bottom, right - left

    def side_height(self) -> int:
        """The tallest the card or showcase may be."""
        _, top, _, bottom = self.zone("side")
        return bottom - top

    def label_origin(self, size: tuple[int, int]) -> tuple[int, int]:
        """Top-left corner for a label of (width, height): a corner of the top zone, or of the
        caption zone for the bottom corners (the caption then sits above it)."""
        w, h = size
        left, top, right, bottom = self.zone(
            "top" if self.label_corner.startswith("top") else "caption"
        )
        x = left if self.label_corner.endswith("left") else right - w
        y = top if self.label_corner.startswith("top") else bottom - h
        return x, y
