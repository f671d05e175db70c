"""Idle pitches in a whole offline session: they fill quiet time and a comment cuts into them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from host.config import Settings
from host.db import models as db
from host.demo import run_demo
from host.session.director import CUT_WINDOW_S
from host.session.live import SessionResult

pytestmark = pytest.mark.slow  # about 25 s of session, encoded

COMMENT_AT = 4.0


def test_pitches_fill_idle_time_and_a_question_cuts_into_them(
    settings: Settings, tmp_path: Path
) -> None:
    comments = tmp_path / "comments.jsonl"
    row = {"t": COMMENT_AT, "user": "Tom", "text": "How much is the down jacket?", "id": "c1"}
    comments.write_text(json.dumps(row) + "\n", encoding="utf-8")
    quick = settings.model_copy(
        update={"idle_pitch_s": 1.0, "pitch_rotate_s": 100.0, "width": 240, "height": 416}
    )
    result = asyncio.run(
        run_demo(quick, tmp_path / "out", duration=26.0, realtime=False, comments=comments)
    )
    assert [r.message_id for r in result.records] == ["c1"]
    stamps = result.records[0].stamps
    before = [t for t, _ in result.pitches if t < COMMENT_AT]
    after = [t for t, _ in result.pitches if t > stamps["first_audio"]]
    assert before, "no pitch in the quiet start"
    assert after, "pitches did not resume once the answer was spoken"
    assert all("轻薄羽绒服" in line or "399" in line for _, line in result.pitches[:2])
    # the question cuts into the pitch at the next pause between words, and the host opens
    # with a bridge naming the asker while the answer is written
    window = CUT_WINDOW_S + 2 / quick.fps
    assert stamps["first_frame_out"] - stamps["received"] <= window
    assert result.records[0].reply.startswith("Quick one from Tom first. ")
    assert stamps["answer_frame_out"] > stamps["first_frame_out"]
    assert not [t for t, _ in result.pitches if stamps["received"] < t < stamps["first_audio"]]
    gaps = [b - a for (a, _), (b, _) in zip(result.pitches, result.pitches[1:], strict=False)]
    assert max(gaps) > quick.idle_pitch_s  # quiet time between pitches, counted after speech
    assert result.blocked == []
    engine = create_engine(quick.database_url)
    with Session(engine) as s:
        rows = s.scalars(select(db.ReplyRecord).where(db.ReplyRecord.intent == "pitch")).all()
    assert rows, "pitches are not in the audit log"
    assert all(r.comment_id is None and r.guard_ok for r in rows)
    assert all(any(line in r.text for r in rows) for _, line in result.pitches)
    cut = [r for r in rows if r.stamps.get("cut")]
    assert cut and cut[0].text.split()[-1] in [line for t, line in result.pitches if t < 4.0]
    with Session(engine) as s:
        answer = s.scalars(select(db.ReplyRecord).where(db.ReplyRecord.intent != "pitch")).one()
    assert answer.backend == "catalog" and not answer.stamps.get("cut")


def test_a_reply_gives_way_only_to_a_more_urgent_kind(settings: Settings, tmp_path: Path) -> None:
    """A buying question cuts into chit-chat; it never cuts into another buying question."""
    rows = [
        {"t": 1.0, "user": "Zoe", "text": "love this stream, you are so fun", "id": "chat"},
        {"t": 1.6, "user": "Tom", "text": "How much is the down jacket?", "id": "q1"},
        {"t": 2.4, "user": "Ann", "text": "how much are the running shoes?", "id": "q2"},
    ]
    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    quiet = settings.model_copy(update={"idle_pitch_s": 0.0, "width": 240, "height": 416})
    result = asyncio.run(run_demo(quiet, tmp_path / "out", realtime=False, comments=comments))
    by_id = {r.message_id: r for r in result.records}
    assert set(by_id) >= {"q1", "q2"}
    assert by_id["q2"].stamps["first_frame_out"] > by_id["q1"].stamps["answer_frame_out"]
    engine = create_engine(quiet.database_url)
    with Session(engine) as s:
        cut = {r.text: bool(r.stamps.get("cut")) for r in s.scalars(select(db.ReplyRecord)).all()}
    assert cut[by_id["q1"].reply] is False and cut[by_id["q2"].reply] is False
    if "chat" in by_id:  # the chit-chat answer, cut midway when Tom asked
        assert cut[by_id["chat"].reply] is True and result.cuts == 1
    else:  # cut before a word of it went on air
        assert result.drops.get("preempted") == 1 and result.cuts == 0
    assert "Quick one from" not in by_id["q1"].reply  # a bridge follows only a cut pitch


def test_a_waiting_question_is_answered_before_the_optional_rest_of_an_answer(
    settings: Settings, tmp_path: Path
) -> None:
    """Tom's answer gives its fact; Ann's question, typed while it plays, comes before the
    sentences Tom's answer would have added after it (they are not worth her wait)."""
    question = "What sizes does the down jacket come in, and is it in stock?"
    tom = {"t": 1.0, "user": "Tom", "text": question, "id": "q1"}
    ann = {"t": 1.5, "user": "Ann", "text": "how much are the running shoes?", "id": "q2"}
    quiet = settings.model_copy(update={"idle_pitch_s": 0.0, "width": 240, "height": 416})

    def session(rows: list[dict[str, object]], name: str) -> SessionResult:
        comments = tmp_path / f"{name}.jsonl"
        comments.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        url = f"sqlite:///{tmp_path / name}.db"
        run = quiet.model_copy(update={"database_url": url})
        return asyncio.run(run_demo(run, tmp_path / name, realtime=False, comments=comments))

    alone = session([tom], "alone")
    whole = alone.records[0].reply
    assert alone.trims == 0

    asked = session([tom, ann], "asked")
    by_id = {r.message_id: r for r in asked.records}
    trimmed = by_id["q1"]
    assert asked.trims == 1
    assert whole.startswith(trimmed.reply) and len(trimmed.reply) < len(whole)
    assert "Down Jacket" in trimmed.reply  # one fact was said before the trim
    assert by_id["q2"].stamps["first_frame_out"] > trimmed.stamps["answer_frame_out"]
    with Session(create_engine(f"sqlite:///{tmp_path / 'asked'}.db")) as s:
        texts = [r.text for r in s.scalars(select(db.ReplyRecord)).all()]
    assert trimmed.reply in texts and whole not in texts  # the record: what went on air
