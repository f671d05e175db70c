"""`host run` as its user runs it: a real process, a stream file, a port, signals.

`HostRun` writes the stream file, starts `host run` with a clean environment (the test's
database and var folder, nothing from the developer's `.env`), waits for its web front,
and reads back what an operator would: `/health`, `/metrics`, the database, the logs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from host.db import models as db

HOST = str(Path(sys.executable).with_name("host"))
SMALL = {"WIDTH": "360", "HEIGHT": "640", "HLS_SEGMENT_SECONDS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HostRun:
    def __init__(self, work: Path, stream: dict[str, Any], env: dict[str, str] | None = None):
        self.work = work
        self.stream = stream
        self.db_url = f"sqlite:///{work / 'livehost.db'}"
        self.port = free_port()
        self.file = work / f"{stream['name']}.yaml"
        self.file.write_text(yaml.safe_dump(stream, allow_unicode=True), encoding="utf-8")
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(work),
            "DATABASE_URL": self.db_url,
            "VAR_DIR": str(work / "var"),
            "COLUMNS": "200",
            **SMALL,
            **(env or {}),
        }
        self.process: subprocess.Popen[str] | None = None

    def start(self, *args: str) -> HostRun:
        self.log = (self.work / f"host-run-{time.monotonic_ns()}.log").open("w")
        self.process = subprocess.Popen(
            [HOST, "run", str(self.file), "--port", str(self.port), *args],
            cwd=self.work,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 90
        while True:
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, "host run never served its front"
            try:
                if httpx.get(self.url("/health"), timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.url("/health"), timeout=5).json()
        return body

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics, parsed as Prometheus text (a parse error fails)."""
        text = httpx.get(self.url("/metrics"), timeout=5).text
        out = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    def on_air(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.health()["streams"].get(self.stream["name"], {})
            if status.get("state") == "on air":
                return status
            time.sleep(0.2)
        raise AssertionError(f"never on air: {self.output()}")

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        finally:
            self.log.flush()

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def sessions(self) -> list[db.StreamSession]:
        engine = create_engine(self.db_url)
        try:
            with Session(engine) as s:
                return list(s.scalars(select(db.StreamSession).order_by(db.StreamSession.id)))
        finally:
            engine.dispose()

    def rows(self, model: type[Any], session_id: int | None = None) -> list[Any]:
        engine = create_engine(self.db_url)
        try:
            with Session(engine) as s:
                query = select(model).order_by(model.id)
                if session_id is not None:
                    query = query.where(model.session_id == session_id)
                return list(s.scalars(query))
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
