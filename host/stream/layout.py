"""Where each overlay layer sits, for portrait and landscape programs of any size.

The avatar's head is in the upper middle of the frame, so text stays out of it: the
comment sits in a thin band at the top, the caption at the bottom, and the product card
beside the body (lower left in portrait, right side in landscape), above the caption.
Sizes scale with the short side of the frame, so 1080x1920 looks like 720x1280, only sharper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]

CAPTION_MAX_LINES = 3
COMMENT_MAX_LINES = 2


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    label_corner: Corner
    label_height: int = 0  # 0 when the label is hidden

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
    def margin(self) -> int:
        return self.px(24)

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
        """(left, width) of the caption box; it is anchored to the bottom margin."""
        width = self.width - 2 * self.margin if self.portrait else round(self.width * 0.6)
        return (self.width - width) // 2, width

    def caption_bottom(self) -> int:
        """Bottom edge of the caption box, above the label when the label is at the bottom."""
        bottom = self.height - self.margin
        if self.label_height and self.label_corner.startswith("bottom"):
            bottom -= self.label_height + self.px(12)
        return bottom

    def caption_reserved_top(self) -> int:
        """Top of the band kept for the tallest caption; the card sits above it."""
        tallest = CAPTION_MAX_LINES * self.caption_line_height + 2 * self.caption_pad
        return self.caption_bottom() - tallest

    def comment_box(self) -> tuple[int, int, int]:
        """(left, top, max width) of the comment, below the label when the label is on top."""
        top = self.margin
        if self.label_height and self.label_corner.startswith("top"):
            top += self.label_height + self.px(12)
        width = self.width - 2 * self.margin if self.portrait else round(self.width * 0.3)
        return self.margin, top, width

    @property
    def product_side(self) -> Literal["left", "right"]:
        """The side of the frame the product is shown on, so the host gestures towards it."""
        return "left" if self.portrait else "right"

    def card_box(self) -> tuple[int, int, int]:
        """(left, bottom, width) of the product card."""
        if self.portrait:
            width = round(self.width * 0.5)
            left = self.margin
        else:
            width = round(self.width * 0.27)
            left = self.width - self.margin - width
        return left, self.caption_reserved_top() - self.px(16), width

    def label_origin(self, size: tuple[int, int]) -> tuple[int, int]:
        """Top-left corner for a label of (width, height) in the configured corner."""
        w, h = size
        x = self.margin if self.label_corner.endswith("left") else self.width - self.margin - w
        y = self.margin if self.label_corner.startswith("top") else self.height - self.margin - h
        return x, y
