from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from host.catalog.edits import set_price
from host.catalog.facts import CatalogView
from host.catalog.store import DbCatalog
from host.chat.events import Comment, Triaged
from host.chat.normalize import has_cjk
from host.chat.replay import parse_line
from host.chat.triage import Triage
from host.config import REPO_ROOT
from host.reply.answerer import CatalogAnswerer
from host.reply.events import Sentence
from host.reply.guard import Guard
from host.reply.pitches import pitch
from host.reply.prompts import load_banned

DEMO_COMMENTS = REPO_ROOT / "products" / "demo" / "comments.jsonl"
SPEAKING_S = 4.5  # one reply's speech, so the queue fills as it does on air

# Catalog questions in the demo comments: the product they mean and facts the reply must say.
EXPECTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "c03": (("LH-001",), ("¥399", "¥699")),
    "c05": (("LH-001",), ("399元",)),
    "c12": (("LH-003",), ("499元",)),
    "c13": (("LH-001",), ("S, M, L and XL",)),
    "c15": (("LH-004",), ("sold out",)),
    "c18": (("LH-002",), ("25、26、27、28、29、30",)),
    "c19": (("LH-003",), ("100% cashmere",)),
    "c20": ((), ("包邮", "48小时")),
    "c23": (("LH-010",), ("9件",)),
    "c24": (("LH-016",), ("link 16",)),
    "c25": (("LH-007",), ("¥299",)),
    "c29": (("LH-008",), ("89元",)),
    "c30": ((), ("7 days",)),
    "c32": (("LH-006",), ("¥69", "buy two, get one free")),
    "c33": (("LH-023",), ("3件",)),
    "c36": (("LH-010",), ("classic red",)),
    "c37": (("LH-005",), ("100%桑蚕丝",)),
    "c38": (("LH-012", "LH-013"), ("¥79", "¥268")),
    "c41": (("LH-016",), ("349元", "送烘焙纸一包")),
    "c42": (("LH-019",), ("¥459",)),
    "c44": ((), ("free",)),
    "c45": (("LH-015",), ("259元",)),
}


def demo_comments() -> list[Comment]:
    lines = DEMO_COMMENTS.read_text(encoding="utf-8").splitlines()
    return [parse_line(raw, n, "replay", "demo") for n, raw in enumerate(lines, 1) if raw]


def run_demo(catalog: CatalogView) -> dict[str, tuple[Triaged, list[Sentence]]]:
    """Triage the demo comments and answer one item per SPEAKING_S, as a session would."""
    triage, answerer = Triage(load_banned().words), CatalogAnswerer()
    replies: dict[str, tuple[Triaged, list[Sentence]]] = {}
    free_at = 0.0

    def speak_until(now: float) -> None:
        nonlocal free_at
        while free_at <= now and (item := triage.pop(free_at)) is not None:
            replies[item.comment.message_id] = (item, answerer.compose(item, catalog))
            free_at += SPEAKING_S
        free_at = max(free_at, now)  # an idle host answers the next comment at once

    for comment in demo_comments():
        speak_until(comment.ts)
        triage.offer(comment, comment.ts)
    speak_until(float("inf"))
    return replies


@pytest.fixture
def replies(demo_catalog: DbCatalog) -> dict[str, tuple[Triaged, list[Sentence]]]:
    return run_demo(demo_catalog)


def test_every_catalog_question_is_answered_with_the_right_facts(
    replies: dict[str, tuple[Triaged, list[Sentence]]],
) -> None:
    for message_id, (skus, facts) in EXPECTED.items():
        assert message_id in replies, f"{message_id} was not answered"
        _, sentences = replies[message_id]
        text = " ".join(s.text for s in sentences)
        spoken_skus = {sku for s in sentences for sku in s.skus}
        assert set(skus) <= spoken_skus, (message_id, text)
        for fact in facts:
            assert fact in text, (message_id, fact, text)


def test_merged_askers_are_all_greeted(replies: dict[str, tuple[Triaged, list[Sentence]]]) -> None:
    item, sentences = replies["c05"]
    assert item.askers == ("阿强", "Coco", "大橘", "糖糖")
    assert "阿强、Coco和大家" in sentences[0].text


def test_every_reply_greets_first_briefly_and_stays_short(
    replies: dict[str, tuple[Triaged, list[Sentence]]],
) -> None:
    assert len(replies) >= 20
    for item, sentences in replies.values():
        assert 2 <= len(sentences) <= 3
        first = sentences[0]
        assert first.intent == "greeting" and len(first.text) <= 24
        assert item.askers[0][:6] in first.text
        assert [s.index for s in sentences] == list(range(len(sentences)))
        assert [s.last for s in sentences] == [False] * (len(sentences) - 1) + [True]
        assert all(s.backend == "catalog" for s in sentences)


def test_every_answer_passes_the_guard(
    replies: dict[str, tuple[Triaged, list[Sentence]]], demo_catalog: DbCatalog
) -> None:
    guard = Guard(load_banned().claims)
    for _, sentences in replies.values():
        for s in sentences:
            products = [p for p in map(demo_catalog.get, s.skus) if p is not None]
            assert len(products) == len(s.skus)
            verdict = guard.check(s.text, products)
            assert verdict.ok, (s.text, verdict.violations)


def test_chinese_questions_are_answered_in_chinese(
    replies: dict[str, tuple[Triaged, list[Sentence]]],
) -> None:
    chinese = [(item, ss) for item, ss in replies.values() if has_cjk(item.comment.text)]
    assert len(chinese) >= 8
    for item, sentences in chinese:
        assert item.language == "zh"
        assert all(s.language == "zh" and has_cjk(s.text) for s in sentences)
    english = [ss for item, ss in replies.values() if item.language == "en"]
    assert all(not has_cjk(s.text) for ss in english for s in ss[1:])


def test_injection_is_answered_neutrally_and_never_obeyed(
    replies: dict[str, tuple[Triaged, list[Sentence]]],
) -> None:
    item, sentences = replies["c21"]
    assert item.injection
    text = " ".join(s.text for s in sentences)
    assert "¥1 " not in text and "1 yuan" not in text
    assert "I can only help with our products." in text
    assert "¥399" in text


def test_spam_is_never_answered(replies: dict[str, tuple[Triaged, list[Sentence]]]) -> None:
    for message_id in ("c02", "c04", "c11", "c14", "c22", "c35", "c40", "c43"):
        assert message_id not in replies


def test_answer_uses_the_price_of_the_moment(demo_engine: Engine, demo_catalog: DbCatalog) -> None:
    item = _triaged("How much is the down jacket?")
    before = " ".join(s.text for s in CatalogAnswerer().compose(item, demo_catalog))
    set_price(demo_engine, "demo", "LH-001", Decimal("379"))
    after = " ".join(s.text for s in CatalogAnswerer().compose(item, demo_catalog))
    assert "¥399" in before and "¥379" in after and "¥399" not in after


def test_wording_varies_between_repeated_questions(demo_catalog: DbCatalog) -> None:
    answerer = CatalogAnswerer()
    item = _triaged("多少钱")
    first = [s.text for s in answerer.compose(item, demo_catalog)]
    second = [s.text for s in answerer.compose(item, demo_catalog)]
    assert first != second
    assert all("399元" in " ".join(t) for t in (first, second))


def test_respond_streams_the_same_sentences(demo_catalog: DbCatalog) -> None:
    item = _triaged("what sizes does the jeans come in")

    async def collect() -> list[Sentence]:
        return [s async for s in CatalogAnswerer(seed=1).respond(item, demo_catalog)]

    assert asyncio.run(collect()) == CatalogAnswerer(seed=1).compose(item, demo_catalog)


def test_question_without_a_product_asks_which_one() -> None:
    sentences = CatalogAnswerer().compose(_triaged("how much?"), _EmptyCatalog())
    assert sentences[-1].text == "Which product do you mean? Tell me the link number."
    assert sentences[-1].skus == ()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_pitches_pass_the_guard_for_every_product(demo_catalog: DbCatalog, language: str) -> None:
    guard = Guard(load_banned().claims)
    for product in demo_catalog.lineup():
        for variant in range(2):
            lines = pitch(product, language, variant)  # type: ignore[arg-type]
            assert 2 <= len(lines) <= 3
            assert lines[0] != pitch(product, language, variant + 1)[0]  # type: ignore[arg-type]
            for line in lines:
                assert guard.check(line, [product]).ok, line
                assert has_cjk(line) == (language == "zh") or product.name_en is None


def _triaged(text: str) -> Triaged:
    triage = Triage([])
    raw = json.dumps({"t": 0, "user": "Lily", "text": text})
    triage.offer(parse_line(raw, 1, "test", "r"), 0)
    item = triage.pop(0)
    assert item is not None
    return item


class _EmptyCatalog:
    """A catalog with nothing on screen and nothing to find."""

    def lineup(self) -> list:
        return []

    def current(self) -> None:
        return None

    def search(self, text: str, limit: int = 3) -> list:
        return []

    def get(self, sku: str) -> None:
        return None
