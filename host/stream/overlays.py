"""The layers above the avatar: caption, viewer comment, product card and the AI label.

Text goes through the typesetter (`typeset.py`): CJK and colour emoji, never a tofu box.
A viewer comment is shown only as the `OnAirComment` that `on_air` lets through. Each
distinct content is drawn once (Pillow, CJK font) into a `Patch` and kept in a small
cache; per frame the compositor only blends cached patches, a few milliseconds at most, so
it never holds up the program clock. The AI disclosure label is drawn on every frame unless
the operator explicitly sets the non-compliant flag.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from host.catalog.photos import media_dir
from host.config import Settings
from host.stream.base import Overlay
from host.stream.card import card_text, render_card
from host.stream.layout import CAPTION_MAX_LINES, COMMENT_MAX_LINES, Layout
from host.stream.onair import OnAirComment
from host.stream.palette import ACCENT, BOX, GREY, LABEL_BOX, WHITE
from host.stream.patch import Patch
from host.stream.typeset import drawable, ellipsize, face, wrap

CACHE_SIZE = 64  # rendered patches (and caption layouts) kept for reuse


class OverlayCompositor:
    def __init__(self, settings: Settings):
        self.width, self.height = settings.width, settings.height
        self._media_root = media_dir(settings)
        self._cache: OrderedDict[Hashable, Patch] = OrderedDict()
        corner = settings.ai_label_position
        self.label: Patch | None = None
        if not settings.noncompliant_hide_ai_label:
            unlabelled = Layout(self.width, self.height, corner)
            self.label = render_label(settings.ai_label_text, unlabelled)
        label_height = self.label.size[1] if self.label else 0
        self.layout = Layout(self.width, self.height, corner, label_height)

    def composite(self, image: np.ndarray, overlay: Overlay) -> np.ndarray:
        """A new frame: `image` (left untouched, it may be a cached idle frame) with all layers."""
        frame = image.copy()
        for patch in self.patches(overlay):
            patch.blend_onto(frame)
        return frame

    def patches(self, overlay: Overlay) -> list[Patch]:
        """The layers for this overlay, bottom to top."""
        layers: list[Patch] = []
        if overlay.product is not None:
            card = card_text(overlay.product, media_root=self._media_root)
            layers.append(self._cached(("card", card), lambda: render_card(card, self.layout)))
        if overlay.comment is not None:
            comment = overlay.comment
            layers.append(
                self._cached(("comment", comment), lambda: render_comment(comment, self.layout))
            )
        if overlay.caption and overlay.caption.strip():
            caption, spoken = overlay.caption, overlay.spoken
            layers.append(
                self._cached(
                    ("caption", caption, spoken),
                    lambda: render_caption(caption, self.layout, spoken),
                )
            )
        if self.label is not None:
            layers.append(self.label)
        return layers

    def _cached(self, key: Hashable, render: Callable[[], Patch]) -> Patch:
        patch = self._cache.get(key)
        if patch is None:
            patch = self._cache[key] = render()
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return patch


def render_label(text: str, layout: Layout) -> Patch:
    font = face(layout.label_font)
    text = drawable(text)
    pad_x, pad_y = layout.px(12), layout.px(6)
    _, top, _, bottom = font.text.getbbox(text, anchor="ls")
    size = (round(font.length(text)) + 2 * pad_x, int(bottom - top) + 2 * pad_y)
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=layout.px(8), fill=LABEL_BOX)
    font.draw(image, (pad_x, pad_y - top), text, WHITE, "ls")
    return Patch.from_image(image, *layout.label_origin(size))


def render_caption(text: str, layout: Layout, spoken: int | None = None) -> Patch:
    """The spoken line, centred at the bottom, wrapped to the caption box.

    With `spoken` (characters of `text` said so far), the words already said are white and
    the rest grey, so viewers can follow the voice; the wrap is computed on the whole line,
    so the text never jumps as it fills.
    """
    font = face(layout.caption_font)
    shown = drawable(text)
    placed = _caption_lines(shown, layout)
    width, height = placed.size
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=layout.px(12), fill=BOX)
    said = len(shown) if spoken is None else len(drawable(text[:spoken]))
    for line, start, x, y in placed.lines:
        cut = min(len(line), max(0, said - start))
        font.draw(image, (x, y), line[:cut], WHITE, "lm")
        font.draw(image, (x + font.length(line[:cut]), y), line[cut:], GREY, "lm")
    box_left, box_width = layout.caption_box()
    return Patch.from_image(
        image, box_left + (box_width - width) // 2, layout.caption_bottom() - height
    )


@dataclass(frozen=True)
class _CaptionLines:
    size: tuple[int, int]  # (width, height) of the box
    lines: tuple[tuple[str, int, float, float], ...]  # (line, its offset in the text, x, y)


@lru_cache(maxsize=CACHE_SIZE)
def _caption_lines(text: str, layout: Layout) -> _CaptionLines:
    """Where the caption's lines go; cached, since the spoken mark moves on every character
    and only the colours change with it (measuring and wrapping is ~40% of a render)."""
    font = face(layout.caption_font)
    _, box_width = layout.caption_box()
    pad, line_height = layout.caption_pad, layout.caption_line_height
    lines = wrap(text, font, box_width - 2 * pad, CAPTION_MAX_LINES)
    width = min(box_width, max(int(font.length(line)) for line in lines) + 2 * pad)
    height = len(lines) * line_height + 2 * pad
    placed: list[tuple[str, int, float, float]] = []
    start = 0  # offset of the current line in `text`
    for row, line in enumerate(lines):
        start = max(start, text.find(line, start))
        y = pad + row * line_height + line_height / 2
        placed.append((line, start, (width - font.length(line)) / 2, y))
        start += len(line)
    return _CaptionLines((width, height), tuple(placed))


def render_comment(comment: OnAirComment, layout: Layout) -> Patch:
    """ "names: text", the names in the accent colour, in the band under the label."""
    font = face(layout.comment_font)
    left, top, max_width = layout.comment_box()
    pad, line_height = layout.px(10), layout.comment_line_height
    prefix = ellipsize(" ".join(comment.names.split()), font, max_width / 3) + ": "
    lines = wrap(prefix + comment.text, font, max_width - 2 * pad, COMMENT_MAX_LINES)
    width = min(max_width, max(int(font.length(line)) for line in lines) + 2 * pad)
    height = len(lines) * line_height + 2 * pad
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=layout.px(10), fill=BOX)
    name_left = len(prefix)
    for row, line in enumerate(lines):
        y = pad + row * line_height + line_height / 2
        named, rest = line[:name_left], line[name_left:]
        name_left = max(0, name_left - len(line))
        font.draw(image, (pad, y), named, ACCENT, "lm")
        font.draw(image, (pad + font.length(named), y), rest, WHITE, "lm")
    return Patch.from_image(image, left, top)
