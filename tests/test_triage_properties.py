"""Triage holds whatever a room (or a broken bridge) sends: it never raises, keeps nothing
unbounded, and counts every comment it does not answer."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host.chat.events import Comment, Triaged
from host.chat.triage import (
    KINDS,
    MAX_ASKERS,
    MAX_ID_CHARS,
    MAX_MERGED,
    MAX_NAME_CHARS,
    MAX_RAW_CHARS,
    MAX_TEXT_CHARS,
    Triage,
)

# Every code point (lone surrogates and controls included), weighted toward awkward pieces:
# RTL overrides, zero-width joiners, BOMs, combining marks, full-width text, links.
PIECES = st.one_of(
    st.characters(codec=None, categories=None),
    st.sampled_from(
        ["\u202e", "\u202d", "\u200b", "\u200d", "\ufeff", "\x00", "\x1b", "\u0301", "\ud800",
         "\U0001f60d", "６", "多少钱", "ｈｏｗ ｍｕｃｈ", "!!!", " ", "\n", "666", "www.x.com"]
    ),
)  # fmt: skip
SHORT = st.lists(PIECES, max_size=40).map("".join)
TEXT = st.one_of(
    SHORT,
    st.builds(lambda part, n: part * n, st.lists(PIECES, min_size=1, max_size=4).map("".join),
              st.integers(0, 50_000)),
)  # fmt: skip
ODD: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
)
AMOUNT: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.just(Decimal("1e999999")),
    st.just(Decimal(-5)),
    st.integers(),
)
COMMENT = st.builds(
    Comment,
    platform=st.one_of(st.just("test"), ODD),
    room=st.just("r"),
    message_id=st.one_of(st.text(max_size=5), st.text(min_size=200, max_size=300), ODD),
    user_id=st.one_of(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), TEXT, ODD),
    user_name=st.one_of(st.sampled_from(["Lily", "王", ""]), TEXT, ODD),
    text=st.one_of(TEXT, TEXT, ODD),
    kind=st.one_of(st.sampled_from(sorted(KINDS)), st.text(max_size=6), ODD),
    amount=AMOUNT,
    ts=st.one_of(st.floats(0, 1e6), st.floats(), ODD),
    raw=st.just({}),
)
# A comment, the seconds since the one before it, and whether the host takes an item then.
EVENTS = st.lists(st.tuples(COMMENT, st.floats(0, 20), st.booleans()), max_size=60)


def assert_bounded(item: Triaged) -> None:
    assert len(item.text) <= MAX_TEXT_CHARS
    assert len(item.comment.text) <= MAX_RAW_CHARS
    assert 1 <= len(item.askers) <= MAX_ASKERS
    assert all(len(name) <= MAX_NAME_CHARS for name in item.askers)
    assert len(item.merged) <= MAX_MERGED
    assert all(len(mid) <= MAX_ID_CHARS for mid in item.merged)
    assert math.isfinite(item.priority)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS)
def test_triage_never_raises_and_never_keeps_anything_unbounded(
    events: list[tuple[Comment, float, bool]],
) -> None:
    triage = Triage(["scam", "加微信"], queue_size=3, max_viewers=4)
    now, not_kept, queued, popped = 0.0, 0, 0, 0
    for comment, gap, take in events:
        now += gap
        decision = triage.offer(comment, now)
        not_kept += not decision.kept
        queued += decision.reason == "queued"
        assert len(triage) <= 3
        assert triage.viewers_remembered <= 4
        if take and (item := triage.pop(now)) is not None:
            popped += 1
            assert_bounded(item)
    remaining = 0
    while (item := triage.pop(now)) is not None:
        remaining += 1
        assert_bounded(item)
    evicted = queued - popped - remaining
    assert sum(triage.drops.values()) == not_kept + evicted  # every drop path counts


def make(user: str, text: str, n: int = 0, **fields: Any) -> Comment:
    return Comment(
        platform="test", room="r", message_id=f"m{user}{n}", user_id=user, user_name=user,
        text=text, **fields,
    )  # fmt: skip


def test_a_question_asked_by_hundreds_greets_a_few_and_records_a_bounded_list() -> None:
    triage = Triage([], queue_size=4)
    for n in range(MAX_MERGED + 100):
        triage.offer(make(f"viewer{n}", "多少钱", n), now=n * 0.001)
    assert len(triage) == 1
    item = triage.pop(1.0)
    assert item is not None
    assert item.askers == tuple(f"viewer{n}" for n in range(MAX_ASKERS))
    assert len(item.merged) == MAX_MERGED


def test_viewers_are_forgotten_when_quiet_or_too_many() -> None:
    triage = Triage([], max_viewers=100)
    for n in range(1_000):
        triage.offer(make(f"v{n}", f"hello number {n} from me", n), now=0.0)
    assert triage.viewers_remembered == 100
    triage.offer(make("late", "still here?"), now=120.0)
    assert triage.viewers_remembered == 1  # the others were quiet for over a minute


def test_malformed_comments_are_dropped_and_counted() -> None:
    triage = Triage([])
    bad: list[Any] = [
        make("a", None),  # type: ignore[arg-type]
        make("b", "hi", kind="shout"),
        make("c", "hi", amount=Decimal("NaN"), kind="gift"),
        make("", "hi"),
        make("d", "hi", ts=math.inf),
    ]
    assert [triage.offer(c, now=0.0).reason for c in bad] == ["malformed"] * 5
    assert triage.drops["malformed"] == 5
    assert len(triage) == 0


def test_a_huge_comment_is_cut_before_it_is_kept() -> None:
    triage = Triage([])
    triage.offer(make("Lily" * 1000, "how much is the jacket? " * 100_000), now=0.0)
    item = triage.pop(0.0)
    assert item is not None
    assert len(item.comment.text) == MAX_RAW_CHARS
    assert item.askers == (("Lily" * 1000)[:MAX_NAME_CHARS],)
    assert item.text.startswith("how much is the jacket?")
