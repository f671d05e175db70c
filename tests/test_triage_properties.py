"""Triage holds whatever a room (or a broken bridge) sends: it never raises, keeps nothing
unbounded, and counts every comment it does not answer."""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host.chat.events import Comment, Triaged
from host.chat.triage import (
    KINDS,
    LATE_S,
    MAX_ASKERS,
    MAX_ID_CHARS,
    MAX_MERGED,
    MAX_NAME_CHARS,
    MAX_RAW_CHARS,
    MAX_TEXT_CHARS,
    PAID_FIRST_S,
    WEIGHTS,
    ItemClass,
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


# The scheduler, on well-formed rooms: what each comment is, who sends it, after how long,
# and whether the host takes an item then.
ROOM_TEXTS: dict[ItemClass, list[str]] = {
    "buying": ["how much is link 1?", "3号多少钱", "is it in stock?", "what sizes?", "多少钱"],
    "greeting": ["hello everyone", "主播好", "thanks host"],
    "chat": ["love the music", "nice background", "from Shanghai"],
    "superchat": ["love you host"],
    "gift": ["送出 玫瑰"],
    "free_gift": [""],
}
ROOM_EVENT = st.tuples(
    st.sampled_from(sorted(ROOM_TEXTS)),
    st.integers(0, 3),  # which text of the class
    st.integers(0, 12),  # which viewer
    st.floats(0, 4),  # seconds since the event before
    st.booleans(),  # the host takes an item now
)


def room_comment(n: int, cls: str, pick: int, viewer: int) -> Comment:
    kind = {"superchat": "superchat", "gift": "gift", "free_gift": "gift"}.get(cls, "chat")
    texts = ROOM_TEXTS[cls]  # type: ignore[index]
    return Comment(
        platform="test", room="r", message_id=f"m{n}", user_id=f"v{viewer}",
        user_name=f"V{viewer}", text=texts[pick % len(texts)], kind=kind,  # type: ignore[arg-type]
        amount=Decimal(10 * (pick + 1)) if cls in ("superchat", "gift") else None, ts=0.0,
    )  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(ROOM_EVENT, max_size=120), queue_size=st.integers(1, 8))
def test_scheduler_answers_nothing_past_its_limit_and_accounts_for_every_comment(
    events: list[tuple[str, int, int, float, bool]], queue_size: int
) -> None:
    triage = Triage([], queue_size=queue_size, viewer_cooldown_s=1.0)
    now = 0.0
    limit: dict[str, float | None] = {}  # message id of each queued item -> its stale limit
    waiting_paid: dict[str, float] = {}  # paid items queued and not yet answered -> since
    gifts: dict[str, bool] = {}  # message id of each queued item -> it thanks gifts
    offered: Counter[str] = Counter()  # what each offer decided
    left: Counter[str] = Counter()  # how each queued item left the queue

    def take(now: float) -> None:
        item = triage.pop(now)
        if item is None:
            return
        left["answered"] += 1
        mid = item.comment.message_id
        waited = now - item.trace.stamps["triaged"]
        stale_s = limit.pop(mid)
        assert stale_s is None or waited <= stale_s + 1e-9  # nothing answered past its limit
        assert item.late == (stale_s is None and waited > LATE_S)
        if stale_s is None:
            del waiting_paid[mid]
        else:  # a paid item that waited past PAID_FIRST_S goes before any unpaid one
            assert all(now - since <= PAID_FIRST_S for since in waiting_paid.values())

    def settle() -> None:
        for dropped, reason in triage.take_dropped():
            left[reason] += 1
            mid = dropped.message_id
            assert reason in ("stale", "queue_full")
            assert reason != "stale" or limit[mid] is not None  # paid items never go stale
            limit.pop(mid)
            waiting_paid.pop(mid, None)
        assert len(triage) <= queue_size
        assert len(triage) == len(limit)  # every queued item is in the queue or accounted for

    for n, (cls, pick, viewer, gap, answer) in enumerate(events):
        now += gap
        comment = room_comment(n, cls, pick, viewer)
        decision = triage.offer(comment, now)
        offered[decision.reason] += 1
        if decision.reason == "queued":
            stale_s = WEIGHTS[cls].stale_s  # type: ignore[index]
            limit[comment.message_id] = stale_s
            gifts[comment.message_id] = comment.kind == "gift"
            if stale_s is None:
                waiting_paid[comment.message_id] = now
        elif decision.reason == "merged" and cls == "gift":  # thanked with the waiting gifts
            (mid,) = (m for m in limit if gifts[m])
            if limit[mid] is not None:
                limit[mid] = None  # the gift item became paid: it no longer goes stale
                waiting_paid[mid] = now  # and outranks unpaid items PAID_FIRST_S from now
        settle()
        if answer:
            take(now)
            settle()
    longest = max(w.stale_s or 0.0 for w in WEIGHTS.values())
    for later in (0.0, longest + 1):  # at the end of the stream, then once all is stale
        while len(triage):
            take(now + later)
            settle()
    assert not limit and not waiting_paid
    assert offered["queued"] == left["answered"] + left["stale"] + left["queue_full"]
    dropped_at_offer = sum(n for r, n in offered.items() if r not in ("queued", "merged"))
    assert sum(triage.drops.values()) == dropped_at_offer + left["stale"] + left["queue_full"]


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from(["gift", "superchat"]),
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2),
    askers=st.integers(1, 8),
    gap=st.floats(0.2, 1.0),
)
def test_a_paid_item_is_answered_within_paid_first_s_however_busy_the_room(
    kind: str, amount: Decimal, askers: int, gap: float
) -> None:
    """A room of fresh buying questions, each asked by several viewers, answered one per
    `gap`: the superchat or gift still comes first once it has waited `PAID_FIRST_S`."""
    triage = Triage([], queue_size=64)
    paid = Comment(
        platform="test", room="r", message_id="paid", user_id="rich", user_name="Rich",
        text="love you", kind=kind, amount=amount,  # type: ignore[arg-type]
    )  # fmt: skip
    assert triage.offer(paid, 0.0).reason == "queued"
    now, n = 0.0, 0
    while True:
        now += gap
        for _ in range(askers):
            n += 1
            question = Comment(
                platform="test", room="r", message_id=f"q{n}", user_id=f"u{n}",
                user_name=f"U{n}", text=f"how much is link {n // askers + 1}?",
            )  # fmt: skip
            triage.offer(question, now)
        item = triage.pop(now)
        assert item is not None
        if item.comment.message_id == "paid":
            break
        assert now <= PAID_FIRST_S
    assert now <= PAID_FIRST_S + gap
