from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.catalog.facts import ProductFacts
from host.reply.guard import Guard
from host.reply.money import find_amounts, format_money
from host.reply.prompts import load_banned
from host.text.zh_numerals import parse_chinese_number

JACKET = ProductFacts(
    sku="LH-001",
    name="轻薄羽绒服",
    name_en="Lightweight Down Jacket",
    price=Decimal("399.00"),
    list_price=Decimal("699.00"),
    currency="CNY",
    stock=128,
    link=1,
    promotion="直播间立减300元",
    attributes={"size": "S/M/L/XL", "color": "黑色/米白", "material": "90%白鸭绒"},
)
SWEATER = ProductFacts(
    sku="LH-003",
    name="羊绒圆领毛衣",
    price=Decimal("499.00"),
    currency="CNY",
    stock=56,
    link=3,
    attributes={"material": "100%山羊绒"},
)


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard(load_banned().claims)


@pytest.mark.parametrize(
    "line",
    [
        "羽绒服只要399元！",
        "The jacket is ¥399.",
        "Only ￥399 today.",
        "It's 399 yuan.",
        "RMB 399 for the jacket.",
        "CNY 399.00 today",
        "三百九十九元就能带走",
        "399块拿下",
        "三百九十九块钱",
        "原价699元，现价399元，立减300元",
    ],
)
def test_guard_passes_right_price_in_every_notation(guard: Guard, line: str) -> None:
    assert guard.check(line, [JACKET]).ok


@pytest.mark.parametrize(
    ("line", "amount"),
    [
        ("羽绒服只要99元！", "99"),
        ("The jacket is ¥299.", "299"),
        ("RMB 1 only", "1"),
        ("say it costs 1 yuan", "1"),
        ("一百九十九元", "199"),
        ("两百块", "200"),
        ("just 398.99 yuan", "398.99"),
    ],
)
def test_guard_blocks_price_not_in_catalog(guard: Guard, line: str, amount: str) -> None:
    verdict = guard.check(line, [JACKET])
    assert not verdict.ok
    assert f"price {amount} not in catalog for LH-001" in verdict.violations


def test_guard_blocks_any_amount_when_no_product_is_in_play(guard: Guard) -> None:
    verdict = guard.check("Everything is ¥399 today", [])
    assert not verdict.ok
    assert "none in play" in verdict.violations[0]


def test_guard_checks_each_amount_against_the_products_in_play(guard: Guard) -> None:
    assert guard.check("Jacket ¥399, sweater ¥499.", [JACKET, SWEATER]).ok
    assert not guard.check("Jacket ¥399, sweater ¥499.", [JACKET]).ok


def test_guard_blocks_wrong_currency(guard: Guard) -> None:
    verdict = guard.check("Only $399!", [JACKET])
    assert not verdict.ok
    assert "currency USD" in verdict.violations[0]


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("还剩128件", True),
        ("库存还有128件", True),
        ("128 left in stock", True),
        ("Only 128 left!", True),
        ("只剩5件了", False),
        ("仅剩五件", False),
        ("only 12 left", False),
        ("Hurry, 3 in stock", False),
    ],
)
def test_guard_checks_stock_counts(guard: Guard, line: str, ok: bool) -> None:
    verdict = guard.check(line, [JACKET])
    assert verdict.ok is ok
    if not ok:
        assert verdict.violations[0].startswith("stock ")


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("90% white duck down", True),
        ("含绒量百分之九十", True),
        ("Save 43% today", False),
        ("打折百分之五十", False),
    ],
)
def test_guard_accepts_only_percentages_from_the_facts(guard: Guard, line: str, ok: bool) -> None:
    verdict = guard.check(line, [JACKET])
    assert verdict.ok is ok
    assert ok or verdict.violations[0].startswith("percentage ")


def test_guard_checks_link_numbers(guard: Guard) -> None:
    assert guard.check("羽绒服在1号链接", [JACKET]).ok
    assert guard.check("Find it at link 1.", [JACKET]).ok
    assert guard.check("Find it at link 2.", [JACKET]).violations == (
        "link 2 not in catalog for LH-001",
    )


@pytest.mark.parametrize(
    ("line", "claim"),
    [
        ("这是全网最好的羽绒服", "最好"),
        ("销量第一", "第一"),
        ("100%有效", "100%"),
        ("国家级品质", "国家级"),
        ("全网最低价", "最低价"),
        ("The best ever jacket", "best ever"),
        ("Guaranteed to keep you warm", "guaranteed"),
        ("It cures colds", "cures"),
    ],
)
def test_guard_blocks_banned_claims(guard: Guard, line: str, claim: str) -> None:
    verdict = guard.check(line, [JACKET])
    assert not verdict.ok
    assert f"banned claim {claim!r}" in verdict.violations


def test_quoting_a_fact_is_not_a_banned_claim(guard: Guard) -> None:
    assert guard.check("毛衣是100%山羊绒", [SWEATER]).ok
    assert guard.check("It is 100% cashmere.", [SWEATER]).ok
    assert not guard.check("100% satisfaction", [JACKET]).ok


def test_banned_words_match_whole_english_words_only(guard: Guard) -> None:
    assert guard.check("Pay securely at checkout", [JACKET]).ok


def test_guard_caps_line_length() -> None:
    guard = Guard([], max_chars=20)
    assert guard.check("a" * 20, [JACKET]).ok
    assert guard.check("a" * 21, [JACKET]).violations == ("too long: 21 chars > 20",)


def test_guard_reports_every_violation_once(guard: Guard) -> None:
    verdict = guard.check("最好的羽绒服只要99元，only 5 left, only 5 left", [JACKET])
    assert verdict.violations == (
        "price 99 not in catalog for LH-001",
        "stock 5 not in catalog for LH-001",
        "banned claim '最好'",
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [("三百九十九", 399), ("两百五", 250), ("一百零五", 105), ("一千二百", 1200), ("十五", 15)],
)
def test_chinese_numerals(text: str, value: int) -> None:
    assert parse_chinese_number(text) == value


def test_find_amounts_reads_each_span_once() -> None:
    amounts = find_amounts("原价699元，RMB 399, ¥300")
    assert [(a.value, a.currency) for a in amounts] == [
        (Decimal(699), "CNY"),
        (Decimal(399), "CNY"),
        (Decimal(300), "CNY"),
    ]


@given(
    price=st.decimals(min_value=1, max_value=99999, places=2),
    language=st.sampled_from(["zh", "en"]),
)
def test_the_way_the_host_says_a_price_is_read_back_by_the_guard(
    price: Decimal, language: str
) -> None:
    product = ProductFacts(sku="P", name="p", price=price, currency="CNY")
    guard = Guard([])
    said = format_money(price, "CNY", language)  # type: ignore[arg-type]
    assert guard.check(f"Now {said}.", [product]).ok
    wrong = format_money(price + 1, "CNY", language)  # type: ignore[arg-type]
    assert not guard.check(f"Now {wrong}.", [product]).ok


@pytest.mark.parametrize(
    "line",
    [
        "我是真人哦，不是AI。",
        "放心，我可是真人主播！",
        "我不是机器人，是真人。",
        "Yes, I'm a real person!",
        "I am human, just like you.",
        "I’m not an AI, I promise.",
        "I'm not a bot.",
    ],
)
def test_guard_blocks_a_line_claiming_to_be_a_person(guard: Guard, line: str) -> None:
    verdict = guard.check(line, [])
    assert "claims to be a person: the host is an AI" in verdict.violations


@pytest.mark.parametrize(
    "line",
    [
        "我是AI主播，不是真人哦。",
        "I'm an AI host, not a real person.",
        "这款是真人实测的效果。",
        "I'm not sure, check the product card.",
    ],
)
def test_guard_lets_the_ai_disclosure_through(guard: Guard, line: str) -> None:
    assert guard.check(line, []).ok, guard.check(line, []).violations


def test_guard_lets_a_line_quote_the_merchants_policy_but_nothing_else(guard: Guard) -> None:
    policy = ["满99元包邮，72小时内发货。"]
    assert guard.check("满99元包邮，72小时内发货。", [], policy).ok
    assert not guard.check("满99元包邮，72小时内发货。", []).ok  # not this merchant's words
    assert not guard.check("羽绒服99元。", [JACKET], policy).ok  # a number alone is no quote
