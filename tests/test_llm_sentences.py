"""Sentences are cut from a token stream as soon as they are complete, and never mid-number."""

from __future__ import annotations

from host.reply.sentences import SentenceCutter
from tests.llm_double import tokens


def cut(text: str, max_chars: int = 80) -> list[str]:
    cutter = SentenceCutter(max_chars)
    out: list[str] = []
    for token in tokens(text):
        out += cutter.feed(token)
    return out + cutter.flush()


def test_cuts_chinese_and_english_punctuation() -> None:
    assert cut("你好！羽绒服399元。还有吗？Yes! Only today.") == [
        "你好！",
        "羽绒服399元。",
        "还有吗？",
        "Yes!",
        "Only today.",
    ]


def test_decimals_and_abbreviations_do_not_end_a_sentence() -> None:
    text = "It is $19.99 today, e.g. in black. Ask Dr. Li about it."
    assert cut(text) == ["It is $19.99 today, e.g. in black.", "Ask Dr. Li about it."]


def test_sentence_is_handed_on_before_the_stream_ends() -> None:
    cutter = SentenceCutter()
    assert cutter.feed("Hi Lily!") == []  # a second "!" or a quote may still follow
    assert cutter.feed(" The") == ["Hi Lily!"]
    assert cutter.feed(" price is 19.") == []  # 19. may be 19.99
    assert cutter.feed("99.") == []
    assert cutter.flush() == ["The price is 19.99."]


def test_closing_marks_stay_with_their_sentence() -> None:
    assert cut("真的吗？！太好了～明天见") == ["真的吗？！", "太好了～明天见"]


def test_long_sentence_is_cut_at_a_comma_under_the_cap() -> None:
    text = "这款羽绒服很轻，" * 8 + "真的。"
    pieces = cut(text, max_chars=30)
    assert all(len(p) <= 30 for p in pieces)
    assert all(p.endswith(("，", "。")) for p in pieces)
    assert "".join(pieces) == text
