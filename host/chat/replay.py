"""A chat source that plays a recorded (or scripted) comment file on the session clock.

The demo and the tests need a room that behaves the same every run: each JSONL line
`{"t": 12.5, "user": "Lily", "text": "how much?", "kind": "chat", "amount": 5, "id": "c7"}`
is yielded when the session clock reaches `t`, in fast mode as in realtime. A bad line is
reported with its line number and skipped: one typo must not end a stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from host.chat.events import KINDS, Comment
from host.chat.sources import Health
from host.stream.clock import Clock

log = logging.getLogger(__name__)


class ReplayError(ValueError):
    """One line of a replay file that cannot be read as a comment."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def parse_line(raw: str, line: int, platform: str, room: str) -> Comment:
    """One JSONL line as a Comment stamped at its `t`; ReplayError says what is wrong."""
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ReplayError(line, f"not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ReplayError(line, "expected a JSON object")
    t = data.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or t < 0:
        raise ReplayError(line, "'t' must be a number of seconds >= 0")
    user = data.get("user")
    if not isinstance(user, str) or not user.strip():
        raise ReplayError(line, "'user' must be a non-empty string")
    text = data.get("text", "")
    if not isinstance(text, str):
        raise ReplayError(line, "'text' must be a string")
    kind = data.get("kind", "chat")
    if kind not in KINDS:
        raise ReplayError(line, f"unknown kind {kind!r}")
    amount = None
    if data.get("amount") is not None:
        try:
            amount = Decimal(str(data["amount"]))
        except InvalidOperation as exc:
            raise ReplayError(line, "'amount' must be a number") from exc
    return Comment(
        platform=platform,
        room=room,
        message_id=str(data.get("id", f"line-{line}")),
        user_id=str(data.get("user_id", user)),
        user_name=user,
        text=text,
        kind=kind,
        amount=amount,
        currency=data.get("currency"),
        ts=float(t),
        raw=data,
    )


class ReplaySource:
    """Async iterator of the file's comments, each released at its time on `clock`."""

    name = "replay"

    def __init__(self, path: Path, clock: Clock, platform: str = "replay", room: str = "demo"):
        self.path = path
        self.clock = clock
        self.platform = platform
        self.room = room
        self.errors: list[ReplayError] = []
        self.health = Health(state="connected")

    def __aiter__(self) -> AsyncIterator[Comment]:
        return self._play()

    async def _play(self) -> AsyncIterator[Comment]:
        with self.path.open(encoding="utf-8") as lines:
            for number, raw in enumerate(lines, start=1):
                if not raw.strip():
                    continue
                try:
                    comment = parse_line(raw, number, self.platform, self.room)
                except ReplayError as exc:
                    self.errors.append(exc)
                    self.health.skipped(str(exc))
                    log.warning("%s: %s, skipped", self.path.name, exc)
                    continue
                await self.clock.sleep_until(comment.ts)
                self.health.received += 1
                self.health.last_message_at = comment.ts
                yield comment
        self.health.set("stopped")
