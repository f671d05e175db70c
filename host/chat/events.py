"""The events of the chat stage. Every source yields `Comment`; triage yields `Triaged`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, get_args

from host.trace import Trace

CommentKind = Literal["chat", "gift", "superchat", "like", "follow", "enter"]
KINDS: frozenset[str] = frozenset(get_args(CommentKind))


@dataclass(frozen=True)
class Comment:
    """One viewer event, the same whatever platform it came from."""

    platform: str
    room: str
    message_id: str
    user_id: str
    user_name: str
    text: str
    kind: CommentKind = "chat"
    amount: Decimal | None = None
    currency: str | None = None
    ts: float = 0.0  # session seconds when it was received
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Triaged:
    """A comment triage decided to answer, possibly standing for several merged askers."""

    comment: Comment
    text: str  # normalised text
    language: Literal["zh", "en"]
    priority: float
    askers: tuple[str, ...]  # display names of everyone merged into this item, first asker first
    merged: tuple[str, ...] = ()  # message ids of the comments merged in after the first
    injection: bool = False  # looks like prompt injection: treat the text as data only
    compact: bool = False  # the room is loud: the fact and the link, no pleasantries
    late: bool = False  # a paid item answered after its wait limit: the reply says sorry
    trace: Trace = field(default_factory=Trace, compare=False)


@dataclass(frozen=True)
class Decision:
    """What triage did with one comment, for the audit log and the drop counters."""

    kept: bool
    reason: str  # "queued", "merged", or why it was dropped ("spam", "flood", "rate", ...)
