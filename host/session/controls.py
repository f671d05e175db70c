"""The operator's hand on a running session: pause, approve-before-speaking, typed lines,
blocked viewers and keyword rules.

The console changes a `Controls` object; the session reads it at the points where it decides
what to say next (`LiveSession` consults it and nothing else), so a control takes effect at
the next comment or turn and never reaches into a stage mid-sentence. Every method runs on
the session's event loop; none waits on the database or the network — who did what is
recorded by the web routes (`host.changes`), not here.

Approve mode holds the reply turn while it waits: the queue keeps filling, and a reply
nobody answers is discarded or spoken after `approve_timeout_s`, which is kept under the
reply stage's stall watchdog so a slow operator is a timeout, not a restart.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from host.catalog.facts import CatalogView
from host.chat.events import Comment, Triaged
from host.reply.events import Responder, Sentence
from host.reply.sentences import SentenceCutter

log = logging.getLogger(__name__)

MAX_LINES = 20  # typed lines waiting to be said: more is a runaway script, not an operator
MAX_RULES = 200  # keyword rules per session, each tested against every reply
MAX_BLOCKED = 10_000  # blocked viewers per session
MAX_APPROVALS = 1_000  # who approved recent replies, until their audit rows are written
LINE_MAX_CHARS = 500  # a typed line or a rule's line (the guard also caps each sentence)
OPERATOR_PRIORITY = 1e9  # above any comment's: no comment cuts a line an operator typed

Choice = Literal["approve", "edit", "discard"]
TimeoutAction = Literal["discard", "speak"]


class ControlError(ValueError):
    """An operator's request the session cannot follow; the message says why."""


def language_of(text: str) -> Literal["zh", "en"]:
    """Chinese when the line has any CJK ideograph, else English (what the voices split on)."""
    return "zh" if any("CJK" in unicodedata.name(ch, "") for ch in text) else "en"


def sentences_of(text: str, *, skus: Sequence[str], backend: str, intent: str) -> list[Sentence]:
    """A human's line as the sentences a responder would have written, so it is guarded and
    voiced like any other."""
    cutter = SentenceCutter()
    pieces = cutter.feed(text) + cutter.flush()
    language = language_of(text)
    return [
        Sentence(
            text=piece,
            language=language,
            intent=intent,
            skus=tuple(skus),
            backend=backend,
            index=n,
            last=n == len(pieces) - 1,
        )
        for n, piece in enumerate(pieces)
    ]


def _clean(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ControlError("the line is empty")
    if len(text) > LINE_MAX_CHARS:
        raise ControlError(f"the line is {len(text)} characters; at most {LINE_MAX_CHARS}")
    return text


@dataclass(frozen=True)
class OperatorLine:
    """A line typed in the console for the host to say next."""

    text: str
    who: str

    def sentences(self, catalog: CatalogView) -> list[Sentence]:
        current = catalog.current()
        skus = [current.sku] if current is not None else []
        return sentences_of(self.text, skus=skus, backend="operator", intent="takeover")


@dataclass(frozen=True)
class KeywordRule:
    """A comment containing `keyword` is answered with `line`, before the responder is asked."""

    keyword: str
    line: str
    who: str

    def matches(self, text: str) -> bool:
        return _fold(self.keyword) in _fold(text)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class Answer:
    """The operator's answer to a reply waiting for approval."""

    choice: Choice
    who: str
    text: str | None = None  # the edited line (edit only)


@dataclass
class Pending:
    """A reply written and waiting for the operator's click."""

    id: int
    item: Triaged
    sentences: list[Sentence]
    since: float
    decided: asyncio.Future[Answer] = field(repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "comment": self.item.comment.text,
            "user": self.item.comment.user_name,
            "reply": " ".join(s.text for s in self.sentences),
            "backend": self.sentences[0].backend if self.sentences else None,
            "waiting_s": round(time.monotonic() - self.since, 1),
        }


class Controls:
    def __init__(
        self,
        *,
        approve_timeout_s: float = 20.0,
        timeout_action: TimeoutAction = "discard",
    ) -> None:
        self.approve_timeout_s = approve_timeout_s
        self.timeout_action: TimeoutAction = timeout_action
        self.paused = False
        self.approve_mode = False
        self.blocked: OrderedDict[str, str] = OrderedDict()  # viewer (id or name) -> who blocked
        self.rules: list[KeywordRule] = []
        self.pending: dict[int, Pending] = {}
        self.discarded = 0
        self._lines: deque[OperatorLine] = deque()
        self._approved: OrderedDict[str, str] = OrderedDict()  # message id -> who approved
        self._ids = itertools.count(1)
        self._wake: asyncio.Event | None = None

    def bind(self, wake: asyncio.Event) -> None:
        """The session's work event: set whenever a control gives the reply turn something
        to do (a typed line, a resume)."""
        self._wake = wake

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # the operator's side (the console, through StreamManager)
    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._poke()

    def set_approve_mode(self, on: bool) -> None:
        """Turning it off lets the replies that are waiting go on air as written."""
        self.approve_mode = on
        if not on:
            for pending in list(self.pending.values()):
                self.decide(pending.id, "approve", "approve mode off")

    def say(self, text: str, who: str) -> OperatorLine:
        if len(self._lines) >= MAX_LINES:
            raise ControlError(f"{MAX_LINES} typed lines are already waiting")
        line = OperatorLine(_clean(text), who)
        self._lines.append(line)
        self._poke()
        return line

    def block(self, viewer: str, who: str) -> None:
        viewer = viewer.strip()
        if not viewer:
            raise ControlError("name the viewer to block")
        self.blocked[viewer] = who
        self.blocked.move_to_end(viewer)
        while len(self.blocked) > MAX_BLOCKED:
            self.blocked.popitem(last=False)

    def unblock(self, viewer: str) -> bool:
        return self.blocked.pop(viewer.strip(), None) is not None

    def set_rules(self, rules: Sequence[tuple[str, str]], who: str) -> list[KeywordRule]:
        if len(rules) > MAX_RULES:
            raise ControlError(f"{len(rules)} keyword rules; at most {MAX_RULES}")
        made = []
        for keyword, line in rules:
            if not keyword.strip():
                raise ControlError("a keyword rule has no keyword")
            made.append(KeywordRule(keyword.strip(), _clean(line), who))
        self.rules = made
        return made

    def decide(self, pending_id: int, choice: Choice, who: str, text: str | None = None) -> None:
        """Answer a waiting reply; it leaves `pending` at once (KeyError: none such waits)."""
        pending = self.pending[pending_id]
        if choice == "edit":
            if text is None:
                raise ControlError("an edit needs the new line")
            text = _clean(text)
        del self.pending[pending_id]
        pending.decided.set_result(Answer(choice, who, text))

    def state(self) -> dict[str, Any]:
        return {
            "paused": self.paused,
            "approve_mode": self.approve_mode,
            "approve_timeout_s": self.approve_timeout_s,
            "timeout_action": self.timeout_action,
            "pending": [p.as_json() for p in self.pending.values()],
            "lines_waiting": [line.text for line in self._lines],
            "blocked": list(self.blocked),
            "rules": [{"keyword": r.keyword, "line": r.line} for r in self.rules],
            "discarded": self.discarded,
        }

    # the session's side (LiveSession)
    def blocks(self, comment: Comment) -> bool:
        return comment.user_id in self.blocked or comment.user_name in self.blocked

    def next_line(self) -> OperatorLine | None:
        return self._lines.popleft() if self._lines else None

    def approved_by(self, message_id: str) -> str | None:
        return self._approved.pop(message_id, None)

    async def reply_for(
        self, item: Triaged, responder: Responder, catalog: CatalogView
    ) -> AsyncIterator[Sentence]:
        """The reply the session speaks for `item`: a keyword rule's line, or the
        responder's reply, held for approval while approve mode is on."""
        rule = next((r for r in self.rules if r.matches(item.text)), None)
        if rule is not None:
            current = catalog.current()
            for sentence in sentences_of(
                rule.line,
                skus=[current.sku] if current is not None else [],
                backend="keyword",
                intent="keyword",
            ):
                yield sentence
            return
        if not self.approve_mode:
            async for sentence in responder.respond(item, catalog):
                yield sentence
            return
        written = [s async for s in responder.respond(item, catalog)]
        if not written:
            return
        answer = await self._approval(item, written)
        if answer.choice == "discard":
            self.discarded += 1
            return
        self._remember(item.comment.message_id, answer.who)
        if answer.choice == "edit":
            assert answer.text is not None
            written = sentences_of(
                answer.text,
                skus=sorted({sku for s in written for sku in s.skus}),
                backend=written[0].backend,
                intent=written[0].intent,
            )
        for sentence in written:
            yield sentence

    async def _approval(self, item: Triaged, written: list[Sentence]) -> Answer:
        loop = asyncio.get_running_loop()
        pending = Pending(next(self._ids), item, written, time.monotonic(), loop.create_future())
        self.pending[pending.id] = pending
        try:
            return await asyncio.wait_for(asyncio.shield(pending.decided), self.approve_timeout_s)
        except TimeoutError:
            log.info(
                "reply to %s not approved within %.0f s: %s",
                item.comment.message_id,
                self.approve_timeout_s,
                self.timeout_action,
            )
            choice: Choice = "discard" if self.timeout_action == "discard" else "approve"
            return Answer(choice, "timeout")
        finally:
            self.pending.pop(pending.id, None)

    def _remember(self, message_id: str, who: str) -> None:
        self._approved[message_id] = who
        while len(self._approved) > MAX_APPROVALS:
            self._approved.popitem(last=False)
