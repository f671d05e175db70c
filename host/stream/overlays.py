"""The layers above the avatar: product card or showcase, countdown, viewer comment, caption,
the merchant's logo and the AI label.

Text goes through the typesetter (`typeset.py`): CJK and colour emoji, never a tofu box.
A viewer comment is shown only as the `OnAirComment` that `on_air` lets through. Each
distinct content is drawn once (Pillow, CJK font) into a `Patch` and kept in a small
cache; per frame the compositor only blends cached patches, a few milliseconds at most, so
it never holds up the program clock. The AI disclosure label is drawn on every frame unless
the operator explicitly sets the non-compliant flag.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from host.catalog.photos import media_dir
from host.config import Settings
from host.stream.base import Overlay
from host.stream.brand import colour_of, place_logo, read_logo
from host.stream.card import card_text, render_card
from host.stream.countdown import HEIGHT as COUNTDOWN_HEIGHT
from host.stream.countdown import clock_text, render_countdown
from host.stream.layout import CAPTION_MAX_LINES, COMMENT_MAX_LINES, LABEL_MIN_HEIGHT, Layout
from host.stream.onair import OnAirComment
from host.stream.palette import ACCENT, BOX, GREY, LABEL_BOX, WHITE
from host.stream.patch import Patch
from host.stream.showcase import Showcase
from host.stream.typeset import drawable, ellipsize, face, wrap

CACHE_SIZE = 64  # rendered patches (and caption layouts) kept for reuse


class OverlayCompositor:
    def __init__(self, settings: Settings, now: Callable[[], datetime] | None = None):
        """`now` is the wall clock the countdown counts against (a test gives its own)."""
        self.width, self.height = settings.width, settings.height
        self._media_root = media_dir(settings)
        self._cache: OrderedDict[Hashable, Patch] = OrderedDict()
        self._now = now or (lambda: datetime.now(UTC))
        self._until, self._countdown_text = settings.countdown_until, settings.countdown_text
        self.brand = colour_of(settings.brand_colour)
        corner = settings.ai_label_position
        bare = Layout(self.width, self.height, corner, platform=settings.platform)
        self.label: Patch | None = None
        if not settings.noncompliant_hide_ai_label:
            self.label = render_label(settings.ai_label_text, bare)
        row = self.label.size[1] if self.label else bare.px(40)  # the label's row, or the logo's
        logo = read_logo(settings.brand_logo, row) if settings.brand_logo else None
        self.layout = Layout(
            self.width,
            self.height,
            corner,
            row if self.label or logo else 0,
            settings.platform,
            bare.px(COUNTDOWN_HEIGHT) if self._until else 0,
        )
        self.logo = place_logo(logo, self.layout, self.label) if logo else None
        self.showcase = Showcase(self.layout, settings.fps, self.brand)

    def composite(self, image: np.ndarray, overlay: Overlay) -> np.ndarray:
        """A new frame: `image` (left untouched, it may be a cached idle frame) with all layers."""
        return self.blend(image, self.patches(overlay))

    @staticmethod
    def blend(image: np.ndarray, patches: list[Patch]) -> np.ndarray:
        """A copy of `image` with `patches` blended on, bottom to top."""
        frame = image.copy()
        for patch in patches:
            patch.blend_onto(frame)
        return frame

    def patches(self, overlay: Overlay) -> list[Patch]:
        """The layers for this overlay, bottom to top; one call is one frame (the showcase
        moves on)."""
        layers: list[Patch] = []
        card = None
        if overlay.product is not None:
            card = card_text(overlay.product, media_root=self._media_root)
        showcase = self.showcase.layers(overlay, card)
        if showcase:
            layers += showcase  # the same product, large: the card gives way
        elif card is not None:
            shown = card
            layers.append(self._cached(("card", shown), lambda: render_card(shown, self.layout)))
        if self._until is not None:
            left = (self._until - self._now()).total_seconds()
            if left > 0:
                clock = clock_text(left)
                layers.append(
                    render_countdown(self._countdown_text, clock, self.layout, self.brand)
                )
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
        if self.logo is not None:
            layers.append(self.logo)
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
    """The AI disclosure, at least LABEL_MIN_HEIGHT of the frame tall (the font grows to it)."""
    text = drawable(text)
    pad_x, pad_y = layout.px(12), layout.px(6)
    least = math.ceil(LABEL_MIN_HEIGHT * layout.height)
    size_px = layout.label_font
    while True:
        font = face(size_px)
        _, top, _, bottom = font.text.getbbox(text, anchor="ls")
        size = (round(font.length(text)) + 2 * pad_x, int(bottom - top) + 2 * pad_y)
        if size[1] >= least:
            break
        size_px += 1
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=layout.px(8), fill=LABEL_BOX)
    font.draw(image, (pad_x, pad_y - top), text, WHITE, "ls")
    return Patch.from_image(image, *layout.label_origin(size))


def render_caption(text: str, layout: Layout, spoken: int | None = None) -> Patch:
    """The spoken line, centred at the bottom, wrapped to the caption box.

    With `spoken` (characters of `text` said so far), the words already said are white and
    the rest grey, so viewers can follow the voice; the wrap is computed on the whole line,
    so the text never jumps as it fills. The mark moves on every word while the line is
    drawn once in each colour (`_caption_art`), so a move only splices the two drawings:
    each line white left of the mark's column, grey right of it.
    """
    art = _caption_art(text, layout)
    if spoken is None:
        return art.said
    said = len(drawable(text[:spoken]))
    premultiplied = art.unsaid.premultiplied.copy()
    font = face(layout.caption_font)
    dx, dy = art.origin[0] - art.said.x, art.origin[1] - art.said.y  # image → patch pixels
    for row, (line, start, x, _) in enumerate(art.placed.lines):
        cut = min(len(line), max(0, said - start))
        if cut == 0:
            continue
        column = dx + round(x + font.length(line[:cut])) if cut < len(line) else None
        top, bottom = art.band(row)
        band = np.s_[max(0, top + dy) : max(0, bottom + dy), :column]
        premultiplied[band] = art.said.premultiplied[band]
    return Patch(art.said.x, art.said.y, premultiplied, art.said.inverse_alpha)


@dataclass(frozen=True)
class _CaptionArt:
    """A caption drawn all white (said) and all grey (unsaid): the same box, glyphs and alpha."""

    said: Patch
    unsaid: Patch
    placed: _CaptionLines
    origin: tuple[int, int]  # where the drawing's top-left corner is on the frame
    pad: int
    line_height: int

    def band(self, row: int) -> tuple[int, int]:
        """Rows of the drawing that belong to text line `row` (the outer ones reach the edges)."""
        top = 0 if row == 0 else self.pad + row * self.line_height
        last = row == len(self.placed.lines) - 1
        bottom = self.placed.size[1] if last else self.pad + (row + 1) * self.line_height
        return top, bottom


@lru_cache(maxsize=8)
def _caption_art(text: str, layout: Layout) -> _CaptionArt:
    font = face(layout.caption_font)
    placed = _caption_lines(drawable(text), layout)
    width, height = placed.size
    box_left, box_width = layout.caption_box()
    origin = (box_left + (box_width - width) // 2, layout.caption_bottom() - height)
    drawn = []
    for colour in (WHITE, GREY):
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=layout.px(12), fill=BOX)
        for line, _, x, y in placed.lines:
            font.draw(image, (x, y), line, colour, "lm")
        drawn.append(Patch.from_image(image, *origin))
    said, unsaid = drawn
    return _CaptionArt(said, unsaid, placed, origin, layout.caption_pad, layout.caption_line_height)


@dataclass(frozen=True)
class _CaptionLines:
    size: tuple[int, int]  # (width, height) of the box
    lines: tuple[tuple[str, int, float, float], ...]  # (line, its offset in the text, x, y)


@lru_cache(maxsize=CACHE_SIZE)
def _caption_lines(text: str, layout: Layout) -> _CaptionLines:
    """Where the caption's lines go (measuring and wrapping is ~40% of drawing a caption)."""
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
