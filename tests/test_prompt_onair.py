"""The library on air: a moved label reaches a running session; A/B splits by ratio."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.catalog.store import DbCatalog
from host.chat.events import Comment, Triaged
from host.chat.triage import Triage
from host.config import Settings
from host.db import models as db
from host.db.migrate import upgrade_engine
from host.errors import HostError
from host.promptlib import library
from host.promptlib.onair import LibraryResponder, PromptsOnAir, on_air_responder
from host.reply.answerer import CatalogAnswerer
from host.session.audit import SpokenReply
from host.session.spec import PromptsSpec


@pytest.fixture
def lib(demo_engine: Engine) -> Engine:
    upgrade_engine(demo_engine)
    library.seed(demo_engine)
    return demo_engine


def item(n: int, text: str = "羽绒服多少钱") -> Triaged:
    triage = Triage([])
    comment = Comment("test", "room", f"m{n}", f"u{n}", f"viewer{n}", text)
    triage.offer(comment, 0.0)
    popped = triage.pop(0.0)
    assert popped is not None
    return popped


def new_greeting(lib: Engine, greeting: str, label: str, role: str = "marketer") -> int:
    body = library.version(lib, "answers").body
    edited = body.replace(
        'zh: ["欢迎{names}～", "{names}你好～", "哈喽{names}～"]', f'zh: ["{greeting}"]'
    )
    assert edited != body
    saved = library.save_version(lib, "answers", edited, author="mia")
    library.move_label(lib, "answers", label, saved.number, who="mia", role=role)
    return saved.number


async def reply(responder: LibraryResponder, n: int, catalog: DbCatalog) -> list[str]:
    return [s.text async for s in responder.respond(item(n), catalog)]


def test_a_moved_label_speaks_the_next_reply(lib: Engine, settings: Settings) -> None:
    catalog = DbCatalog(lib, "demo")
    onair = PromptsOnAir(lib, settings, ("production",))
    onair.load()
    responder = LibraryResponder(onair, PromptsSpec())

    async def scenario() -> tuple[list[str], list[str], str, str]:
        before = await reply(responder, 1, catalog)
        first = onair.arm("production").prompt_version
        new_greeting(lib, "老铁们好", "production")
        after = await reply(responder, 2, catalog)
        return before, after, first, onair.arm("production").prompt_version

    before, after, first, second = asyncio.run(scenario())
    assert not before[0].startswith("老铁们好")
    assert after[0] == "老铁们好"
    assert first != second and second.startswith("production#")


def test_a_label_moved_onto_a_version_that_now_fails_is_not_deployed(
    lib: Engine, settings: Settings
) -> None:
    """A claim banned after a version was saved: moving a label onto it is refused."""
    new_greeting(lib, "宝宝们冲鸭", "staging", role="operator")
    banned = library.version(lib, "banned").body.replace("    - 首选\n", "    - 首选\n    - 冲鸭\n")
    saved = library.save_version(lib, "banned", banned, author="mia")
    library.move_label(lib, "banned", "production", saved.number, who="mia", role="marketer")
    answers = library.version(lib, "answers", label="staging").number
    with pytest.raises(HostError, match="absolute claim '冲鸭'"):
        library.move_label(lib, "answers", "production", answers, who="mia", role="marketer")
    onair = PromptsOnAir(lib, settings, ("staging",))
    with pytest.raises(HostError, match="冲鸭"):  # nor does a stream start with it
        onair.load()


def test_ab_split_gives_b_its_ratio_of_replies_evenly(lib: Engine, settings: Settings) -> None:
    new_greeting(lib, "老铁们好", "challenger", role="operator")
    catalog = DbCatalog(lib, "demo")
    spec = PromptsSpec(a="production", b="challenger", ratio=0.3)
    responder = on_air_responder(lib, settings, spec, files=CatalogAnswerer())
    assert isinstance(responder, LibraryResponder)

    async def many() -> list[str]:
        versions = []
        for n in range(1000):
            sentences = [s async for s in responder.respond(item(n), catalog)]
            assert len({s.prompt_version for s in sentences}) == 1
            b = sentences[0].text == "老铁们好"
            assert sentences[0].prompt_version.startswith("challenger#" if b else "production#")
            versions.append("b" if b else "a")
        return versions

    arms = asyncio.run(many())
    assert Counter(arms)["b"] == 300
    for start in range(0, 1000, 50):  # evenly: every 50 replies hold 15 of b, give or take one
        assert abs(arms[start : start + 50].count("b") - 15) <= 1


def test_pitches_split_apart_from_replies(lib: Engine, settings: Settings) -> None:
    body = library.version(lib, "pitch/zh").body.replace("来啦！", "上车啦！")
    body = body.replace("给大家看看", "快来看看").replace("看一下～", "冲冲冲～")
    body = body.replace("安排上！", "上车啦！").replace("看过来～", "上车啦～")
    saved = library.save_version(lib, "pitch/zh", body, author="mia")
    library.move_label(lib, "pitch/zh", "challenger", saved.number, who="mia", role="operator")
    catalog = DbCatalog(lib, "demo")
    product = catalog.get("LH-002")
    assert product is not None
    spec = PromptsSpec(a="production", b="challenger", ratio=0.5)
    responder = on_air_responder(lib, settings, spec, files=CatalogAnswerer())

    async def pitches() -> list[tuple[str, str]]:
        out = []
        for _ in range(20):
            sentences = [s async for s in responder.pitch_sentences(product, "zh", catalog)]
            out.append((sentences[0].prompt_version or "", sentences[0].text))
        return out

    said = asyncio.run(pitches())
    assert [v.split("#")[0] for v, _ in said].count("challenger") == 10
    for version, text in said:
        changed = any(w in text for w in ("上车啦", "快来看看", "冲冲冲"))
        assert changed == version.startswith("challenger#"), (version, text)


def test_a_stream_with_an_unknown_label_does_not_start(lib: Engine, settings: Settings) -> None:
    with pytest.raises(HostError, match="prompt label 'chalenger' is on no item"):
        on_air_responder(lib, settings, PromptsSpec(b="chalenger"), files=CatalogAnswerer())


@pytest.mark.slow  # a whole offline session, encoded (about 20 s)
def test_a_label_moved_during_a_session_reaches_its_next_reply_and_the_audit(
    lib: Engine, settings: Settings, tmp_path: Path
) -> None:
    from host.demo import run_demo

    comments = tmp_path / "comments.jsonl"
    rows = [
        {"t": 0.5, "user": "Tom", "text": "羽绒服多少钱", "id": "c1"},
        {"t": 14.0, "user": "Ann", "text": "牛仔裤多少钱", "id": "c2"},
    ]
    comments.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    quick = settings.model_copy(update={"idle_pitch_s": 0.0, "width": 240, "height": 416})
    moved: list[str] = []

    def on_exchange(record: SpokenReply) -> None:
        if not moved:  # after the first reply is spoken, a marketer deploys a new greeting
            new_greeting(lib, "老铁们好", "production")
            moved.append(record.reply)

    result = asyncio.run(
        run_demo(
            quick,
            tmp_path / "out",
            duration=20.0,
            realtime=False,
            comments=comments,
            on_exchange=on_exchange,
        )
    )
    first, second = result.records
    assert not first.reply.startswith("老铁们好")
    assert second.reply.startswith("老铁们好")
    assert first.prompt_version != second.prompt_version
    with Session(lib) as s:
        audit = {
            r.text: r.prompt_version
            for r in s.scalars(select(db.ReplyRecord).where(db.ReplyRecord.comment_id.is_not(None)))
        }
    assert audit[second.reply] == second.prompt_version
    assert library.release_versions(lib, second.prompt_version or "")["answers"] == 2
