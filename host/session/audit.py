"""The audit log of a session: every comment with its triage decision, every line spoken with
its guard verdict and stage timestamps, in the database (and for the demo in replies.jsonl).

The session only hands events over: `Audit` numbers them and puts them on a bounded queue,
which costs microseconds and never blocks the program clock. A writer thread appends each
batch to the journal (`journal.py`) and then writes it to the database in one transaction;
while the database is away the batches wait in the journal and are written, in order, when
it is back. Rows are written as things happen, not at the end, so a crashed session still
leaves its record behind.
"""

from __future__ import annotations

import contextvars
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from host.chat.events import Comment, Decision, Triaged
from host.db import models as db
from host.db.models import utcnow
from host.reply.events import Sentence, prompt_version_of, reply_intent, skus_of
from host.session.journal import Event, Journal, read_journal
from host.session.lease import Fenced, check

log = logging.getLogger(__name__)

BATCH_MAX = 500  # events per database transaction
FLUSH_S = 0.2  # longest an event waits for its batch
RETRY_MIN_S, RETRY_MAX_S = 0.5, 5.0  # database retry backoff while it is away
QUEUE_MAX = 100_000  # events waiting for the writer: minutes of a comment flood


@dataclass
class SpokenReply:
    """One answered comment: what was said, by which backend, and when each stage finished."""

    message_id: str
    merged: list[str]  # message ids of the comments this reply also answers
    user: str
    askers: list[str]
    comment: str
    reply: str
    language: str
    intent: str
    skus: list[str]
    backend: str
    guard_ok: bool
    violations: list[str]
    stamps: dict[str, float] = field(repr=False)  # the item's live Trace.stamps
    prompt_version: str | None = None
    approved_by: str | None = None  # the operator who approved it (approve-before-speaking)

    @classmethod
    def from_reply(
        cls, item: Triaged, spoken: Sequence[Sentence], violations: Sequence[str]
    ) -> SpokenReply:
        answer = [s for s in spoken if s.intent != "bridge"] or list(spoken)
        return cls(
            message_id=item.comment.message_id,
            merged=list(item.merged),
            user=item.comment.user_name,
            askers=list(item.askers),
            comment=item.comment.text,
            reply=" ".join(s.text for s in spoken),
            language=answer[0].language,
            intent=reply_intent(answer),
            skus=skus_of(spoken),
            backend=answer[0].backend,
            guard_ok=not violations,
            violations=list(violations),
            stamps=item.trace.stamps,
        )

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "stamps": dict(self.stamps)}


@dataclass
class AuditCounts:
    """What the writer has done, for metrics and the end-of-session report."""

    queued: int = 0
    written: int = 0
    lost: int = 0  # refused by a full queue or a full journal: each is also logged
    rejected: int = 0  # refused by the database itself (a value it cannot store): logged
    db_failures: int = 0
    journal_pending: int = 0  # events in the journal not yet in the database
    fenced: int = 0  # refused because a newer session of the stream holds its lease


class Audit:
    """The session's side of the audit: cheap, non-blocking calls that become rows."""

    def __init__(
        self,
        engine: Engine,
        session_id: int,
        journal_path: Path,
        *,
        jsonl: Path | None = None,
        journal_max_bytes: int = 256 * 1024 * 1024,
        first_seq: int = 0,
        on_written: Callable[[list[str]], None] | None = None,
        on_fenced: Callable[[str], None] | None = None,
    ) -> None:
        """`on_written` gets the message ids of comments once their rows are in the database
        (a comment bus acknowledges them then); `on_fenced` is told, once, that a newer
        session of the stream refused this one's writes. Both are called from the writer
        thread."""
        self.session_id = session_id
        self.counts = AuditCounts()
        self._seq = first_seq
        self._queue: queue.Queue[Event | None] = queue.Queue(QUEUE_MAX)
        self._writer = _Writer(
            engine,
            session_id,
            Journal(journal_path, journal_max_bytes),
            jsonl,
            self.counts,
            on_written=on_written,
            on_fenced=on_fenced,
        )
        context = contextvars.copy_context()  # its log lines carry the stream and session
        self._thread = threading.Thread(
            target=context.run,
            args=(self._writer.run, self._queue),
            name=f"audit-{session_id}",
            daemon=True,
        )
        self._thread.start()

    def comment(self, comment: Comment, decision: Decision) -> None:
        self._submit("comment", _comment_row(comment, decision))

    def dropped(self, comment: Comment, reason: str) -> None:
        """A comment kept at intake and let go later (stale, pushed out of a full queue):
        its one row changes its decision, so every comment still has exactly one row."""
        self._submit("drop", _comment_row(comment, Decision(kept=False, reason=reason)))

    def reply(self, reply: SpokenReply, *, cut: bool = False) -> None:
        self._submit(
            "reply",
            {
                "message_id": reply.message_id,
                "text": reply.reply,
                "language": reply.language,
                "intent": reply.intent,
                "skus": reply.skus,
                "backend": reply.backend,
                "prompt_version": reply.prompt_version,
                "guard_ok": reply.guard_ok,
                "violations": reply.violations,
                "stamps": {**reply.stamps, **({"cut": 1.0} if cut else {})},
                "merged": reply.merged,
                "approved_by": reply.approved_by,
            },
            jsonl={"session": self.session_id, **reply.as_json()},
        )

    def pitch(
        self, spoken: Sequence[Sentence], violations: Sequence[str], *, cut: bool = False
    ) -> None:
        """An idle pitch answers no comment, but the merchant is as liable for it as a reply;
        one a question cut into is marked cut."""
        self.line(spoken, violations, intent="pitch", cut=cut)

    def line(
        self,
        spoken: Sequence[Sentence],
        violations: Sequence[str],
        *,
        intent: str,
        by: str | None = None,
        cut: bool = False,
    ) -> None:
        """A line that answers no comment (a pitch, an operator's typed line, `by` whom)."""
        if not spoken:
            return
        self._submit(
            "reply",
            {
                "message_id": None,
                "text": " ".join(s.text for s in spoken),
                "language": spoken[0].language,
                "intent": intent,
                "skus": skus_of(spoken),
                "backend": spoken[0].backend,
                "prompt_version": prompt_version_of(spoken),
                "guard_ok": not violations,
                "violations": list(violations),
                "stamps": {"cut": 1.0} if cut else {},
                "merged": [],
                "approved_by": by,
            },
        )

    def checkpoint(self, state: dict[str, Any]) -> None:
        """The session's resumable state; only the newest one matters, written in order."""
        self._submit("checkpoint", state)

    def close(self, status: str, timeout_s: float = 10.0) -> None:
        """Write what is queued, mark the session `status`, and stop the writer."""
        self._submit("status", {"status": status})
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            log.error("audit writer of session %d is stuck", self.session_id)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error(
                "audit of session %d not fully written within %.0f s; the journal keeps it and"
                " the next start of the stream writes it",
                self.session_id,
                timeout_s,
            )

    def _submit(self, kind: str, row: dict[str, Any], jsonl: dict[str, Any] | None = None) -> None:
        self._seq += 1
        event: Event = {"seq": self._seq, "kind": kind, "row": row}
        if jsonl is not None:
            event["jsonl"] = jsonl
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.counts.lost += 1
            log.error("audit queue full: %s event %d lost", kind, self._seq)
            return
        self.counts.queued += 1


class _Writer:
    """The writer thread: journal first, then the database, in order, retried until it works."""

    def __init__(
        self,
        engine: Engine,
        session_id: int,
        journal: Journal,
        jsonl: Path | None,
        counts: AuditCounts,
        *,
        on_written: Callable[[list[str]], None] | None = None,
        on_fenced: Callable[[str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._on_written = on_written
        self._on_fenced = on_fenced
        self._session_id = session_id
        self._journal = journal
        self._jsonl: IO[str] | None = jsonl.open("a", encoding="utf-8") if jsonl else None
        self._counts = counts
        self._pending: list[Event] = []  # in the journal, not yet in the database
        self._retry_at = 0.0
        self._retry_s = RETRY_MIN_S

    def run(self, inbox: queue.Queue[Event | None]) -> None:
        """The thread's loop; it outlives any one failure (logged, and the batch kept)."""
        stopping = False
        try:
            while not stopping:
                batch, stopping = _take(inbox, BATCH_MAX, FLUSH_S)
                try:
                    self._accept(batch)
                    self._drain(final=stopping)
                except Exception:
                    log.exception("audit writer of session %d: a pass failed", self._session_id)
                    time.sleep(RETRY_MIN_S)
        finally:
            self._journal.close()
            if self._jsonl is not None:
                self._jsonl.close()

    def _accept(self, batch: list[Event]) -> None:
        if not batch:
            return
        refused = {id(e) for e in self._journal.append(batch)}
        for event in batch:
            if id(event) in refused:
                self._counts.lost += 1
                log.error("audit journal full: %s event lost", event["kind"])
            else:
                self._pending.append(event)
        self._write_jsonl(batch)

    def _drain(self, *, final: bool) -> None:
        """Write pending events to the database, oldest first.

        A database that is away (a connection error) is waited for and retried. Any other
        error is an event the database refuses (a value no validation foresaw): the batch is
        written one event at a time so only that event is set aside, logged and counted,
        never the rows around it and never the writer.
        """
        deadline = time.monotonic() + 10.0 if final else 0.0
        single = False
        while self._pending:
            if time.monotonic() < self._retry_at:
                if not final:
                    return
                time.sleep(max(0.0, self._retry_at - time.monotonic()))
            chunk = self._pending[: 1 if single else BATCH_MAX]
            try:
                write_events(self._engine, self._session_id, chunk)
            except Fenced as error:
                self._fenced(str(error))
                return
            except (OperationalError, InterfaceError) as error:
                self._counts.db_failures += 1
                if self._retry_s == RETRY_MIN_S:
                    log.warning(
                        "audit: database unavailable (%s); %d events kept in %s",
                        type(error).__name__,
                        len(self._pending),
                        self._journal.path,
                    )
                self._retry_at = time.monotonic() + self._retry_s
                self._retry_s = min(RETRY_MAX_S, self._retry_s * 2)
                self._counts.journal_pending = len(self._pending)
                if final and time.monotonic() > deadline:
                    return
                continue
            except Exception as error:
                if len(chunk) > 1:
                    single = True  # find the one event the database refuses
                    continue
                self._counts.rejected += 1
                log.error(
                    "audit: the database refused %s event %d (%s: %s); set aside",
                    chunk[0]["kind"],
                    chunk[0]["seq"],
                    type(error).__name__,
                    str(error).splitlines()[0][:200],
                )
                del self._pending[:1]
                continue
            if self._retry_s != RETRY_MIN_S:
                log.warning("audit: database back; journal written")
            self._retry_s = RETRY_MIN_S
            del self._pending[: len(chunk)]
            self._counts.written += len(chunk)
            self._counts.journal_pending = len(self._pending)
            self._written(chunk)
        if self._journal.size:
            self._journal.truncate()

    def _written(self, chunk: list[Event]) -> None:
        if self._on_written is None:
            return
        ids = [e["row"]["message_id"] for e in chunk if e["kind"] == "comment"]
        if ids:
            try:
                self._on_written(ids)
            except Exception:  # an unacknowledged comment is claimed again, never lost
                log.exception("audit: acknowledging %d written comments failed", len(ids))

    def _fenced(self, reason: str) -> None:
        """A successor holds the stream: nothing this session still has may be written,
        now or by a later replay of its journal."""
        if not self._counts.fenced:
            log.error("audit of session %d refused: %s", self._session_id, reason)
            if self._on_fenced is not None:
                self._on_fenced(reason)
        self._counts.fenced += len(self._pending)
        self._pending.clear()
        self._counts.journal_pending = 0
        self._journal.truncate()

    def _write_jsonl(self, batch: list[Event]) -> None:
        if self._jsonl is None:
            return
        for event in batch:
            if "jsonl" in event:
                line = json.dumps(event["jsonl"], ensure_ascii=False)
                self._jsonl.write(line.encode("utf-8", "replace").decode("utf-8") + "\n")
        self._jsonl.flush()


def _take(inbox: queue.Queue[Event | None], limit: int, wait_s: float) -> tuple[list[Event], bool]:
    """Up to `limit` events, waiting at most `wait_s` for the first; True once told to stop."""
    batch: list[Event] = []
    try:
        first = inbox.get(timeout=wait_s)
    except queue.Empty:
        return batch, False
    if first is None:
        return batch, True
    batch.append(first)
    while len(batch) < limit:
        try:
            event = inbox.get_nowait()
        except queue.Empty:
            break
        if event is None:
            return batch, True
        batch.append(event)
    return batch, False


def _comment_row(comment: Comment, decision: Decision) -> dict[str, Any]:
    return {
        "platform": comment.platform,
        "message_id": comment.message_id,
        "user_id": comment.user_id,
        "user_name": comment.user_name,
        "text": comment.text,
        "kind": comment.kind,
        "received_at": comment.ts,
        "decision": "kept" if decision.kept else "dropped",
        "reason": decision.reason,
    }


def write_events(engine: Engine, session_id: int, events: list[Event]) -> None:
    """One transaction: the events' rows and the session's `audit_seq`; events at or below
    the stored `audit_seq` are already in and are skipped, so a replay never doubles a row."""
    with Session(engine) as s, s.begin():
        row = s.get(db.StreamSession, session_id, with_for_update=True)
        if row is None:
            raise LookupError(f"stream session {session_id} is gone")
        if row.epoch is not None:
            check(s, row.name, row.epoch)
        done = row.audit_seq
        comments: list[dict[str, Any]] = []
        for event in events:
            if event["seq"] <= done:
                continue
            kind, values = event["kind"], event["row"]
            if kind == "comment":
                comments.append({"session_id": session_id, **values})
                continue
            _insert_comments(s, comments)
            if kind == "drop":
                _mark_dropped(s, session_id, values)
            elif kind == "reply":
                _insert_reply(s, session_id, values)
            elif kind == "checkpoint":
                row.checkpoint = values
            elif kind == "status":
                row.status = values["status"]
                row.ended_at = utcnow()
        _insert_comments(s, comments)
        row.audit_seq = max(done, events[-1]["seq"])
        row.heartbeat_at = datetime.now(UTC)


def _insert_comments(s: Session, comments: list[dict[str, Any]]) -> None:
    if comments:
        s.execute(insert(db.CommentRecord), comments)
        comments.clear()


def _mark_dropped(s: Session, session_id: int, values: dict[str, Any]) -> None:
    """The comment's row now says dropped and why; a row lost before (a full audit queue)
    is written whole instead."""
    changed = s.execute(
        update(db.CommentRecord)
        .where(
            db.CommentRecord.session_id == session_id,
            db.CommentRecord.message_id == values["message_id"],
            db.CommentRecord.decision == "kept",
        )
        .values(decision="dropped", reason=values["reason"])
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        s.execute(insert(db.CommentRecord), [{"session_id": session_id, **values}])


def _insert_reply(s: Session, session_id: int, values: dict[str, Any]) -> None:
    message_id = values.pop("message_id")
    comment_id = None
    if message_id is not None:
        comment_id = s.scalar(
            select(db.CommentRecord.id)
            .where(
                db.CommentRecord.session_id == session_id,
                db.CommentRecord.message_id == message_id,
            )
            .order_by(db.CommentRecord.id.desc())
            .limit(1)
        )
    s.execute(insert(db.ReplyRecord).values(session_id=session_id, comment_id=comment_id, **values))


def replay_journal(engine: Engine, session_id: int, path: Path) -> int:
    """Write what a killed session's journal holds beyond its `audit_seq`; the count written."""
    with Session(engine) as s:
        done = s.scalar(select(db.StreamSession.audit_seq).where(db.StreamSession.id == session_id))
    events = list(read_journal(path, done or 0))
    for start in range(0, len(events), BATCH_MAX):
        write_events(engine, session_id, events[start : start + BATCH_MAX])
    path.unlink(missing_ok=True)
    return len(events)


def mark_status(engine: Engine, session_id: int, status: str) -> None:
    with Session(engine) as s, s.begin():
        s.execute(
            update(db.StreamSession)
            .where(db.StreamSession.id == session_id)
            .values(status=status, ended_at=utcnow())
        )
