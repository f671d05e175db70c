"""Which product a comment means: labelled comments over the demo catalog, and the rules."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from host.catalog.facts import ProductFacts
from host.catalog.retrieval import ProductIndex
from host.catalog.store import DbCatalog
from host.config import REPO_ROOT

LABELS = REPO_ROOT / "tests" / "data" / "retrieval_labels.jsonl"


def product(sku: str, name: str, link: int | None = None, **extra: object) -> ProductFacts:
    return ProductFacts(sku=sku, name=name, price=Decimal(10), currency="CNY", link=link, **extra)  # type: ignore[arg-type]


def test_labelled_comments_find_their_product(demo_catalog: DbCatalog) -> None:
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    assert len(labels) >= 50
    misses = []
    for label in labels:
        found = demo_catalog.search(label["text"])
        top = found[0].product.sku if found else None
        if top != label["sku"]:
            misses.append((label["text"], label["sku"], top))
    accuracy = 1 - len(misses) / len(labels)
    assert accuracy >= 0.95, f"top-1 accuracy {accuracy:.1%}; misses: {misses}"


@pytest.mark.parametrize(
    "text",
    [
        "3号",
        "3号链接",
        "#3",
        "link 3",
        "链接3",
        "number 3",
        "三号链接",
        "三号",
        "链接三",
        "第3个",
        "Link #3 price?",
        "３号",
    ],
)
def test_link_number_notations(demo_catalog: DbCatalog, text: str) -> None:
    found = demo_catalog.search(text)
    assert found[0].product.sku == "LH-003" and found[0].score == 1.0


@pytest.mark.parametrize(
    ("text", "sku"), [("十二号链接", "LH-012"), ("二十号", "LH-020"), ("第十一个", "LH-011")]
)
def test_link_numbers_in_chinese_numerals_past_ten(
    demo_catalog: DbCatalog, text: str, sku: str
) -> None:
    assert demo_catalog.search(text)[0].product.sku == sku


def test_link_number_beyond_the_lineup_finds_nothing(demo_catalog: DbCatalog) -> None:
    assert demo_catalog.search("99号链接") == []


@pytest.mark.parametrize(
    "text",
    [
        "hello everyone",
        "包邮吗",
        "666",
        "",
        "   ",
        "?!",
        "主播好漂亮",
        "哈哈哈哈",
        "good morning",
        "来了来了",
    ],
)
def test_chatter_finds_nothing(demo_catalog: DbCatalog, text: str) -> None:
    assert demo_catalog.search(text) == []


def test_typos_still_match_but_score_lower(demo_catalog: DbCatalog) -> None:
    exact = demo_catalog.search("down jacket")[0]
    typo = demo_catalog.search("dwon jaket")[0]
    assert exact.product.sku == typo.product.sku == "LH-001"
    assert typo.score < exact.score


@pytest.mark.parametrize(
    ("text", "sku"),
    [
        ("hoddie", "LH-004"),
        ("lipstik", "LH-010"),
        ("backpak price", "LH-020"),
        ("air fyer", "LH-016"),
        ("cashmere sweeter", "LH-003"),
        ("blendr cup", "LH-017"),
    ],
)
def test_english_typos_find_the_product(demo_catalog: DbCatalog, text: str, sku: str) -> None:
    assert demo_catalog.search(text)[0].product.sku == sku


@pytest.mark.parametrize(
    ("text", "sku"),
    [
        ("有没有阔腿裤", "LH-002"),
        ("那个空气炸锅好用吗", "LH-016"),
        ("跑鞋有42码吗", "LH-019"),
        ("瑜伽垫防滑吗", "LH-018"),
        ("有鞋吗", "LH-019"),
    ],
)
def test_chinese_words_are_found_inside_unspaced_comments(
    demo_catalog: DbCatalog, text: str, sku: str
) -> None:
    assert demo_catalog.search(text)[0].product.sku == sku


def test_results_carry_fresh_facts_and_respect_limit(demo_catalog: DbCatalog) -> None:
    found = demo_catalog.search("sheet mask", limit=1)
    assert len(found) == 1
    assert found[0].product == demo_catalog.get("LH-008")


def test_lineup_products_win_ties_in_lineup_order() -> None:
    index = ProductIndex(
        [product("A", "羊毛围巾"), product("B", "羊毛围巾"), product("C", "羊毛围巾")]
    )
    assert [c.product.sku for c in index.search("围巾", lineup_skus=["C", "B"])] == ["C", "B", "A"]
    assert [c.product.sku for c in index.search("围巾")] == ["A", "B", "C"]


def test_attribute_and_category_words_help() -> None:
    index = ProductIndex(
        [
            product("A", "Tote", category="bags", attributes={"material": "canvas"}),
            product("B", "Scarf", category="accessories", attributes={"material": "wool"}),
        ]
    )
    assert index.search("canvas bags")[0].product.sku == "A"
    assert index.search("accessories")[0].product.sku == "B"


def test_colour_words_pick_between_products_of_one_name() -> None:
    index = ProductIndex(
        [
            product("GREY", "羊毛围巾", attributes={"color": "灰色"}),
            product("BLACK", "羊毛围巾", attributes={"color": "黑色"}),
        ]
    )
    assert index.search("黑色羊毛围巾", lineup_skus=["GREY", "BLACK"])[0].product.sku == "BLACK"
    assert index.search("羊毛围巾", lineup_skus=["GREY", "BLACK"])[0].product.sku == "GREY"


def test_attribute_and_category_words_in_chinese(demo_catalog: DbCatalog) -> None:
    assert demo_catalog.search("红色的童装")[0].product.sku == "LH-021"
    assert demo_catalog.search("外套有哪些")[0].product.sku == "LH-001"
    assert demo_catalog.search("紫色瑜伽垫")[0].product.sku == "LH-018"


def test_a_catalog_word_is_not_split_into_characters(demo_catalog: DbCatalog) -> None:
    """豆沙 is a lipstick colour; its 豆 must not find the coffee beans (咖啡豆)."""
    assert all(c.product.sku != "LH-012" for c in demo_catalog.search("豆沙色"))


def test_lineup_order_breaks_ties_even_against_sku_order() -> None:
    index = ProductIndex([product("A", "空气炸锅"), product("Z", "空气炸锅")])
    assert index.search("空气炸锅", lineup_skus=["Z"])[0].product.sku == "Z"


def test_short_list_keeps_lineup_products_among_thousands_of_ties() -> None:
    index = ProductIndex([product(f"P{n:05d}", "纯棉T恤") for n in range(5000)])
    found = index.search("纯棉T恤", lineup_skus=["P04999"])
    assert [c.product.sku for c in found] == ["P04999", "P00000", "P00001"]


def test_longer_name_beats_a_word_inside_it() -> None:
    index = ProductIndex(
        [product("SHEETS", "Bedding", aliases=("sheets",)), product("MASK", "Sheet Mask")]
    )
    assert index.search("sheet mask")[0].product.sku == "MASK"
    assert index.search("cotton sheets")[0].product.sku == "SHEETS"


def test_empty_catalog_finds_nothing() -> None:
    assert ProductIndex([]).search("3号链接") == []
