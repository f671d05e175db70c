"""What a stream picks up from an earlier run of itself that did not end cleanly.

A session row left `running` belongs to a process that was killed (SIGKILL, power loss) when
its owner process is gone (same machine) or its heartbeat is stale (another machine). Its
journal is written into the database first (nothing it recorded is lost), the row is marked
`interrupted`, and the new session continues from its last checkpoint: the product on
screen, the pitch rotation, and the comments it had queued but not answered, when they are
younger than the stream's `resume_max_age_s`.

In a cluster the caller knows the predecessor is gone (Ray restarted its actor) and takes
over without waiting for its heartbeat to go stale (`takeover`): the lease's epoch
(`lease.py`) fences a predecessor that is in fact still running.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.chat.events import KINDS, Comment
from host.config import Settings
from host.db import models as db
from host.errors import HostError
from host.session.audit import mark_status, replay_journal
from host.session.spec import StreamSpec

log = logging.getLogger(__name__)

STALE_S = 30.0  # a heartbeat this old from another machine means its process is gone


@dataclass
class Recovered:
    current: str | None = None
    pitch_slot: int = 0
    pending: list[Comment] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)
    audited: set[str] = field(default_factory=set)  # message ids the last session recorded


def owner() -> str:
    """Who runs a session: `host:pid`, so a restart on the same machine can tell a dead
    predecessor from a live one at once."""
    return f"{socket.gethostname()}:{os.getpid()}"


def recover(
    engine: Engine, spec: StreamSpec, settings: Settings, *, takeover: bool = False
) -> Recovered:
    found = Recovered()
    with Session(engine) as s:
        rows = list(
            s.scalars(
                select(db.StreamSession)
                .where(db.StreamSession.name == spec.name, db.StreamSession.status == "running")
                .order_by(db.StreamSession.id)
            )
        )
    for row in rows:
        if not takeover and _alive(row):
            raise HostError(
                f"stream {spec.name} is already on air (session {row.id}, {row.owner});"
                " stop it first"
            )
        journal = settings.var_dir / "journal" / f"{spec.name}-{row.id}.jsonl"
        written = replay_journal(engine, row.id, journal)
        mark_status(engine, row.id, "interrupted")
        found.interrupted.append(row.id)
        log.warning(
            "stream %s: session %d did not end cleanly; %d journalled audit events written,"
            " resuming from its checkpoint",
            spec.name,
            row.id,
            written,
        )
    if not found.interrupted:
        return found
    last = found.interrupted[-1]
    with Session(engine) as s:
        previous = s.get(db.StreamSession, last)
        assert previous is not None
        checkpoint = previous.checkpoint or {}
        found.current = checkpoint.get("current")
        found.pitch_slot = int(checkpoint.get("pitch_slot", 0))
        found.pending = _unanswered(s, previous, spec.resume_max_age_s)
        found.audited = set(
            s.scalars(
                select(db.CommentRecord.message_id).where(db.CommentRecord.session_id == last)
            )
        )
    return found


def _alive(row: db.StreamSession) -> bool:
    host, _, pid = (row.owner or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    beat = row.heartbeat_at or row.started_at
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    return datetime.now(UTC) - beat < timedelta(seconds=STALE_S)


def _unanswered(s: Session, row: db.StreamSession, max_age_s: float) -> list[Comment]:
    """Comments the session queued and never answered, newer than `max_age_s`."""
    replies = list(
        s.execute(
            select(db.ReplyRecord.comment_id, db.ReplyRecord.merged).where(
                db.ReplyRecord.session_id == row.id
            )
        )
    )
    answered_rows = {comment_id for comment_id, _ in replies if comment_id is not None}
    answered_ids = {m for _, merged in replies for m in merged or ()}
    started = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
    oldest = datetime.now(UTC) - timedelta(seconds=max_age_s)
    pending = []
    for c in s.scalars(
        select(db.CommentRecord)
        .where(db.CommentRecord.session_id == row.id, db.CommentRecord.decision == "kept")
        .order_by(db.CommentRecord.id)
    ):
        if c.id in answered_rows or c.message_id in answered_ids:
            continue
        if started + timedelta(seconds=c.received_at) < oldest:
            continue
        pending.append(
            Comment(
                platform=c.platform,
                room=row.name,
                message_id=c.message_id,
                user_id=c.user_id,
                user_name=c.user_name,
                text=c.text,
                kind=c.kind if c.kind in KINDS else "chat",  # type: ignore[arg-type]
            )
        )
    return pending
