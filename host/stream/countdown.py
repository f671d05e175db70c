"""A timed promotion counted down on screen: "限时优惠 还剩 04:59", at the top of the side zone.

The catalog has no end times, so the stream file names one (`countdown: {until: ...}`).
The text changes once a second, so each second's pill is drawn once (about a millisecond)
and reused for that second's 25 frames; when the time is up the pill goes.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw

from host.stream.layout import Layout
from host.stream.palette import WHITE
from host.stream.patch import Patch
from host.stream.typeset import ellipsize, face

HEIGHT = 44  # the pill's height at a 720-pixel short side; the side zone gives it this room


def clock_text(seconds: float) -> str:
    """ "04:59" under an hour, "1:04:59" from an hour on (whole seconds, rounded up)."""
    whole = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@lru_cache(maxsize=4)
def render_countdown(text: str, clock: str, layout: Layout, colour: tuple[int, int, int]) -> Patch:
    left, top, right, _ = layout.countdown_box()
    width, height = right - left, layout.px(HEIGHT)
    pad = layout.px(12)
    digits, words = face(layout.px(28)), face(layout.px(20))
    room = width - 2 * pad - round(digits.length(clock)) - layout.px(8)
    label = ellipsize(text, words, room)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle(
        (0, 0, width - 1, height - 1), radius=height // 2, fill=(*colour, 235)
    )
    words.draw(image, (pad, height / 2), label, WHITE, "lm")
    x = width - pad - round(digits.length(clock))
    digits.draw(image, (x, height / 2), clock, WHITE, "lm")
    return Patch.from_image(image, left, top)
