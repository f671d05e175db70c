"""The product on show: while the host talks about a product, it is seen, large, beside the host.

The showcase is a white panel in the layout's side zone: the photo as large as the zone
allows, the link number as a red badge on its corner ("3号链接"), the name, the live price
(the catalog's, as the card shows it), the stock left and the promotion. It slides in when a
line about the product starts, stays through the pauses between its sentences, and slides
out once the talk has moved on for HOLD_S. When the spoken mark passes "上链接" (or "link"
in an English line), the badge pulses twice.

Per frame this costs one or two patch blends: the panel, every step of its slide and every
frame of the badge's pulse are made once per content (a price change makes new ones), in a
background thread while the product is still only on the card, so the program clock never
waits on Pillow. A product that comes unannounced (on screen and talked about at once)
enters once its art is ready, a few frames later, with the card shown meanwhile; only a
program made faster than real time (`waits`: tests, `--fast`, the look book) waits for
it, so the same input always gives the same frames. Art that cannot be drawn (a broken
photo) is logged and leaves the card on screen.
"""

from __future__ import annotations

import logging
import math
import re
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from host.stream.base import Overlay
from host.stream.card import SHRINK, CardText, photo_for
from host.stream.layout import Layout
from host.stream.palette import PRICE, WHITE
from host.stream.patch import Patch
from host.stream.typeset import ellipsize, face, wrap

log = logging.getLogger(__name__)

HOLD_S = 1.2  # stays this long after the last line about it: no blinking between sentences
TRANSITION_S = 0.32  # slide and fade, in and out
BADGE_S = 1.0  # the link badge's two pulses after the host says "上链接"
BADGE_GROWTH = 0.35  # how much larger the badge grows at the top of a pulse
ART_KEPT = 6  # showcase contents kept ready (a lineup's products, a price change or two)

PANEL = (255, 255, 255, 238)
INK = (30, 30, 36)
MUTED = (120, 120, 130)
PROMO_BOX = (255, 236, 232, 255)
# "上链接" anywhere; "link" as an English word ("link 3 is up", "the link"), not "linked"
_LINK_CUE = re.compile(r"上链接|\blinks?\b(?!ed)", re.IGNORECASE)


@dataclass(frozen=True)
class _Panel:
    patch: Patch
    badge_centre: tuple[int, int] | None  # frame coordinates of the link badge's centre
    badge_text: str | None
    badge_size: int  # its font size at rest


@dataclass(frozen=True)
class _Art:
    """Every patch one showcase content can need, made before it is on screen."""

    panel: Patch
    slide: tuple[Patch, ...]  # entering: step k of the transition (leaving plays it backwards)
    pulse: tuple[Patch, ...]  # the link badge, frame by frame of its pulse (empty: no link)


class Showcase:
    """Which showcase is on screen at this frame, and how far through its motion.

    Stateful: `layers` is called once per program frame, in order (the program's worker).
    The art for a product is made in a background thread as soon as the product is on the
    card, so that when the host starts talking about it the frame path only picks patches.
    """

    def __init__(self, layout: Layout, fps: int, brand: tuple[int, int, int] = PRICE) -> None:
        self.layout = layout
        self.brand = brand
        self._steps = max(1, round(TRANSITION_S * fps))
        self._hold = round(HOLD_S * fps)
        self._badge_frames = max(2, round(BADGE_S * fps))
        self._card: CardText | None = None
        self._step = 0  # 0 = off screen, self._steps = fully in
        self._leaving = False
        self._idle = 0  # frames since a line asked for it
        self._badge_at: int | None = None  # frames into the badge's pulse, None when still
        self._cued: tuple[str, int] | None = None  # the caption and cue already pulsed for
        self._making: OrderedDict[CardText, Future[_Art | None]] = OrderedDict()
        self._worker = ThreadPoolExecutor(1, "showcase-art")
        self.waits = True  # for art not drawn yet; the program sets it on its clock

    @property
    def visible(self) -> bool:
        return self._card is not None

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def settle(self) -> None:
        """Wait for the art being drawn (before a clock starts, never on it)."""
        for future in list(self._making.values()):
            future.result()

    def layers(self, overlay: Overlay, card: CardText | None) -> list[Patch]:
        """Advance one frame and return the showcase's patches, bottom to top (maybe none).

        `card` is the overlay's product as the card prints it; the showcase wants it when
        `overlay.showcase` is set."""
        if card is not None:
            self._prepare(card)  # drawn ahead, while the product is only on the card
        wanted = card if overlay.showcase else None
        if wanted is not None and not self._ready(wanted):
            wanted = self._card  # came unannounced: what is on screen stays until it is drawn
        self._advance(wanted)
        if self._card is None:
            return []
        future = self._prepare(self._card)
        if not (self.waits or future.done()):
            return []  # left out of the cache and drawn again: the card shows meanwhile
        art = future.result()
        if art is None:
            return []
        if self._step < self._steps:
            return [art.slide[self._step]]
        self._cue(overlay, art)
        if self._badge_at is None:
            return [art.panel]
        badge = art.pulse[self._badge_at]
        self._badge_at += 1
        if self._badge_at >= len(art.pulse):
            self._badge_at = None
        return [art.panel, badge]

    def _ready(self, card: CardText) -> bool:
        """Whether `card`'s art can be picked now (drawing it starts here if it had not)."""
        future = self._prepare(card)
        return self.waits or future.done()

    def _prepare(self, card: CardText) -> Future[_Art | None]:
        future = self._making.get(card)
        if future is None:
            future = self._making[card] = self._worker.submit(
                _drawn, card, self.layout, self.brand, self._steps, self._badge_frames
            )
            if len(self._making) > ART_KEPT:
                self._making.popitem(last=False)
        else:
            self._making.move_to_end(card)
        return future

    def _advance(self, wanted: CardText | None) -> None:
        if wanted is not None:
            self._idle = 0
            if self._card is None or _product(self._card) != _product(wanted):
                self._step, self._badge_at, self._cued = 0, None, None  # a new product enters
            self._card, self._leaving = wanted, False  # same product: new price shown at once
        elif self._card is not None:
            self._idle += 1
            if self._idle > self._hold:
                self._leaving = True
        if self._card is None:
            return
        if self._leaving:
            self._step -= 1
            self._badge_at = None
            if self._step < 0:
                self._card, self._step, self._leaving = None, 0, False
        elif self._step < self._steps:
            self._step += 1

    def _cue(self, overlay: Overlay, art: _Art) -> None:
        """Start the badge's pulse once the spoken mark passes a cue of this caption."""
        caption = overlay.caption
        if not caption or not art.pulse:
            return
        spoken = overlay.spoken
        passed = [
            m.start() for m in _LINK_CUE.finditer(caption) if spoken is None or spoken >= m.end()
        ]
        if passed and (caption, passed[-1]) != self._cued:
            self._cued, self._badge_at = (caption, passed[-1]), 0


def _drawn(
    card: CardText, layout: Layout, brand: tuple[int, int, int], steps: int, badge_frames: int
) -> _Art | None:
    try:
        return _art(card, layout, brand, steps, badge_frames)
    except Exception:
        log.exception("showcase for %s not drawn; the card stays on screen", card.name)
        return None


def _art(
    card: CardText, layout: Layout, brand: tuple[int, int, int], steps: int, badge_frames: int
) -> _Art:
    panel = _panel(card, layout, brand)
    zone = layout.zone("side")
    direction = -1 if layout.showcase_side == "left" else 1
    slide = []
    for step in range(steps):
        eased = _ease(step / steps)
        offset = direction * round((1 - eased) * layout.px(80))
        slide.append(clipped(faded(panel.patch, eased, offset), zone))
    pulse: list[Patch] = []
    if panel.badge_centre is not None and panel.badge_text is not None:
        for at in range(badge_frames):
            growth = 1 + BADGE_GROWTH * abs(math.sin(2 * math.pi * at / badge_frames))
            step = round(growth * 20)  # a few distinct sizes, each drawn once
            pulse.append(
                _badge_patch(panel.badge_text, panel.badge_centre, panel.badge_size, step, brand)
            )
    return _Art(panel.patch, tuple(slide), tuple(pulse))


def _product(card: CardText) -> tuple[str, str | None]:
    return card.name, card.link


def _ease(t: float) -> float:
    """Ease-out cubic: fast start, soft landing."""
    return 1 - (1 - min(max(t, 0.0), 1.0)) ** 3


def faded(patch: Patch, opacity: float, dx: int) -> Patch:
    """`patch` at `opacity` of its alpha, moved `dx` pixels sideways."""
    scale = round(opacity * 256)
    premultiplied = (patch.premultiplied.astype(np.uint32) * scale >> 8).astype(np.uint16)
    inverse = 256 - ((256 - patch.inverse_alpha.astype(np.uint32)) * scale >> 8)
    return Patch(patch.x + dx, patch.y, premultiplied, inverse.astype(np.uint16))


def clipped(patch: Patch, box: tuple[int, int, int, int]) -> Patch:
    """The part of `patch` inside (left, top, right, bottom): a panel sliding in is revealed
    at the zone's edge rather than drawn over whatever lies beyond it."""
    left, top, right, bottom = box
    h, w = patch.premultiplied.shape[:2]
    x0, y0 = max(left - patch.x, 0), max(top - patch.y, 0)
    x1, y1 = min(right - patch.x, w), min(bottom - patch.y, h)
    x1, y1 = max(x0, x1), max(y0, y1)
    part = np.s_[y0:y1, x0:x1]
    return Patch(
        patch.x + x0,
        patch.y + y0,
        np.ascontiguousarray(patch.premultiplied[part]),
        np.ascontiguousarray(patch.inverse_alpha[part]),
    )


def link_badge_text(card: CardText) -> str | None:
    return None if card.link_number is None else f"{card.link_number}号链接"


def _badge_image(text: str, size: int, brand: tuple[int, int, int]) -> Image.Image:
    font = face(size)
    pad_x, pad_y = round(size * 0.45), round(size * 0.22)
    width = round(font.length(text)) + 2 * pad_x
    height = font.ascent + font.descent + 2 * pad_y
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle(
        (0, 0, width - 1, height - 1), radius=height // 2, fill=(*brand, 255)
    )
    font.draw(image, (pad_x, pad_y), text, WHITE, "la")
    return image


@lru_cache(maxsize=64)
def _badge_patch(
    text: str, centre: tuple[int, int], size: int, step: int, brand: tuple[int, int, int]
) -> Patch:
    image = _badge_image(text, round(size * step / 20), brand)
    return Patch.from_image(image, centre[0] - image.width // 2, centre[1] - image.height // 2)


def _panel(card: CardText, layout: Layout, brand: tuple[int, int, int]) -> _Panel:
    """The showcase drawn once: the photo above the facts in a tall zone, beside them in a
    wide one (landscape), the link badge on the photo's corner; smaller in a short zone."""
    for shrink in SHRINK:
        panel = _drawn_panel(card, layout, brand, shrink)
        if panel.patch.size[1] <= layout.side_height():
            break
    return panel


def _drawn_panel(
    card: CardText, layout: Layout, brand: tuple[int, int, int], shrink: float
) -> _Panel:
    left, bottom, width = layout.card_box()

    def px(size: float) -> int:
        return layout.px(size * shrink)

    pad = px(14)
    zone_h = layout.side_height()
    text = link_badge_text(card)
    badge = _badge_image(text, px(26), brand) if text is not None else None
    grow = math.ceil(BADGE_GROWTH / 2 * badge.width) if badge is not None else 0  # pulse room
    wide = width >= zone_h
    if wide:
        side = min(zone_h - 2 * pad, (width - 3 * pad) // 2)
        photo = photo_for(card, side, side)
        text_w = width - 3 * pad - (side if photo is not None else -pad)
        facts = _facts(card, px, text_w, brand)
    else:
        facts = _facts(card, px, width - 2 * pad, brand)
        room = min(width - 2 * pad, zone_h - facts.height - 3 * pad)
        photo = photo_for(card, width - 2 * pad, room) if room >= px(60) else None
    # without a photo the badge has a row of its own above the facts
    badge_row = badge.height + grow if photo is None and badge is not None else 0
    if photo is None:
        height = 2 * pad + badge_row + facts.height
    elif wide:
        height = 2 * pad + max(facts.height, photo.size[1])
    else:
        height = 3 * pad + photo.size[1] + facts.height
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle(
        (0, 0, width - 1, height - 1), radius=px(18), fill=PANEL
    )
    badge_at = (pad, pad)
    if photo is None:
        image.alpha_composite(facts, (pad, pad + badge_row))
    elif wide:
        image.alpha_composite(photo, (pad + (side - photo.size[0]) // 2, pad))
        image.alpha_composite(facts, (2 * pad + side, pad))
        badge_at = (pad + px(6), pad + px(6))
    else:
        image.alpha_composite(photo, ((width - photo.size[0]) // 2, pad))
        image.alpha_composite(facts, (pad, 2 * pad + photo.size[1]))
        badge_at = ((width - photo.size[0]) // 2 + px(6), pad + px(6))
    centre = None
    if badge is not None:
        badge_at = (max(badge_at[0], grow), max(badge_at[1], grow))
        image.alpha_composite(badge, badge_at)
        top = bottom - height
        centre = (left + badge_at[0] + badge.width // 2, top + badge_at[1] + badge.height // 2)
    return _Panel(Patch.from_image(image, left, bottom - height), centre, text, px(26))


def _facts(
    card: CardText, px: Callable[[float], int], width: int, brand: tuple[int, int, int]
) -> Image.Image:
    """Name, price (the live one, struck list price beside it), stock and promotion."""
    name_face, en_face, price_face, small_face = (
        face(px(28)),
        face(px(18)),
        face(px(60)),
        face(px(22)),
    )
    names = wrap(card.name, name_face, width, 2)
    english = ellipsize(card.name_en, en_face, width) if card.name_en else None
    promotions = wrap(card.promotion, small_face, width - px(16), 2) if card.promotion else []
    stock = ellipsize(card.stock, small_face, width) if card.stock else None
    line = {28: round(px(28) * 1.3), 18: round(px(18) * 1.5), 22: round(px(22) * 1.4)}
    price_h = round(px(60) * 1.15)
    height = (
        len(names) * line[28]
        + (line[18] if english else 0)
        + price_h
        + (line[22] if stock else 0)
        + (len(promotions) * line[22] + px(10) if promotions else 0)
    )
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    y = 0
    for name in names:
        name_face.draw(image, (0, y), name, INK, "la")
        y += line[28]
    if english:
        en_face.draw(image, (0, y), english, MUTED, "la")
        y += line[18]
    baseline = y + px(60)
    price_face.draw(image, (0, baseline), card.price, MUTED if card.sold_out else brand, "ls")
    strike = face(px(22))
    x = price_face.length(card.price) + px(10)
    if card.list_price and x + strike.length(card.list_price) <= width:
        strike.draw(image, (x, baseline), card.list_price, MUTED, "ls")
        mid = baseline - px(22) * 0.35
        draw.line((x, mid, x + strike.length(card.list_price), mid), fill=MUTED, width=px(2))
    y += price_h
    if stock:
        small_face.draw(image, (0, y), stock, brand, "la")
        y += line[22]
    if promotions:
        box_h = len(promotions) * line[22] + px(6)
        draw.rounded_rectangle((0, y, width - 1, y + box_h), radius=px(8), fill=PROMO_BOX)
        for promotion in promotions:
            small_face.draw(image, (px(8), y + px(3)), promotion, brand, "la")
            y += line[22]
    return image
