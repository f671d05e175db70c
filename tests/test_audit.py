"""The audit writer: off the event loop, journalled, in order, and never stopped by one row."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.chat.events import Comment, Decision
from host.db import models as db
from host.db.migrate import migrated_engine
from host.session.audit import Audit, replay_journal
from tests.conftest import POSTGRES_ADMIN, POSTGRES_URL


def new_session(engine: Engine, name: str = "audit") -> int:
    with Session(engine) as s, s.begin():
        row = db.StreamSession(name=name, settings={})
        s.add(row)
        s.flush()
        return row.id


def comment(n: int, message_id: str | None = None) -> Comment:
    return Comment(
        platform="test",
        room="audit",
        message_id=message_id or f"m{n}",
        user_id=f"u{n}",
        user_name=f"viewer {n}",
        text=f"comment {n}",
        ts=float(n),
    )


def stored(engine: Engine, session_id: int) -> list[str]:
    with Session(engine) as s:
        return list(
            s.scalars(
                select(db.CommentRecord.message_id)
                .where(db.CommentRecord.session_id == session_id)
                .order_by(db.CommentRecord.id)
            )
        )


KEPT = Decision(kept=True, reason="queued")


def test_every_event_is_written_in_order_and_the_journal_is_left_empty(
    engine: Engine, tmp_path: Path
) -> None:
    session_id = new_session(engine)
    journal = tmp_path / "journal.jsonl"
    audit = Audit(engine, session_id, journal)
    for n in range(2_000):
        audit.comment(comment(n), KEPT)
    assert audit.counts.queued == 2_000  # handed over, whatever the writer has done yet
    audit.close("ended")
    assert stored(engine, session_id) == [f"m{n}" for n in range(2_000)]
    assert audit.counts.written == 2_001 and audit.counts.lost == 0
    assert not journal.exists()
    with Session(engine) as s:
        row = s.get(db.StreamSession, session_id)
        assert row is not None and row.status == "ended" and row.audit_seq == 2_001


@pytest.mark.postgres
def test_rows_wait_in_the_journal_while_the_database_is_away_and_none_is_lost(
    tmp_path: Path, postgres_name: str
) -> None:
    engine = migrated_engine(POSTGRES_URL.format(name=postgres_name))
    session_id = new_session(engine)
    journal = tmp_path / "journal.jsonl"
    audit = Audit(engine, session_id, journal)
    audit.comment(comment(0), KEPT)
    time.sleep(0.5)
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{postgres_name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (postgres_name,),
        )
        for n in range(1, 50):
            audit.comment(comment(n), KEPT)
        time.sleep(2.0)
        assert audit.counts.db_failures > 0
        assert audit.counts.journal_pending == 49
        lines = journal.read_text().splitlines()
        assert [json.loads(line)["row"]["message_id"] for line in lines[-49:]] == [
            f"m{n}" for n in range(1, 50)
        ]
        admin.execute(f'ALTER DATABASE "{postgres_name}" ALLOW_CONNECTIONS true')
    audit.close("ended")
    assert stored(engine, session_id) == [f"m{n}" for n in range(50)]
    assert audit.counts.lost == 0 and audit.counts.journal_pending == 0
    engine.dispose()


@pytest.mark.postgres
def test_a_value_the_database_refuses_costs_only_its_own_row(
    tmp_path: Path, postgres_name: str
) -> None:
    engine = migrated_engine(POSTGRES_URL.format(name=postgres_name))  # SQLite takes any length
    session_id = new_session(engine)
    audit = Audit(engine, session_id, tmp_path / "journal.jsonl")
    audit.comment(comment(1), KEPT)
    audit.comment(comment(2, message_id="x" * 300), KEPT)  # longer than the column
    audit.comment(comment(3), KEPT)
    audit.close("ended")
    assert stored(engine, session_id) == ["m1", "m3"]
    assert audit.counts.rejected == 1
    engine.dispose()


def test_a_killed_sessions_journal_is_written_once_however_often_it_is_replayed(
    engine: Engine, tmp_path: Path
) -> None:
    session_id = new_session(engine, "killed")
    journal = tmp_path / "killed.jsonl"
    audit = Audit(engine, session_id, journal)
    for n in range(5):
        audit.comment(comment(n), KEPT)
    audit.close("running")  # as far as a killed process got: five rows and a status (seq 6)
    events = [
        {"seq": 7 + n, "kind": "comment", "row": {**row(n + 5), "session_id": None}}
        for n in range(3)
    ]
    for event in events:
        del event["row"]["session_id"]
    journal.write_text(
        "\n".join(json.dumps(e) for e in events[:2])  # one line torn by the kill
        + "\n"
        + json.dumps(events[0])[:-5]
        + "\n"
        + json.dumps(events[2])
        + "\n"
    )
    copy = journal.read_text()
    assert replay_journal(engine, session_id, journal) == 3
    journal.write_text(copy)
    assert replay_journal(engine, session_id, journal) == 0
    assert stored(engine, session_id) == [f"m{n}" for n in range(8)]


def row(n: int) -> dict:
    c = comment(n)
    return {
        "platform": c.platform,
        "message_id": c.message_id,
        "user_id": c.user_id,
        "user_name": c.user_name,
        "text": c.text,
        "kind": c.kind,
        "received_at": c.ts,
        "decision": "kept",
        "reason": "queued",
    }
