"""The audit's write-ahead journal: every audit event reaches a file before the database.

Events are numbered per session (`seq`). The writer appends a batch to the journal, then
writes it to the database in one transaction that also records the highest `seq` written
(`stream_sessions.audit_seq`). So a SIGKILL or a database outage loses nothing: what the
database lacks is exactly the journal's lines above `audit_seq`, and they are replayed when
the database is back or when the stream next starts. The file is bounded; past the bound
new events are counted as lost rather than filling the disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Event = dict[str, Any]  # {"seq": n, "kind": "comment"|"reply"|"checkpoint"|..., "row": {...}}


class Journal:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self.size = path.stat().st_size

    def append(self, events: list[Event]) -> list[Event]:
        """Append and sync; returns the events that did not fit under the size bound."""
        lines: list[str] = []
        refused: list[Event] = []
        size = self.size
        for event in events:
            # ASCII escapes: any string (a lone surrogate too) has a line; the database may
            # still refuse the value, and then only that event is set aside.
            line = json.dumps(event, default=str) + "\n"
            if size + len(line) > self.max_bytes:
                refused.append(event)
                continue
            size += len(line)
            lines.append(line)
        if lines:
            self._file.write("".join(lines))
            self._file.flush()
            os.fsync(self._file.fileno())
            self.size = size
        return refused

    def truncate(self) -> None:
        """Everything in the file is in the database: start it empty."""
        self._file.truncate(0)
        self._file.seek(0)
        self.size = 0

    def close(self) -> None:
        """Close; an empty journal (everything written) leaves no file behind."""
        self._file.close()
        if self.size == 0:
            self.path.unlink(missing_ok=True)


def read_journal(path: Path, after_seq: int) -> Iterator[Event]:
    """The journal's events above `after_seq`; a torn last line (killed mid-write) is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("seq", 0) > after_seq:
                yield event
