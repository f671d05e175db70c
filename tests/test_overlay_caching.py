"""What the frame path caches never shows on screen: cached layers equal fresh ones.

The caption is drawn once per line in each colour and spliced as the spoken mark moves;
the compositor keeps rendered layers across frames. Both must give the pixels a fresh
drawing gives, for every change a session makes (the line, the mark, the comment, the
card's price, the avatar under them).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image, ImageDraw

from host.catalog.facts import ProductFacts
from host.config import Settings
from host.stream import overlays
from host.stream.base import Overlay
from host.stream.layout import Layout
from host.stream.onair import OnAirComment
from host.stream.overlays import OverlayCompositor, render_caption
from host.stream.palette import BOX, GREY, WHITE
from host.stream.typeset import drawable, face

LAYOUT = Layout(720, 1280, "top-left")
LINE = "第一句 · this lightweight down jacket is 399元 today, only 12 left in stock, link 1"
JACKET = ProductFacts(
    sku="LH-001", name="轻薄羽绒服", price=Decimal("399"), currency="CNY", stock=128, link=1
)


def drawn_in_two_colours(text: str, spoken: int) -> np.ndarray:
    """The caption as drawn before the cache: each line's said part white, then the rest grey
    from where the said part ends (RGBA, the caption box's own pixels)."""
    font = face(LAYOUT.caption_font)
    placed = overlays._caption_lines(drawable(text), LAYOUT)
    width, height = placed.size
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle(
        (0, 0, width - 1, height - 1), radius=LAYOUT.px(12), fill=BOX
    )
    said = len(drawable(text[:spoken]))
    for line, start, x, y in placed.lines:
        cut = min(len(line), max(0, said - start))
        font.draw(image, (x, y), line[:cut], WHITE, "lm")
        font.draw(image, (x + font.length(line[:cut]), y), line[cut:], GREY, "lm")
    return np.asarray(image)


def as_rgba(patch: overlays.Patch, size: tuple[int, int]) -> np.ndarray:
    """A caption patch over transparent black, back in the box's own coordinates."""
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    shifted = dataclasses.replace(patch, x=0, y=0)
    shifted.blend_onto(frame)
    return frame


def white_by_line(picture: np.ndarray, lines: int) -> list[tuple[int, int]]:
    """Per text line: how many white pixels, and the rightmost white column (-1: none)."""
    found = []
    for row in range(lines):
        top = 0 if row == 0 else LAYOUT.caption_pad + row * LAYOUT.caption_line_height
        bottom = LAYOUT.caption_pad + (row + 1) * LAYOUT.caption_line_height
        columns = np.flatnonzero((picture[top:bottom].min(axis=2) > 220).any(axis=0))
        found.append(
            (int((picture[top:bottom].min(axis=2) > 220).sum()), int(columns.max(initial=-1)))
        )
    return found


@pytest.mark.parametrize("spoken", [0, 5, 17, 40, 61, len(LINE)])
def test_the_spliced_caption_highlights_what_drawing_the_said_part_white_does(
    spoken: int,
) -> None:
    """Against the caption drawn as before, in two colours per frame: the same white per
    line, ending at the same column. (Pixels are not identical: drawing the rest of a line
    from a fractional x shifted its glyphs by a subpixel, so the old caption shimmered as
    the mark moved; the spliced one keeps every glyph where the whole line put it.)"""
    placed = overlays._caption_lines(drawable(LINE), LAYOUT)
    assert len(placed.lines) >= 2, "the line must wrap for the test to cover later lines"
    spliced = as_rgba(render_caption(LINE, LAYOUT, spoken), placed.size)
    reference = render_caption(LINE, LAYOUT, None)  # position of the box's patch
    two_colour = Image.fromarray(drawn_in_two_colours(LINE, spoken))
    expected = as_rgba(overlays.Patch.from_image(two_colour, reference.x, reference.y), placed.size)
    got, want = (
        white_by_line(spliced, len(placed.lines)),
        white_by_line(expected, len(placed.lines)),
    )
    for (got_count, got_right), (want_count, want_right) in zip(got, want, strict=True):
        assert abs(got_count - want_count) <= max(20, want_count // 50)
        assert abs(got_right - want_right) <= 2


def test_the_mark_turns_glyphs_white_from_the_left() -> None:
    font = face(LAYOUT.caption_font)
    placed = overlays._caption_lines(drawable(LINE), LAYOUT)
    line, start, x, _ = placed.lines[1]
    spoken = start + 6  # six characters into the second line
    picture = as_rgba(render_caption(LINE, LAYOUT, spoken), placed.size)
    row0 = LAYOUT.caption_pad + LAYOUT.caption_line_height
    band = picture[row0 : row0 + LAYOUT.caption_line_height]
    cut = round(x + font.length(line[:6]))
    whiteish = (band.min(axis=2) > 200).any(axis=0)
    assert whiteish[: cut + 1].any(), "the said characters of line 2 are white"
    assert not whiteish[cut + 2 :].any(), "nothing after the mark is white"
    first_band = picture[: LAYOUT.caption_pad + LAYOUT.caption_line_height]
    assert (first_band.min(axis=2) > 200).sum() > 100, "line 1, said in full, is white"
    rest = picture[row0 + LAYOUT.caption_line_height :]
    assert not (rest.min(axis=2) > 200).any(), "line 3 is still grey"


def avatar(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (1280, 720, 3), dtype=np.uint8)


def fresh(image: np.ndarray, overlay: Overlay, settings: Settings) -> np.ndarray:
    """The frame from a new compositor with every drawing cache emptied."""
    overlays._caption_art.cache_clear()
    overlays._caption_lines.cache_clear()
    return OverlayCompositor(settings).composite(image, overlay)


def test_a_cached_composite_equals_a_fresh_one_after_each_layer_changes() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    kept = OverlayCompositor(settings)
    lily = OnAirComment("Lily", "多少钱?")
    first = Overlay(caption=LINE, spoken=3, comment=lily, product=JACKET)
    steps = [
        first,
        dataclasses.replace(first, spoken=20),  # the mark moves
        dataclasses.replace(first, spoken=20),  # nothing changes
        dataclasses.replace(first, caption="下一句：现在下单明天发货", spoken=2),  # a new line
        dataclasses.replace(first, comment=OnAirComment("Ann, Bo", "还有吗?")),  # comment
        dataclasses.replace(first, product=dataclasses.replace(JACKET, price=Decimal("359"))),
        dataclasses.replace(first, product=dataclasses.replace(JACKET, stock=3)),
        Overlay(),  # everything off but the label
        first,  # back to a layer drawn before
    ]
    for index, overlay in enumerate(steps):
        image = avatar(index % 3)
        got = kept.composite(image, overlay)
        assert np.array_equal(got, fresh(image, overlay, settings)), f"step {index}"
