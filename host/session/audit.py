"""The audit log of a session: every comment with its triage decision, every reply with its
guard verdict and stage timestamps, in the database and (for the demo) in replies.jsonl.

Rows are written as things happen, not at the end, so a crashed session still leaves its
record behind.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from host.chat.events import Comment, Decision, Triaged
from host.config import Settings
from host.db import models as db
from host.db.models import utcnow
from host.reply.events import Sentence, reply_intent, skus_of


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

    @classmethod
    def from_reply(
        cls, item: Triaged, spoken: Sequence[Sentence], violations: Sequence[str]
    ) -> SpokenReply:
        return cls(
            message_id=item.comment.message_id,
            merged=list(item.merged),
            user=item.comment.user_name,
            askers=list(item.askers),
            comment=item.comment.text,
            reply=" ".join(s.text for s in spoken),
            language=spoken[0].language,
            intent=reply_intent(spoken),
            skus=skus_of(spoken),
            backend=spoken[0].backend,
            guard_ok=not violations,
            violations=list(violations),
            stamps=item.trace.stamps,
        )

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "stamps": dict(self.stamps)}


class Audit:
    def __init__(
        self, engine: Engine, jsonl: Path | None, *, name: str, settings: Settings
    ) -> None:
        self._engine = engine
        self._jsonl_path = jsonl
        self._jsonl: IO[str] | None = None
        self._comment_ids: dict[str, int] = {}
        with Session(engine) as s, s.begin():
            row = db.StreamSession(
                name=name, settings=json.loads(settings.model_dump_json(exclude={"openai_api_key"}))
            )
            s.add(row)
            s.flush()
            self.session_id = row.id

    def __enter__(self) -> Audit:
        if self._jsonl_path is not None:
            self._jsonl = self._jsonl_path.open("w", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        with Session(self._engine) as s, s.begin():
            row = s.get(db.StreamSession, self.session_id)
            if row is not None:
                row.ended_at = utcnow()
                row.status = "failed" if exc_type else "ended"

    def comment(self, comment: Comment, decision: Decision) -> None:
        with Session(self._engine) as s, s.begin():
            row = db.CommentRecord(
                session_id=self.session_id,
                platform=comment.platform,
                message_id=comment.message_id,
                user_id=comment.user_id,
                user_name=comment.user_name,
                text=comment.text,
                kind=comment.kind,
                received_at=comment.ts,
                decision="kept" if decision.kept else "dropped",
                reason=decision.reason,
            )
            s.add(row)
            s.flush()
            self._comment_ids[comment.message_id] = row.id

    def reply(self, reply: SpokenReply) -> None:
        self._add(
            db.ReplyRecord(
                session_id=self.session_id,
                comment_id=self._comment_ids.get(reply.message_id),
                text=reply.reply,
                language=reply.language,
                intent=reply.intent,
                skus=reply.skus,
                backend=reply.backend,
                prompt_version=reply.prompt_version,
                guard_ok=reply.guard_ok,
                violations=reply.violations,
                stamps=dict(reply.stamps),
            )
        )
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(reply.as_json(), ensure_ascii=False) + "\n")
            self._jsonl.flush()

    def pitch(self, spoken: Sequence[Sentence], violations: Sequence[str]) -> None:
        """An idle pitch answers no comment, but the merchant is as liable for it as a reply."""
        if not spoken:
            return
        self._add(
            db.ReplyRecord(
                session_id=self.session_id,
                comment_id=None,
                text=" ".join(s.text for s in spoken),
                language=spoken[0].language,
                intent="pitch",
                skus=skus_of(spoken),
                backend=spoken[0].backend,
                guard_ok=not violations,
                violations=list(violations),
                stamps={},
            )
        )

    def _add(self, row: db.ReplyRecord) -> None:
        with Session(self._engine) as s, s.begin():
            s.add(row)
