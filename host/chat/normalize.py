"""Comment text in two forms: a readable one to answer, and a key to compare comments by.

Viewers write the same thing many ways (full-width digits, "多少钱？？？", emoji, "soooo");
triage must see through that to catch floods and merge repeated questions, while the
responder still gets readable text.

Triage runs every comment of a flood through here, so characters are filtered with
`str.translate` over tables that learn each code point's category once, instead of asking
`unicodedata` for every character of every comment.
"""

from __future__ import annotations

import re
import unicodedata

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Symbols, emoji, modifiers, joiners and selectors: decoration, never meaning.
DECORATION = frozenset({"So", "Sk", "Cs", "Co", "Cf", "Mn", "Me"})
SPACE = re.compile(r"\s+")
LONG_RUN = re.compile(r"(.)\1{3,}")
ANY_RUN = re.compile(r"(.)\1+")
FILLERS = re.compile(
    r"请问|主播|宝宝|姐妹|家人们|这个|这款|那个|[呢啊呀哦吖嘛]"
    r"|\b(?:please|hey|hi|the|this|that|is|a|an|host|pls|plz)\b"
)


class _DropTable(dict[int, int | None]):
    """A `str.translate` table that deletes code points of the given categories.

    Filled lazily, one entry per distinct code point seen, so it never exceeds the size of
    Unicode and stays small in practice (a room uses a few thousand characters).
    """

    def __init__(self, drop: frozenset[str], prefixes: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._drop, self._prefixes = drop, prefixes

    def __missing__(self, code: int) -> int | None:
        category = unicodedata.category(chr(code))
        kept = category not in self._drop and not category.startswith(self._prefixes)
        self[code] = value = code if kept else None
        return value


_DECORATION = _DropTable(DECORATION)
_PUNCT_SYMBOL_SPACE = _DropTable(frozenset(), ("P", "S", "Z"))


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def readable(text: str) -> str:
    """NFKC (full-width to ASCII), emoji removed, spaces collapsed, runs cut to three."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = LONG_RUN.sub(r"\1\1\1", text.translate(_DECORATION))
    return SPACE.sub(" ", text).strip()


def fold(readable_text: str) -> str:
    """The key two comments match on, from a text already `readable`: lower case, no
    punctuation or spaces, every repeated run cut to one ("666!!" -> "6")."""
    return ANY_RUN.sub(r"\1", readable_text.lower().translate(_PUNCT_SYMBOL_SPACE))
