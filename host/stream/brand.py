"""The merchant's look on screen: a logo beside the AI label and one colour for what sells.

The logo file is named by the operator in the stream file (`brand: {logo: ...}`); it is read
once when the program starts, checked for size, and scaled to the label's height, so it
reads as one row with the disclosure and never crowds it. A logo that cannot be read is
left out with one warning: the stream goes on air without it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from host.stream.layout import Layout
from host.stream.patch import Patch

log = logging.getLogger(__name__)

LOGO_MAX_PIXELS = 16_000_000  # a logo larger than this is not decoded (a 4000x4000 image)


def colour_of(hex_colour: str) -> tuple[int, int, int]:
    """(r, g, b) of "#RRGGBB" (the settings check the pattern)."""
    value = int(hex_colour.lstrip("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def read_logo(path: Path, height: int) -> Image.Image | None:
    """The logo scaled to `height` pixels tall (RGBA), or None (logged) when unreadable."""
    try:
        with Image.open(path) as source:
            if source.width * source.height > LOGO_MAX_PIXELS:
                raise OSError(f"{source.width}x{source.height} is larger than a logo needs")
            logo = source.convert("RGBA")
    except (OSError, UnidentifiedImageError) as error:
        log.warning("brand logo %s is left out: %s", path, error)
        return None
    width = max(1, round(logo.width * height / logo.height))
    return logo.resize((width, height), Image.Resampling.LANCZOS)


def place_logo(logo: Image.Image, layout: Layout, beside: Patch | None) -> Patch | None:
    """The logo in the label's row, at the other end of the top zone; None when the row has
    no room for it beside the label (the label comes first)."""
    left, top, right, _ = layout.zone("top")
    if layout.label_corner.startswith("bottom"):
        beside = None  # the label is down by the caption: the logo has the top row to itself
    gap = layout.px(12)
    if beside is None:
        x = right - logo.width if layout.label_corner.endswith("left") else left
    elif layout.label_corner.endswith("left"):
        x = right - logo.width
        if x < beside.x + beside.size[0] + gap:
            return None
    else:
        x = left
        if x + logo.width + gap > beside.x:
            return None
    return Patch.from_image(logo, x, top)
