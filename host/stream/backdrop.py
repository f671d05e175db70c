"""The set behind the host: a wall in the merchant's colour with the lineup's photos on it.

A live-selling room shows what is for sale behind the host, not only on the card. The wall
is drawn once per lineup (its photos and order), at the program's size, slightly soft so
it reads as behind the host; the animator paints the host over it every frame at no extra
cost. Photos stand in two columns either side of the host's head, the link number on each,
so a viewer sees the whole lineup at a glance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from host.catalog.facts import ProductFacts
from host.catalog.photos import media_dir
from host.config import Settings
from host.stream.brand import colour_of
from host.stream.card import card_text, fitted_photo
from host.stream.typeset import face

MAX_PHOTOS = 6  # three a side: more would be too small to recognise at phone size


def lineup_photos(lineup: Sequence[ProductFacts], media_root: Path) -> tuple[tuple[int, str], ...]:
    """(link number, stored photo path) of the lineup's products that have a photo."""
    shown = []
    for product in lineup:
        card = card_text(product, media_root=media_root)
        if card.image is not None:
            shown.append((product.link or 0, card.image))
    return tuple(shown[:MAX_PHOTOS])


def _mix(colour: tuple[int, int, int], white: float) -> tuple[int, int, int]:
    r, g, b = colour
    return (
        round(r + (255 - r) * white),
        round(g + (255 - g) * white),
        round(b + (255 - b) * white),
    )


@lru_cache(maxsize=2)
def render_backdrop(
    photos: tuple[tuple[int, str], ...], width: int, height: int, colour: tuple[int, int, int]
) -> np.ndarray:
    """The wall as RGB (height, width, 3); photos that cannot be read are left out."""
    top, bottom = _mix(colour, 0.80), _mix(colour, 0.93)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    wall = np.asarray(top, np.float32) * (1 - ramp) + np.asarray(bottom, np.float32) * ramp
    image = Image.fromarray(np.broadcast_to(wall, (height, width, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    tile, gap = round(short * 0.19), round(short * 0.03)
    per_side = (len(photos) + 1) // 2
    y0 = round(height * (0.25 if height >= width else 0.14))  # below the apps' top bars
    columns = (round(width * 0.035), width - round(width * 0.035) - tile)
    tag = face(max(10, round(tile * 0.14)))
    for k, (link, path) in enumerate(photos):
        x, row = columns[k % 2], k // 2
        if row >= per_side:
            break
        y = y0 + row * (tile + gap)
        shelf = y + tile + round(gap * 0.3)
        draw.rectangle((x - gap // 2, shelf, x + tile + gap // 2, shelf + max(2, gap // 4)),
                       fill=_mix(colour, 0.35))  # fmt: skip
        draw.rounded_rectangle((x, y, x + tile, y + tile), radius=tile // 12, fill=(255, 255, 255))
        photo = fitted_photo(path, tile - gap // 2, tile - gap // 2)
        if photo is not None:
            at = (x + (tile - photo.width) // 2, y + (tile - photo.height) // 2)
            image.paste(photo, at, photo)
        if link:
            text = f"{link}号"
            w = round(tag.length(text)) + tag.size
            draw.rounded_rectangle((x, y, x + w, y + tag.size * 1.5), radius=tag.size // 2,
                                   fill=colour)  # fmt: skip
            tag.draw(image, (x + tag.size // 2, y + tag.size * 0.75), text, (255, 255, 255), "lm")
    soft = image.filter(ImageFilter.GaussianBlur(max(1.0, short / 400)))  # behind the host
    return np.asarray(soft, dtype=np.uint8)


def lineup_set(settings: Settings) -> Callable[[Sequence[ProductFacts]], np.ndarray | None]:
    """What the director calls when the lineup changes: the set for this stream's size and
    colour, or None when no product has a photo (the host keeps her own room)."""
    media_root = media_dir(settings)
    colour = colour_of(settings.brand_colour)

    def draw(lineup: Sequence[ProductFacts]) -> np.ndarray | None:
        photos = lineup_photos(lineup, media_root)
        return render_backdrop(photos, settings.width, settings.height, colour) if photos else None

    return draw
