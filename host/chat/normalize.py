"""Comment text in two forms: a readable one to answer, and a key to compare comments by.

Viewers write the same thing many ways (full-width digits, "多少钱？？？", emoji, "soooo");
triage must see through that to catch floods and merge repeated questions, while the
responder still gets readable text.
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


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def strip_decoration(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) not in DECORATION)


def readable(text: str) -> str:
    """NFKC (full-width to ASCII), emoji removed, spaces collapsed, runs cut to three."""
    text = strip_decoration(unicodedata.normalize("NFKC", text))
    text = LONG_RUN.sub(r"\1\1\1", text)
    return SPACE.sub(" ", text).strip()


def match_key(text: str) -> str:
    """Lower case, no punctuation or spaces, every repeated run cut to one: "666!!" -> "6"."""
    text = readable(text).lower()
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "S", "Z")))
    return ANY_RUN.sub(r"\1", kept)


def question_key(text: str) -> str:
    """`match_key` without filler words, so "这个多少钱呀" and "多少钱" compare equal."""
    return match_key(FILLERS.sub(" ", readable(text).lower()))
