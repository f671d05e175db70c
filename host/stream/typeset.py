"""Fonts and line breaking for on-screen text that mixes Chinese, English and emoji.

Text is drawn with the CJK font from the `cvttf_NotoSansCJK_Regular` wheel, so overlays draw
real Chinese glyphs on any machine without system fonts, and emoji with Noto Color Emoji
where it is installed (Debian's fonts-noto-color-emoji). A character that neither font has
is left out: viewers must never see a tofu box.

Lines break between CJK characters and between English words, but never before closing
punctuation or a unit after a number ("399元。" stays together), nor after an opening
bracket or a currency sign: a small kinsoku rule set, since the Unicode line-breaking
algorithm would still split "399" from "元".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

Colour = tuple[int, int, int] | tuple[int, int, int, int]

_FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
EMOJI_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),  # Debian, Ubuntu
    Path("/usr/share/fonts/noto/NotoColorEmoji.ttf"),  # Arch
    Path("/usr/share/fonts/google-noto-color-emoji-fonts/NotoColorEmoji.ttf"),  # Fedora
)
_EMOJI_SIZE = 109  # Noto Color Emoji is bitmaps (CBDT) of this size only: draw, then scale

# A unit is a run of non-CJK, non-space characters with its trailing spaces, or one other
# character; lines may break between units unless a rule below glues them.
_UNIT = re.compile(r"[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+\s*|\s+|.")
ELLIPSIS = "…"
# Closing punctuation, iteration marks and small kana: never the first character of a line.
_NO_LINE_START = frozenset("，。、！？；：）》」』】〕〉”’…‥～ー々ゝゞぁぃぅぇぉっゃゅょ,.!?;:)]}%")
# Opening brackets and currency signs: never the last character of a line.
_NO_LINE_END = frozenset("（《「『【〔〈“‘([{¥$£€")
# Units and measure words that stay on the line of the number before them.
_UNITS = frozenset(
    "元块角分毛折件个只双套条支瓶盒包袋箱斤克两米升号码岁天年月日时秒倍台部张次份颗粒片万亿"
)
_NUMERALS = frozenset("0123456789零一二三四五六七八九十百千万亿两")


def _is_extender(ch: str) -> bool:
    """Joins the emoji before it: ZWJ, variation selectors, skin tones, keycap, tag letters."""
    cp = ord(ch)
    return (
        cp == 0x200D
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or cp == 0x20E3
        or 0xE0020 <= cp <= 0xE007F
    )


def font_path() -> str:
    """The OTF shipped by the font package (the only file with a font suffix in it)."""
    for entry in resources.files(_FONT_PACKAGE).iterdir():
        if entry.name.lower().endswith((".otf", ".ttf", ".ttc")):
            return str(entry)
    raise FileNotFoundError(f"no font file inside the {_FONT_PACKAGE} package")


def emoji_font_path() -> Path | None:
    """Noto Color Emoji where the system has it; None leaves emoji out of the picture."""
    return next((path for path in EMOJI_FONT_PATHS if path.is_file()), None)


@cache
def _coverage() -> tuple[frozenset[int], frozenset[int]]:
    """Code points the text font and the emoji font (empty when absent) can draw."""
    text = frozenset(TTFont(font_path(), lazy=True).getBestCmap())
    path = emoji_font_path()
    emoji = frozenset(TTFont(path, lazy=True).getBestCmap()) if path else frozenset()
    return text, emoji


def runs(text: str) -> list[tuple[str, bool]]:
    """`text` as (run, is_emoji) pieces, without the characters no font can draw.

    The text font wins for characters both fonts have (digits, ©), unless an emoji
    presentation selector or a keycap follows. Whether a character is kept depends only on
    what comes before it, so `drawable(text[:n])` is a prefix of `drawable(text)`.
    """
    text_cover, emoji_cover = _coverage()
    pieces: list[tuple[str, bool]] = []
    for i, ch in enumerate(text):
        if _is_extender(ch):
            if pieces and pieces[-1][1] and (ch == "\ufe0f" or ord(ch) in emoji_cover):
                pieces[-1] = (pieces[-1][0] + ch, True)
            continue  # after text, or unknown to the emoji font: it would draw as a box
        cp = ord(ch)
        following = text[i + 1 : i + 2]
        emoji = (
            cp in emoji_cover
            and not ch.isspace()
            and (cp not in text_cover or following in ("\ufe0f", "\u20e3"))
        )
        if not emoji and cp not in text_cover and not ch.isspace():
            continue
        if pieces and pieces[-1][1] == emoji:
            pieces[-1] = (pieces[-1][0] + ch, emoji)
        else:
            pieces.append((ch, emoji))
    return pieces


def drawable(text: str) -> str:
    """`text` without the characters that no installed font can draw."""
    return "".join(run for run, _ in runs(text))


class Face:
    """One text size: the CJK font for text, colour emoji scaled to sit on its baseline."""

    def __init__(self, size: int) -> None:
        self.size = max(size, 6)
        self.text = ImageFont.truetype(font_path(), size=self.size)
        self.ascent, self.descent = self.text.getmetrics()

    def length(self, text: str) -> float:
        """Advance width of `text` as drawn (undrawable characters take no room)."""
        return sum(
            _emoji_run(run, self.size).width if emoji else self.text.getlength(run)
            for run, emoji in runs(text)
        )

    def draw(
        self, image: Image.Image, xy: tuple[float, float], text: str, fill: Colour, anchor: str
    ) -> None:
        """Draw `text` left-aligned at `xy`; `anchor` is Pillow's: "la", "lm" or "ls"."""
        if anchor[0] != "l" or anchor[1] not in "ams":
            raise ValueError(f"unsupported anchor {anchor!r}")
        x, y = xy
        baseline = y + {"a": self.ascent, "m": (self.ascent - self.descent) / 2, "s": 0}[anchor[1]]
        draw = ImageDraw.Draw(image)
        for run, emoji in runs(text):
            if not emoji:
                draw.text((x, baseline), run, font=self.text, fill=fill, anchor="ls")
                x += self.text.getlength(run)
                continue
            glyphs = _emoji_run(run, self.size)
            _composite(image, glyphs.image, round(x), round(baseline - glyphs.ascent))
            x += glyphs.width


@dataclass(frozen=True)
class _EmojiRun:
    image: Image.Image  # RGBA, scaled to the text size
    width: float  # advance
    ascent: float  # baseline to the image's top


@lru_cache(maxsize=256)
def _emoji_run(run: str, size: int) -> _EmojiRun:
    """The emoji drawn at the font's one size, scaled to `size` (em for em)."""
    path = emoji_font_path()
    assert path is not None, "runs() yields emoji only when the emoji font is installed"
    big = _emoji_font(str(path))
    ascent, descent = big.getmetrics()
    width = big.getlength(run)
    image = Image.new("RGBA", (max(1, round(width)), ascent + descent), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((0, 0), run, font=big, embedded_color=True)
    scale = size / _EMOJI_SIZE
    small = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    return _EmojiRun(small, width * scale, ascent * scale)


def _emoji_font(path: str) -> ImageFont.FreeTypeFont:
    """Per thread, as `face`."""
    fonts: dict[str, ImageFont.FreeTypeFont] = _faces.__dict__.setdefault("emoji", {})
    found = fonts.get(path)
    if found is None:
        found = fonts[path] = ImageFont.truetype(path, size=_EMOJI_SIZE)
    return found


def _composite(image: Image.Image, glyphs: Image.Image, x: int, y: int) -> None:
    """Source-over `glyphs` onto `image` at (x, y), clipped to the image."""
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + glyphs.width, image.width), min(y + glyphs.height, image.height)
    if right <= left or bottom <= top:
        return
    part = glyphs.crop((left - x, top - y, right - x, bottom - y))
    image.alpha_composite(part, (left, top))


_faces = threading.local()


def face(size: int) -> Face:
    """The face of this size for the calling thread: a FreeType face must never be used by
    two threads at once, and the showcase's art is drawn off the program's worker."""
    faces: dict[int, Face] = _faces.__dict__.setdefault("by_size", {})
    found = faces.get(size)
    if found is None:
        found = faces[size] = Face(size)
    return found


def _chunks(text: str) -> Iterator[str]:
    """Pieces between which a line may break, kinsoku rules applied."""
    chunk = ""
    for unit in _UNIT.findall(text):
        if chunk and not _may_break(chunk, unit):
            chunk += unit
            continue
        if chunk:
            yield chunk
        chunk = unit
    if chunk:
        yield chunk


def _may_break(before: str, after: str) -> bool:
    if before[-1].isspace():
        return True
    last, first = before[-1], after[0]
    if first in _NO_LINE_START or _is_extender(first) or last in _NO_LINE_END:
        return False
    return not (first in _UNITS and last in _NUMERALS)


def wrap(text: str, face: Face, width: float, max_lines: int) -> list[str]:
    """Greedy lines no wider than `width`; the last kept line ends in an ellipsis if cut.

    The lines hold only drawable characters (see `drawable`).
    """
    lines: list[str] = []
    line = ""
    for chunk in _chunks(" ".join(drawable(text).split())):
        if face.length((line + chunk).rstrip()) <= width:
            line += chunk
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = chunk.lstrip()
        while face.length(line.rstrip()) > width and len(line) > 1:
            cut = _longest_prefix(line, face, width)
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], ellipsize(lines[max_lines - 1] + ELLIPSIS, face, width)]
    return lines


def ellipsize(text: str, face: Face, width: float) -> str:
    """`text` (drawable characters only) on one line, cut with an ellipsis if too wide."""
    text = drawable(text)
    if face.length(text) <= width:
        return text
    cut = _longest_prefix(text, face, width - face.length(ELLIPSIS))
    return text[:cut].rstrip() + ELLIPSIS


def _longest_prefix(text: str, face: Face, width: float) -> int:
    """Characters that fit in `width` (at least one), never splitting an emoji sequence."""
    n = 1
    while n < len(text) and face.length(text[: n + 1]) <= width:
        n += 1
    while 1 < n < len(text) and (_is_extender(text[n]) or text[n - 1] == "\u200d"):
        n -= 1
    return n
