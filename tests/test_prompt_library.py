"""The prompt library: validation on save, versions, labels, and pitch scripts that rotate."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from host.catalog.facts import ProductFacts
from host.db.models import PromptVersion
from host.errors import HostError
from host.promptlib import library
from host.promptlib.items import ITEMS, item_for
from host.promptlib.scripts import Script, ScriptBook, ScriptPitcher
from host.promptlib.validate import PromptInvalid, validate
from host.reply.answerer import CatalogAnswerer
from host.reply.guard import Guard
from host.reply.phrasing import Phraser
from host.reply.prompts import DEFAULT_PROMPTS_DIR, load_banned, load_phrasebook

JACKET = ProductFacts(
    sku="LH-001",
    name="轻薄羽绒服",
    name_en="Lightweight Down Jacket",
    price=Decimal("399"),
    list_price=Decimal("699"),
    currency="CNY",
    stock=128,
    link=1,
    promotion="直播间立减300元",
)
SCRIPT = """default:
  openings:
    - "{家人们|宝宝们}，{link}号链接{name}来啦！"
  lines:
    - "直播间价{price}。"
"""


@pytest.fixture
def guard() -> Guard:
    return Guard(load_banned().claims)


@pytest.fixture
def lib(engine: Engine) -> Engine:
    library.seed(engine)
    return engine


def problems(ref: str, text: str, guard: Guard) -> str:
    with pytest.raises(PromptInvalid) as caught:
        validate(item_for(ref), text, guard)
    return "; ".join(caught.value.problems)


def seed_text(ref: str) -> str:
    return (DEFAULT_PROMPTS_DIR / item_for(ref).path).read_text(encoding="utf-8")


def test_every_seed_file_passes_its_own_validation(guard: Guard) -> None:
    for spec in ITEMS:
        validate(spec, seed_text(spec.ref), guard)


@pytest.mark.parametrize(
    ("line", "kind", "claim"),
    [
        ("{name}是全网最好的羽绒服！", "absolute", "最好"),
        ("{name}销量第一！", "absolute", "第一"),
        ("国家级品质的{name}。", "absolute", "国家级"),
        ("{name}能根治老寒腿。", "medical", "根治"),
        ("{name}, it cures colds.", "medical", "cures"),
        ("{name}保证有效，无效退款。", "guarantee", "保证有效"),
        ("{name} is guaranteed to keep you warm.", "guarantee", "guaranteed"),
        ("最后一天这个价，{name}快拍！", "urgency", "最后一天"),
        ("{name}, last chance at {price}!", "urgency", "last chance"),
        ("想要{name}的加微信私聊。", "off_platform", "加微信"),
        ("Message me on WhatsApp for the {name}.", "off_platform", "whatsapp"),
    ],
)
def test_a_script_with_an_advertising_law_claim_is_refused_naming_its_class(
    guard: Guard, line: str, kind: str, claim: str
) -> None:
    text = SCRIPT.replace("直播间价{price}。", line)
    assert f"{kind} claim {claim!r}" in problems("pitch/zh", text, guard)


def test_answer_templates_are_checked_against_the_same_claims(guard: Guard) -> None:
    text = seed_text("answers").replace("{name}现在直播间价{price}。", "{name}全网最低价{price}！")
    assert "answers: price.zh[0]: absolute claim '最低价'" in problems("answers", text, guard)


@pytest.mark.parametrize(
    ("ref", "edit", "expected"),
    [
        ("pitch/zh", ("{家人们|宝宝们}", "{家人们|宝宝们"), "unbalanced or nested braces"),
        ("pitch/zh", ("{家人们|宝宝们}", "{家人们||宝宝们}"), "empty alternative"),
        ("pitch/zh", ("{price}", "{prcie}"), "unknown variable {prcie}"),
        ("pitch/zh", ("{price}", "399元"), "typed number in"),
        ("pitch/zh", ("default:", "defaults:"), "required section 'default'"),
        ("pitch/zh", ("  lines:", "  closing:"), "unknown section 'closing'"),
        ("pitch/zh", ("openings:\n", "openings: [\n"), "YAML syntax"),
    ],
)
def test_script_errors_are_clear(
    guard: Guard, ref: str, edit: tuple[str, str], expected: str
) -> None:
    assert expected in problems(ref, SCRIPT.replace(*edit, 1), guard)


def test_template_errors_in_the_other_items_are_clear(guard: Guard) -> None:
    answers = seed_text("answers")
    assert "unknown variable {prcie}" in problems(
        "answers", answers.replace("{name}到手价{price}。", "{name}到手价{prcie}。"), guard
    )
    assert "typed number" in problems(
        "answers", answers.replace("{name}到手价{price}。", "{name}到手价399元。"), guard
    )
    assert "template syntax" in problems(
        "answers", answers.replace("{name}到手价{price}。", "{name}到手价{price。"), guard
    )
    assert "required section missing: stock_out" in problems(
        "answers", answers.replace("stock_out:", "stock_gone:"), guard
    )
    assert "line 1: template syntax" in problems("llm.pitch", "Pitch {{ product ", guard)
    assert "unknown variable price" in problems("llm.pitch", "Pitch {{ price }}", guard)
    persona = seed_text("persona").replace("reply_style:", "style:")
    assert "required section missing: reply_style" in problems("persona", persona, guard)
    banned = seed_text("banned").replace("  medical:", "  health:")
    assert "required claim class missing: medical" in problems("banned", banned, guard)


def test_versions_keep_author_parent_and_note(lib: Engine) -> None:
    assert library.seed(lib) == []  # seeding twice adds nothing
    first = library.version(lib, "pitch/zh")
    assert (first.number, first.author, first.labels) == (1, "seed", ("production", "staging"))
    body = first.body.replace("来啦！", "上车啦！")
    second = library.save_version(lib, "pitch/zh", body, author="mia", note="warmer opening")
    assert (second.number, second.parent, second.author, second.note) == (
        2,
        1,
        "mia",
        "warmer opening",
    )
    third = library.save_version(lib, "pitch/zh", first.body + "\n", author="li", parent=1)
    assert (third.number, third.parent) == (3, 1)
    assert [v.number for v in library.versions(lib, "pitch/zh")] == [3, 2, 1]
    assert '+    - "{家人们|宝宝们|老铁们}看过来，{link}号链接{name}上车啦！"' in library.diff(
        first, second
    )
    with pytest.raises(HostError, match="nothing changed from version 2"):
        library.save_version(lib, "pitch/zh", body, author="mia", parent=2)


def test_a_failing_version_is_never_stored(lib: Engine) -> None:
    body = library.version(lib, "pitch/zh").body.replace("来啦！", "全网最好！")
    with pytest.raises(PromptInvalid, match="absolute claim '最好'"):
        library.save_version(lib, "pitch/zh", body, author="mia")
    with Session(lib) as session:
        assert session.scalar(select(func.count(PromptVersion.id))) == len(ITEMS)


def test_labels_deploy_and_roll_back(lib: Engine) -> None:
    body = library.version(lib, "pitch/zh").body.replace("来啦！", "上车啦！")
    library.save_version(lib, "pitch/zh", body, author="mia")
    assert library.move_label(lib, "pitch/zh", "production", 2, who="mia", role="marketer") == 1
    assert library.labels(lib)["pitch/zh"] == {"production": 2, "staging": 1}
    assert library.move_label(lib, "pitch/zh", "production", 1, who="boss", role="admin") == 2
    assert [(who, n) for _, who, n in library.label_history(lib, "pitch/zh", "production")] == [
        ("boss", 1),
        ("mia", 2),
        ("seed", 1),
    ]


@pytest.mark.parametrize("role", ["operator", "merchant", None])
def test_only_admin_and_marketer_move_production(lib: Engine, role: str | None) -> None:
    body = library.version(lib, "faq").body + "\n"
    library.save_version(lib, "faq", body, author="op")
    with pytest.raises(HostError, match="only an admin or a marketer may move production"):
        library.move_label(lib, "faq", "production", 2, who="op", role=role)
    assert library.move_label(lib, "faq", "staging", 2, who="op", role=role) == 1
    assert library.labels(lib)["faq"]["production"] == 1


def test_a_label_means_production_for_the_items_it_does_not_name(lib: Engine) -> None:
    body = library.version(lib, "pitch/zh").body.replace("来啦！", "上车啦！")
    library.save_version(lib, "pitch/zh", body, author="mia")
    library.move_label(lib, "pitch/zh", "new-opening", 2, who="mia", role="marketer")
    with Session(lib) as session:
        resolved = library.resolve(session, "new-opening")
        production = library.resolve(session, "production")
    assert resolved.numbers() == {**production.numbers(), "pitch/zh": 2}
    name = library.release(lib, resolved)
    assert name.startswith("new-opening#")
    assert library.release(lib, resolved) == name  # the same versions: the same release
    assert library.release_versions(lib, name)["pitch/zh"] == 2


def pitcher(openings: list[str], lines: list[str], seed: int = 0) -> ScriptPitcher:
    book = ScriptBook(Script(tuple(openings), tuple(lines)), {})
    phraser = Phraser(load_phrasebook())
    return ScriptPitcher({"zh": book}, phraser, CatalogAnswerer(), seed=seed)


def test_openings_rotate_without_repeats() -> None:
    openings = ["A {name}", "B {name}", "C {name}", "D {name}"]
    script = pitcher(openings, ["{price}"])
    said = [script.render(JACKET, "zh")[0] for _ in range(40)]
    for start in range(0, 40, 4):  # every round of four uses each opening once
        assert sorted(said[start : start + 4]) == [f"{x} 轻薄羽绒服" for x in "ABCD"]
    assert all(a != b for a, b in itertools.pairwise(said))  # never twice in a row


def test_alternatives_rotate_without_repeats_and_facts_come_from_the_catalog() -> None:
    script = pitcher(["{老铁|宝宝|家人们}，{link}号链接{name}"], ["{直播间价|到手价}{price}。"])
    openings = [script.render(JACKET, "zh")[0] for _ in range(30)]
    for start in range(0, 30, 3):
        assert {o.split("，")[0] for o in openings[start : start + 3]} == {"老铁", "宝宝", "家人们"}
    assert all(a != b for a, b in itertools.pairwise(openings))
    assert "1号链接轻薄羽绒服" in openings[0]
    cheaper = ProductFacts(**{**JACKET.__dict__, "price": Decimal("359")})
    assert script.render(cheaper, "zh")[1].endswith("359元。")  # the price of the moment


def test_a_line_naming_a_fact_the_product_lacks_is_left_out() -> None:
    script = pitcher(["{name}"], ["{price}", "还有{promotion}"])
    assert script.render(JACKET, "zh") == ["轻薄羽绒服", "399元", "还有直播间立减300元"]
    plain = ProductFacts(**{**JACKET.__dict__, "promotion": None})
    assert script.render(plain, "zh") == ["轻薄羽绒服", "399元"]


def test_per_product_scripts_override_the_default() -> None:
    book = ScriptBook(
        Script(("默认{name}",), ("{price}",)), {"LH-001": Script(("专属{name}",), ("{price}",))}
    )
    script = ScriptPitcher({"zh": book}, Phraser(load_phrasebook()), CatalogAnswerer())
    assert script.render(JACKET, "zh")[0] == "专属轻薄羽绒服"
    other = ProductFacts(**{**JACKET.__dict__, "sku": "LH-009"})
    assert script.render(other, "zh")[0] == "默认轻薄羽绒服"


def test_the_guard_names_each_violation_kind(guard: Guard) -> None:
    verdict = guard.check("全网最好，加微信，只要99元", [JACKET])
    assert sorted(guard.kind(v) for v in verdict.violations) == [
        "absolute",
        "off_platform",
        "price",
    ]


def test_streams_triage_and_guard_with_productions_banned_list(lib: Engine) -> None:
    body = library.version(lib, "banned").body.replace("  - 代购\n", "  - 代购\n  - 私信领券\n")
    saved = library.save_version(lib, "banned", body, author="mia")
    assert "私信领券" not in library.banned_in_force(lib).words  # saved, not yet deployed
    library.move_label(lib, "banned", "production", saved.number, who="mia", role="marketer")
    assert "私信领券" in library.banned_in_force(lib).words
