"""Logging for long runs: one JSON object per line, rotated, each carrying its stream.

`host run` writes `LOG_DIR/<stream>.log` (JSON lines, rotated by size) and keeps short
human lines on stderr. The stream and session ids ride in context variables, set once where
a session starts: every task and worker thread it starts inherits them, so no call site
passes them along.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from logging.handlers import RotatingFileHandler
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

stream_var: ContextVar[str | None] = ContextVar("stream", default=None)
session_var: ContextVar[int | None] = ContextVar("session", default=None)


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.stream = stream_var.get()
        record.session = session_var.get()
        return True


def setup_logging(
    *, verbose: bool = False, json_file: Path | None = None, max_mb: int = 20, backups: int = 10
) -> None:
    """stderr for people; with `json_file`, JSON lines for machines (info and up)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO if json_file else logging.WARNING)
    human = logging.StreamHandler(sys.stderr)
    human.setLevel(logging.DEBUG if verbose else logging.WARNING)
    human.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(human)
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        machine = RotatingFileHandler(
            json_file, maxBytes=max_mb * 1024 * 1024, backupCount=backups, encoding="utf-8"
        )
        machine.setLevel(logging.DEBUG if verbose else logging.INFO)
        machine.addFilter(_Context())
        machine.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(stream)s %(session)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
        root.addHandler(machine)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
