"""The product card: what a viewer needs to buy now, in both languages.

`CardText` is the card as shown (strings only), so two products that print the same card
share one rendered patch, and a price or stock change renders a new one at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, UnidentifiedImageError

from host.catalog.facts import ProductFacts
from host.catalog.photos import PHOTO_SIDE, stored_photo
from host.stream.layout import Layout
from host.stream.palette import ACCENT, BOX, GREY, PRICE, WARNING, WHITE
from host.stream.patch import Patch
from host.stream.typeset import ellipsize, face, wrap

log = logging.getLogger(__name__)

LOW_STOCK = 10  # at or below this, the card shows how many are left
SHRINK = (1.0, 0.85, 0.72, 0.6, 0.5, 0.42)  # text sizes tried, largest first, until it fits

_SYMBOLS = {"CNY": "¥", "JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$"}


@dataclass(frozen=True)
class CardText:
    name: str
    name_en: str | None
    price: str
    list_price: str | None  # struck through; only when above the live price
    link: str | None
    stock: str | None
    sold_out: bool
    promotion: str | None
    image: str | None = None  # the product photo's file in the media store
    link_number: int | None = None


def money(amount: Decimal, currency: str) -> str:
    """ "¥399" for whole amounts, "¥19.90" otherwise; unknown currencies keep their code."""
    symbol = _SYMBOLS.get(currency.upper(), f"{currency.upper()} ")
    text = f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"
    return symbol + text


def card_text(
    product: ProductFacts, low_stock: int = LOW_STOCK, media_root: Path | None = None
) -> CardText:
    stock: str | None = None
    if product.stock == 0:
        stock = "已售罄 · Sold out"
    elif product.stock is not None and product.stock <= low_stock:
        stock = f"仅剩{product.stock}件 · Only {product.stock} left"
    list_price: str | None = None
    if product.list_price is not None and product.list_price > product.price:
        list_price = money(product.list_price, product.currency)
    return CardText(
        name=product.name,
        name_en=product.name_en or None,
        price=money(product.price, product.currency),
        list_price=list_price,
        link=f"{product.link}号链接 · Link {product.link}" if product.link is not None else None,
        stock=stock,
        sold_out=product.stock == 0,
        promotion=product.promotion or None,
        image=_image_path(product, media_root),
        link_number=product.link,
    )


def _image_path(product: ProductFacts, media_root: Path | None) -> str | None:
    """The product's photo in the media store (`VAR_DIR/media`), where the import put it.

    Nothing else is ever opened on air: a catalog cell naming any other path (a FIFO,
    `/etc/shadow`, a huge file) shows no photo, and nothing is fetched.
    """
    ref = product.attributes.get("image")
    if not ref or media_root is None:
        return None
    path = stored_photo(media_root, ref)
    return None if path is None else str(path)


@lru_cache(maxsize=32)
def fitted_photo(path: str, width: int, height: int) -> Image.Image | None:
    """The stored photo scaled to fit the box, or None (logged) when it cannot be read."""
    try:
        with Image.open(path) as source:
            if source.width * source.height > PHOTO_SIDE * PHOTO_SIDE:
                raise OSError(f"{source.width}x{source.height} is larger than a stored photo")
            photo = source.convert("RGBA")
    except (OSError, UnidentifiedImageError) as error:
        log.warning("product image %s cannot be shown: %s", path, error)
        return None
    photo.thumbnail((width, height))
    return photo


def photo_for(card: CardText, width: int, height: int) -> Image.Image | None:
    """The card's photo scaled to fit (width, height); None when it has none or it is unreadable."""
    return fitted_photo(card.image, width, height) if card.image else None


def render_card(card: CardText, layout: Layout) -> Patch:
    """The card image, anchored at the layout's card box (bottom edge fixed, height by content).

    A zone too short for the card at full size (a landscape player's) gets it smaller."""
    for shrink in SHRINK:
        patch = _render_card(card, layout, shrink)
        if patch.size[1] <= layout.side_height():
            break
    return patch


def _render_card(card: CardText, layout: Layout, shrink: float) -> Patch:
    left, bottom, width = layout.card_box()

    def px(size: float) -> int:
        return layout.px(size * shrink)

    pad = px(16)
    inner = width - 2 * pad
    name_face, en_face, price_face = face(px(30)), face(px(20)), face(px(64))
    small_face = face(px(22))

    # (text, face, colour, line height) rows, top to bottom; the price row is drawn apart.
    rows: list[tuple[str, int, tuple[int, int, int]]] = []
    for line in wrap(card.name, name_face, inner, 2):
        rows.append((line, px(30), WHITE))
    if card.name_en:
        rows.append((ellipsize(card.name_en, en_face, inner), px(20), GREY))
    tail: list[tuple[str, int, tuple[int, int, int]]] = []
    if card.link:
        tail.append((ellipsize(card.link, small_face, inner), px(22), ACCENT))
    if card.stock:
        tail.append((ellipsize(card.stock, small_face, inner), px(22), WARNING))
    if card.promotion:
        tail.extend((line, px(22), ACCENT) for line in wrap(card.promotion, small_face, inner, 2))

    price_h = round(px(64) * 1.2)
    text_h = pad * 2 + price_h + sum(round(size * 1.4) for _, size, _ in rows + tail)
    room = min(px(220), layout.side_height() - text_h - pad)  # the photo gives way to the facts
    photo = photo_for(card, inner, room) if room >= px(48) else None
    photo_h = photo.size[1] + pad if photo is not None else 0
    height = text_h + photo_h
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=px(16), fill=BOX)

    y = pad
    if photo is not None:
        image.alpha_composite(photo, (pad + (inner - photo.size[0]) // 2, y))
        y += photo_h
    for text, size, colour in rows:
        face(size).draw(image, (pad, y), text, colour, "la")
        y += round(size * 1.4)
    price_colour = GREY if card.sold_out else PRICE
    baseline = y + round(px(64) * 1.05)
    price_face.draw(image, (pad, baseline), card.price, price_colour, "ls")
    if card.list_price:
        x = pad + price_face.length(card.price) + px(12)
        strike = face(px(24))
        strike.draw(image, (x, baseline), card.list_price, GREY, "ls")
        mid = baseline - px(24) * 0.35
        draw.line((x, mid, x + strike.length(card.list_price), mid), fill=GREY, width=px(2))
    y += price_h
    for text, size, colour in tail:
        face(size).draw(image, (pad, y), text, colour, "la")
        y += round(size * 1.4)
    return Patch.from_image(image, left, bottom - height)
