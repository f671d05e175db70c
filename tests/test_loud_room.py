"""A burst of comments in a whole offline session: what waits too long is dropped as stale
and on the record, the paid viewer is still answered, and pitches wait for a quiet room."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from host.chat.triage import LOUD_HOLD_S
from host.config import Settings
from host.db import models as db
from host.demo import run_demo

pytestmark = pytest.mark.slow  # about 30 s of session, encoded

BURST_AT = 2.0


def test_a_burst_drops_stale_chit_chat_on_the_record_and_holds_pitches(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [{"t": BURST_AT, "user": "Tom", "text": "How much is the down jacket?", "id": "q"}]
    rows += [
        {"t": BURST_AT, "user": f"viewer{n}", "text": f"watching from city {n}", "id": f"c{n}"}
        for n in range(3)
    ]
    rows.append({"t": BURST_AT, "user": "Rich", "text": "love it", "kind": "superchat",
                 "amount": 30, "id": "sc"})  # fmt: skip
    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    quick = settings.model_copy(
        update={"idle_pitch_s": 1.0, "pitch_rotate_s": 100.0, "width": 240, "height": 416}
    )
    end = BURST_AT + LOUD_HOLD_S + 8.0
    result = asyncio.run(
        run_demo(quick, tmp_path / "out", duration=end, realtime=False, comments=comments)
    )
    answered = [r.message_id for r in result.records]
    assert set(answered[:2]) == {"q", "sc"}  # the buying question and the paid viewer first
    stale = result.drops.get("stale", 0)
    assert stale >= 2  # chit-chat the host had no time for (6 s limit)
    assert len(answered) + stale == len(rows)  # each comment answered or dropped, none left
    with Session(create_engine(quick.database_url)) as s:
        rows_by_id = {c.message_id: c for c in s.scalars(select(db.CommentRecord)).all()}
    dropped = [m for m, c in rows_by_id.items() if c.reason == "stale"]
    assert len(dropped) == stale and not set(dropped) & set(answered)
    assert all(rows_by_id[m].decision == "dropped" for m in dropped)  # its one row, changed
    assert len(rows_by_id) == len(rows)
    # The room stayed loud after the burst: no pitch until it had been quiet a while,
    # although the last answer was out well before.
    assert max(r.stamps["first_frame_out"] for r in result.records) < BURST_AT + LOUD_HOLD_S / 2
    assert not [t for t, _ in result.pitches if BURST_AT < t < BURST_AT + LOUD_HOLD_S]
    assert [t for t, _ in result.pitches if t > BURST_AT + LOUD_HOLD_S], "pitches never resumed"
