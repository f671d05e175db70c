"""The audit trail of human changes: who changed what, and when.

The session's audit log (host/session/audit.py) records what the host heard and said; this
records what people did to it: a price edited, a lineup replaced, a stream started. A row is
written in the same request that made the change, after the change committed.

Actions are dotted names (`catalog.price`, `catalog.import`, `lineup.set`, `stream.start`,
`stream.stop`, `live.say`, ...). Targets are paths; anything a merchant owns sits under
`merchants/{slug}/` (`merchants/demo/products/LH-001`, `merchants/demo/streams/north`), so a
merchant's view of the trail is a prefix filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from host.db.models import Change, aware


@dataclass(frozen=True)
class ChangeRow:
    id: int
    at: datetime
    who: str
    action: str
    target: str
    detail: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "who": self.who,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
        }


def merchant_target(merchant: str, *parts: str) -> str:
    """`merchants/{merchant}/...`: the target of a change to something a merchant owns."""
    return "/".join(("merchants", merchant, *parts))


def record_change(
    engine: Engine, who: str, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    """Write one row of the trail; `detail` is JSON (values as the user gave them)."""
    with Session(engine) as session, session.begin():
        session.add(Change(who=who, action=action, target=target, detail=detail))


def list_changes(
    engine: Engine, *, target_prefix: str | Iterable[str] | None = None, limit: int = 100
) -> list[ChangeRow]:
    """The newest `limit` changes, newest first; only targets under `target_prefix` (one
    prefix, or any of several) when given. An empty collection of prefixes matches nothing."""
    query = select(Change).order_by(Change.id.desc()).limit(limit)
    if target_prefix is not None:
        prefixes = [target_prefix] if isinstance(target_prefix, str) else list(target_prefix)
        if not prefixes:
            return []
        query = query.where(or_(*(Change.target.startswith(p, autoescape=True) for p in prefixes)))
    with Session(engine) as session:
        return [
            ChangeRow(c.id, aware(c.at), c.who, c.action, c.target, c.detail)
            for c in session.scalars(query)
        ]
