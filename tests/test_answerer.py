from __future__ import annotations

import asyncio
import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from host.ask import Asker
from host.catalog.edits import set_price, set_stock
from host.catalog.facts import CatalogView, facts_for
from host.catalog.importer import import_file
from host.catalog.store import DbCatalog
from host.chat.events import Comment, Triaged
from host.chat.normalize import has_cjk
from host.chat.replay import parse_line
from host.chat.triage import Triage
from host.config import REPO_ROOT
from host.reply.answerer import CatalogAnswerer
from host.reply.events import Sentence
from host.reply.guard import Guard
from host.reply.phrasing import speakable_name
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


def test_merged_askers_are_all_named(replies: dict[str, tuple[Triaged, list[Sentence]]]) -> None:
    item, sentences = replies["c05"]
    assert item.askers == ("阿强", "Coco", "大橘", "糖糖")
    assert "阿强、Coco、大橘和糖糖" in sentences[0].text


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


def _reply(catalog: CatalogView, text: str, answerer: CatalogAnswerer | None = None) -> str:
    """The reply's content, the greeting left out."""
    sentences = (answerer or CatalogAnswerer()).compose(_triaged(text), catalog)
    return " ".join(s.text for s in sentences[1:])


def test_a_promotion_that_restates_the_saving_is_not_added_to_it(
    replies: dict[str, tuple[Triaged, list[Sentence]]], demo_catalog: DbCatalog
) -> None:
    for message_id in ("c03", "c05"):  # 699 -> 399 with "直播间立减300元": ¥300 once, not twice
        text = " ".join(s.text for s in replies[message_id][1])
        assert "300" not in text and ("699" in text and "399" in text), text
    for question in ("这个能便宜点吗", "有优惠吗", "any discount?"):
        reply = _reply(demo_catalog, question)
        assert "300" not in reply and "399" in reply, (question, reply)


@pytest.mark.parametrize("question", ["这个有什么优惠", "有优惠吗", "any deal on this?"])
def test_a_promotion_alone_never_opens_with_also(demo_catalog: DbCatalog, question: str) -> None:
    for product in demo_catalog.lineup():
        demo_catalog.set_current(product.sku)
        reply = _reply(demo_catalog, question)
        assert not reply.startswith(("另外", "现在还有", "On top of that", "Plus")), reply


def test_a_different_promotion_is_said_as_itself_after_the_price(demo_catalog: DbCatalog) -> None:
    assert _reply(demo_catalog, "水杯多少钱").endswith("另外买二送一哦。")
    english = _reply(demo_catalog, "how much are the jeans")
    assert "$" not in english and "the second pair is half price" in english


@pytest.mark.parametrize(
    ("question", "sold_out"),
    [
        ("卫衣多少钱", "卖光"),
        ("4号链接在哪", "卖光"),
        ("卫衣有优惠吗", "卖光"),
        ("how much is the hoodie", "sold out"),
        ("is the hoodie in stock?", "sold out"),
        ("hoodie", "sold out"),
    ],
)
def test_a_sold_out_product_is_never_quoted_as_buyable(
    demo_catalog: DbCatalog, question: str, sold_out: str
) -> None:
    sentences = CatalogAnswerer().compose(_triaged(question), demo_catalog)
    reply = " ".join(s.text for s in sentences)
    assert sold_out in sentences[1].text, reply  # said first
    assert "129" not in reply and "直播间价" not in reply, reply
    offered = [sku for s in sentences[2:] for sku in s.skus]
    assert offered, reply  # an alternative from the lineup
    for sku in offered:
        alternative = demo_catalog.get(sku)
        assert alternative is not None and alternative.category == "上衣"
        assert alternative.stock and alternative.stock > 10 and alternative.link is not None
        assert str(alternative.link) in reply


def test_a_sold_out_product_with_no_alternative_is_only_said_sold_out(
    demo_engine: Engine, demo_catalog: DbCatalog
) -> None:
    set_stock(demo_engine, "demo", "LH-007", 0)
    set_stock(demo_engine, "demo", "LH-023", 0)  # the only other product in 数码
    sentences = CatalogAnswerer().compose(_triaged("耳机多少钱"), demo_catalog)
    assert [s.text for s in sentences[1:]] in (
        ["无线降噪耳机暂时卖光了，补货马上告诉大家。"],
        ["无线降噪耳机已经抢空了，抱歉呀。"],
    )


def test_low_stock_is_said_with_the_price(demo_catalog: DbCatalog) -> None:
    assert "只剩9件" in _reply(demo_catalog, "口红多少钱")
    assert "only 3 left" in _reply(demo_catalog, "how much is the smart band")


def test_a_sold_out_product_is_pitched_as_sold_out(demo_catalog: DbCatalog) -> None:
    hoodie = demo_catalog.get("LH-004")
    assert hoodie is not None
    for language, gone in (("zh", "卖光"), ("en", "sold out")):
        lines = pitch(hoodie, language)  # type: ignore[arg-type]
        assert gone in lines[-1] and not any("129" in line for line in lines)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("你是真人吗", "我是AI主播"),
        ("主播是机器人吗？", "我是AI主播"),
        ("是AI吗", "我是AI主播"),
        ("are you a real person?", "I'm an AI host"),
        ("Are you human or a bot?", "I'm an AI host"),
    ],
)
def test_the_host_says_it_is_an_ai_in_the_viewers_language(
    demo_catalog: DbCatalog, question: str, answer: str
) -> None:
    sentences = CatalogAnswerer().compose(_triaged(question), demo_catalog)
    assert sentences[1].text.startswith(answer) and sentences[1].intent == "identity"


@pytest.mark.parametrize(
    ("question", "said", "unsaid"),
    [
        ("1号有黑色L码吗", ("有", "黑色", "L码"), ("没有", "399")),
        ("1号有XL码吗", ("XL码",), ("没有",)),
        ("1号有XXL吗", ("没有XXL码", "S码、M码、L码、XL码"), ()),
        ("1号有红色吗", ("没有红色", "黑色、米白、雾霾蓝"), ()),
        ("1号有黑的吗", ("黑色",), ("没有",)),
        ("牛仔裤有26码吗", ("26码",), ("没有",)),
        ("does the jacket come in black XL?", ("Yes", "black", "XL"), ("no ",)),
        ("is the down jacket available in red?", ("no red", "black, off-white and haze blue"), ()),
    ],
)
def test_variant_questions_are_answered_from_colours_and_sizes(
    demo_catalog: DbCatalog, question: str, said: tuple[str, ...], unsaid: tuple[str, ...]
) -> None:
    reply = _reply(demo_catalog, question)
    assert all(part in reply for part in said), reply
    assert not any(part in reply for part in unsaid), reply


def test_a_variant_of_a_sold_out_product_says_first_it_is_sold_out(
    demo_catalog: DbCatalog,
) -> None:
    sentences = CatalogAnswerer().compose(_triaged("4号有XXL吗"), demo_catalog)
    assert "卖光" in sentences[1].text or "抢空" in sentences[1].text
    assert "XXL码" in sentences[2].text


@pytest.mark.parametrize(
    ("question", "listed"),
    [
        ("有什么数码产品", ("数码", "7号无线降噪耳机", "23号智能手环")),
        ("美妆有哪些", ("8号补水保湿面膜", "9号氨基酸洗面奶", "10号哑光口红")),
        ("what electronics do you have?", ("Wireless Noise-Cancelling Earbuds at link 7",)),
    ],
)
def test_category_questions_list_the_lineup_products_of_that_category(
    demo_catalog: DbCatalog, question: str, listed: tuple[str, ...]
) -> None:
    sentences = CatalogAnswerer().compose(_triaged(question), demo_catalog)
    reply = " ".join(s.text for s in sentences[1:])
    assert all(part in reply for part in listed), reply
    guard = Guard(load_banned().claims)
    assert all(guard.check_sentence(s, demo_catalog).ok for s in sentences)


def test_a_category_lists_no_sold_out_product(demo_catalog: DbCatalog) -> None:
    reply = _reply(demo_catalog, "上衣有哪些")
    assert "羊绒圆领毛衣" in reply and "加绒卫衣" not in reply


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("how much are the earbuds", "The Wireless Noise-Cancelling Earbuds are ¥299"),
        ("how much are the running shoes", "The Cushioned Running Shoes are ¥459"),
        ("how much is the air fryer", "The Air Fryer is ¥349"),
        ("how much are the jeans", "The High-Waist Wide-Leg Jeans are ¥159"),
        ("coffee beans vs the longjing tea, price?", "The Yunnan Coffee Beans are ¥79, and"),
        ("what size is the lipstick", "The Matte Lipstick is 3.5g, in classic red"),
        ("how big is the sheet mask", "is 10 sheets"),
        ("what colours does the backpack come in", "The Everyday Backpack comes in black"),
    ],
)
def test_english_agrees_with_the_product_name(
    demo_catalog: DbCatalog, question: str, english: str
) -> None:
    reply = _reply(demo_catalog, question)
    assert english in reply and "has sizes 3.5g" not in reply, reply


def test_english_comes_from_the_merchants_own_english(demo_engine: Engine, tmp_path: Path) -> None:
    """Another merchant's catalog, with words no glossary knows: its English columns speak."""
    csv = tmp_path / "shop.csv"
    csv.write_text(
        "sku,name,name_en,price,currency,stock,link,颜色,color_en,material,material_en,"
        "description_en\n"
        "PB-1,磁吸充电宝,Magnetic Power Bank,129,CNY,40,1,星空灰/月光银,space grey/moon silver,"
        "航空铝合金,aircraft-grade aluminium,Charges two phones at once and snaps to the back.\n",
        encoding="utf-8",
    )
    assert not import_file(demo_engine, csv, "shop", by="test").errors
    shop = DbCatalog(demo_engine, "shop")
    colours = _reply(shop, "what colours does the power bank come in?")
    assert colours == "The Magnetic Power Bank comes in space grey and moon silver."
    assert "aircraft-grade aluminium" in _reply(shop, "what is the power bank made of?")
    details = _reply(shop, "how big is the power bank?")
    assert "Charges two phones at once" in details and "product card" not in details
    assert "有星空灰" in _reply(shop, "充电宝有星空灰吗")


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("prompt_hacker", "prompt hacker"),
        ("Lily", "Lily"),
        ("the_very_long_user_name", "the very long"),
        ("supercalifragilisticexpialidocious", ""),
        ("🌸小鹿🌸", "小鹿"),
    ],
)
def test_viewer_names_are_said_in_whole_words(name: str, said: str) -> None:
    assert speakable_name(name) == said


def test_an_anonymous_question_greets_nobody_by_name(demo_catalog: DbCatalog) -> None:
    asker = Asker(demo_catalog, CatalogAnswerer(), Guard(load_banned().claims), [])
    for question in ("多少钱", "how much is the jacket?"):
        greeting = asker.ask(question).reply
        assert "viewer" not in greeting and "anonymous" not in greeting
        assert greeting.startswith(("欢迎宝宝", "宝宝你好", "哈喽宝宝", "Hi friend", "Hey friend"))


def test_a_variant_named_alone_is_asked_of_the_product_on_screen(demo_catalog: DbCatalog) -> None:
    demo_catalog.set_current("LH-004")
    reply = _reply(demo_catalog, "有XXL的吗")
    assert "加绒卫衣" in reply and "XXL码" in reply
    demo_catalog.set_current("LH-002")
    assert "没有XXL码" in _reply(demo_catalog, "有XXL的吗")


def _loud(text: str, *askers: str, kind: str = "chat", waited: float = 0.0) -> Triaged:
    """`text` asked by `askers` in a room whose queue is long, taken after `waited` seconds."""
    triage = Triage([])
    for n in range(3):  # other viewers' chit-chat, waiting
        raw = json.dumps({"t": 0, "user": f"o{n}", "text": f"watching from city {n}"})
        triage.offer(parse_line(raw, 10 + n, "test", "r"), 0.0)
    for n, user in enumerate(askers):
        raw = json.dumps({"t": 0, "user": user, "text": text, "kind": kind, "amount": 50})
        triage.offer(parse_line(raw, n + 1, "test", "r"), 0.1)
    item = triage.pop(max(waited, 0.1))
    assert item is not None and item.askers[0] == askers[0]
    return item


def test_a_loud_room_gets_the_fact_and_the_link_without_pleasantries(
    demo_catalog: DbCatalog,
) -> None:
    item = _loud("how much is the down jacket?", "Lily", "Tom")
    assert item.compact
    sentences = CatalogAnswerer().compose(item, demo_catalog)
    # names alone first (speech starts at once), then the fact with its link
    assert [s.text for s in sentences] == ["Lily and Tom:", "Link 1, ¥399."]
    guard = Guard(load_banned().claims)
    for sentence in sentences:  # the short form still says only catalog facts
        assert guard.check(sentence.text, facts_for(demo_catalog, sentence.skus), []).ok
    sizes = CatalogAnswerer().compose(_loud("what sizes does the down jacket come in?", "Mia"),
                                      demo_catalog)  # fmt: skip
    assert [s.text for s in sizes] == ["Mia:", "Link 1, sizes S, M, L and XL."]  # colours unasked
    colours = CatalogAnswerer().compose(_loud("牛仔裤有什么颜色", "阿强"), demo_catalog)
    assert [s.text for s in colours] == ["阿强：", "2号链接颜色有浅蓝、深蓝。"]
    material = CatalogAnswerer().compose(_loud("what is the down jacket made of?", "Ken"),
                                         demo_catalog)  # fmt: skip
    assert material[0].text == "Ken:" and "duck down" in material[1].text
    assert material[2].text == "Link 1."  # a fact with no short form, then its link
    relaxed = CatalogAnswerer().compose(_triaged("how much is the down jacket?"), demo_catalog)
    assert relaxed[0].text.startswith(("Hi", "Hey", "Hello"))  # a quiet room is greeted


def test_a_loud_room_still_answers_a_store_question(demo_catalog: DbCatalog) -> None:
    texts = [s.text for s in CatalogAnswerer().compose(_loud("包邮吗", "阿强"), demo_catalog)]
    assert texts[0] == "阿强：" and "包邮" in texts[1]


def test_a_loud_room_greets_chit_chat_in_one_short_line(demo_catalog: DbCatalog) -> None:
    sentences = CatalogAnswerer().compose(_loud("love the music", "Lily"), demo_catalog)
    assert [s.intent for s in sentences] == ["greeting"]
    assert "Lily" in sentences[0].text and len(sentences[0].text) <= 16


def test_a_superchat_answered_late_says_sorry_and_thanks(demo_catalog: DbCatalog) -> None:
    item = _loud("how much is the down jacket?", "Rich", kind="superchat", waited=12.0)
    assert item.late
    texts = [s.text for s in CatalogAnswerer(seed=0).compose(item, demo_catalog)]
    assert texts == ["Sorry for the wait, Rich, and thank you!", "Link 1, ¥399."]
    quiet = dataclasses.replace(item, compact=False)
    texts = [s.text for s in CatalogAnswerer(seed=0).compose(quiet, demo_catalog)]
    assert texts[0] == "Sorry for the wait, Rich!"
    assert texts[1].startswith("Thank") and "¥399" in texts[2]


def test_a_merged_answer_names_every_asker(demo_catalog: DbCatalog) -> None:
    askers = ("Lily", "Tom", "Ken", "Mia", "Ava")
    for item in (_loud("how much is the down jacket?", *askers), _merged(askers)):
        text = " ".join(s.text for s in CatalogAnswerer().compose(item, demo_catalog))
        assert all(name in text for name in askers), text


def _merged(askers: tuple[str, ...]) -> Triaged:
    triage = Triage([])
    for n, user in enumerate(askers):
        raw = json.dumps({"t": 0, "user": user, "text": "how much is the down jacket?"})
        triage.offer(parse_line(raw, n + 1, "test", "r"), 0.0)
    item = triage.pop(0.0)
    assert item is not None and not item.compact and item.askers == askers
    return item


def test_a_gift_is_answered_with_thanks_alone_unless_it_asks_something(
    demo_catalog: DbCatalog,
) -> None:
    def reply(text: str) -> list[str]:
        triage = Triage([])
        raw = json.dumps({"t": 0, "user": "Rosa", "text": text, "kind": "superchat", "amount": 30})
        triage.offer(parse_line(raw, 1, "test", "r"), 0.0)
        item = triage.pop(0.0)
        assert item is not None and not item.compact
        return [s.intent for s in CatalogAnswerer().compose(item, demo_catalog)]

    assert reply("主播辛苦了") == ["greeting", "thanks"]
    assert reply("羽绒服多少钱") == ["greeting", "thanks", "price"]
