"""Fonts and line breaking for on-screen text that mixes Chinese and English.

The CJK font comes from the `cvttf_NotoSansCJK_Regular` wheel, so overlays draw real
Chinese glyphs on any machine without system fonts (a missing font shows tofu boxes).
Chinese breaks between any two characters, English only between words.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from PIL import ImageFont

_FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
# A unit is a run of non-CJK, non-space characters with its trailing spaces, or one other
# character; lines may break between units.
_UNIT = re.compile(r"[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+\s*|\s+|.")
ELLIPSIS = "…"
# Punctuation that must not start a line; the last character of the line before comes along.
_NO_LINE_START = set("，。、！？；：）》」』】,.!?;:)")


def font_path() -> str:
    """The OTF shipped by the font package (the only file with a font suffix in it)."""
    for entry in resources.files(_FONT_PACKAGE).iterdir():
        if entry.name.lower().endswith((".otf", ".ttf", ".ttc")):
            return str(entry)
    raise FileNotFoundError(f"no font file inside the {_FONT_PACKAGE} package")


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), size=max(size, 6))


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """Greedy lines no wider than `width`; the last kept line ends in an ellipsis if cut."""
    lines: list[str] = []
    line = ""
    for unit in _UNIT.findall(" ".join(text.split())):
        if face.getlength(line + unit.rstrip()) <= width:
            line += unit
            continue
        carried = ""
        kept = line.rstrip()
        if unit[0] in _NO_LINE_START and len(kept) > 1 and not kept[-1].isascii():
            line, carried = kept[:-1], kept[-1]
        if line.strip():
            lines.append(line.rstrip())
        line = carried + unit.lstrip()
        while face.getlength(line.rstrip()) > width and len(line) > 1:
            cut = _longest_prefix(line, face, width)
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], ellipsize(lines[max_lines - 1] + ELLIPSIS, face, width)]
    return lines


def ellipsize(text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """`text` on one line, cut with an ellipsis if it is wider than `width`."""
    if face.getlength(text) <= width:
        return text
    cut = _longest_prefix(text, face, width - face.getlength(ELLIPSIS))
    return text[:cut].rstrip() + ELLIPSIS


def _longest_prefix(text: str, face: ImageFont.FreeTypeFont, width: float) -> int:
    n = 1
    while n < len(text) and face.getlength(text[: n + 1]) <= width:
        n += 1
    return n
