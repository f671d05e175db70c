"""Streams on a Ray cluster survive the loss of their machine and of their process.

A head and a worker node run on this machine (`ray start`, token authentication on, the
dashboard off); two streams are placed on the worker, each with its warm standby on the
head, their comments come over Redis (with a password), their programs go to two RTMP
receivers, their audit to PostgreSQL. The worker node is killed, then (once Ray's restart
of it stands by again) one session is SIGKILLed: each time each stream must be on air
again at its receiver (a new push, on the program clock it had), every comment sent meanwhile
answered once, and the audit hold every comment once, each session under its own epoch.

How soon it is back is printed here (the issue's target is 3 s) and measured over ten kills
by `bench/cluster.py`; a test asserts no timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

pytest.importorskip("ray", reason="the cluster extra is not installed (make setup-cluster)")

from host.catalog.store import ensure_demo_catalog
from host.chat.redis_bus import RedisBus
from host.chat.sources.websocket_ingress import IngressComment
from host.cli import app
from host.cluster import placement
from host.config import REPO_ROOT, Settings
from host.db import models as db
from host.db.migrate import migrated_engine
from host.session.manager import StreamManager
from host.session.spec import StreamSpec
from host.stream.clock import WallClock
from tests.conftest import POSTGRES_URL
from tests.host_run import free_port
from tests.ray_cluster import RayCluster, wait_for

RECEIVER = Path(__file__).with_name("rtmp_receiver.py")
STREAMS = ("north", "south")
QUESTIONS = [  # buying questions only, one at a time: triage lets none of them go stale
    "How much is the down jacket?",
    "Is the cashmere sweater in stock?",
    "How much are the wireless earbuds?",
]


class Receiver:
    """A test ingest that takes each reconnect of its publisher (`--again`)."""

    def __init__(self, out: Path) -> None:
        self.port = free_port()
        self.out = out
        self.process = subprocess.Popen(
            [sys.executable, str(RECEIVER), str(self.port), str(out), "--again"]
        )

    @property
    def url(self) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/key"

    def first_packet_at(self, push: int) -> float | None:
        """Wall time of the first packet of the `push`-th connection (0: the first)."""
        first = self.first_packet(push)
        return None if first is None else float(first["at"])

    def first_packet(self, push: int) -> dict | None:
        packets = self.out / str(push) / "packets.jsonl"
        if not packets.exists():
            return None
        with packets.open() as lines:
            line = lines.readline()
        return json.loads(line) if line.endswith("\n") else None

    def last_packet(self, push: int) -> dict:
        lines = (self.out / str(push) / "packets.jsonl").read_text().splitlines()
        return json.loads(lines[-1])

    def pushes(self) -> int:
        """Connections that delivered a packet."""
        return len([f for f in self.out.glob("*/packets.jsonl") if f.stat().st_size])


@pytest.fixture
def cluster() -> Iterator[RayCluster]:
    running = RayCluster(secrets.token_hex(16)).start()
    try:
        yield running
    finally:
        import ray

        ray.shutdown()
        running.stop()


async def _serve_on_cluster(settings: Settings, engine: Engine, receiver: Receiver) -> str:
    manager = StreamManager(settings, engine)
    os.environ["SERVED_INGEST"] = receiver.url  # the stream file names it; placement sends it
    spec = StreamSpec.model_validate(
        {
            "name": "north",
            "merchant": "demo",
            "sources": [{"kind": "websocket"}],
            "sinks": [{"kind": "rtmp", "url_env": "SERVED_INGEST"}],
        }
    )
    managed = manager.start(spec)
    pushes = receiver.pushes()
    deadline = time.monotonic() + 120
    while receiver.pushes() == pushes or manager.status("north")["state"] != "on air":
        assert time.monotonic() < deadline and not managed.task.done(), manager.status("north")
        await asyncio.sleep(0.2)
    state = str(manager.status("north")["state"])
    manager.stop("north")
    await asyncio.wait_for(managed.task, 60)
    del os.environ["SERVED_INGEST"]
    return state


def _timings(stream: str, killed_at: float) -> dict[str, float]:
    """When, after the kill, the new actor's process started and its session went on air."""
    now = placement.status(stream) or {}
    return {k: round(now[k] - killed_at, 2) for k in ("started_at", "on_air_at") if now.get(k)}


def wait_for_standby(stream: str) -> dict[str, Any]:
    """Until the stream has a built standby; the status of its session on air."""
    wait_for(
        lambda: (placement.status(stream) or {}).get("standby") == "standby",
        120,
        f"{stream}'s standby",
    )
    now = placement.status(stream)
    assert now is not None and now["state"] == "on air"
    return now


def _answered(engine: Engine, stream: str) -> tuple[Counter[str], Counter[str]]:
    """How often each comment of the stream was recorded, and how often answered."""
    with Session(engine) as s:
        sessions = select(db.StreamSession.id).where(db.StreamSession.name == stream)
        recorded = Counter(
            s.scalars(
                select(db.CommentRecord.message_id).where(db.CommentRecord.session_id.in_(sessions))
            )
        )
        answered: Counter[str] = Counter()
        for message_id, merged in s.execute(
            select(db.CommentRecord.message_id, db.ReplyRecord.merged)
            .join(db.ReplyRecord, db.ReplyRecord.comment_id == db.CommentRecord.id)
            .where(db.ReplyRecord.session_id.in_(sessions))
        ):
            answered[message_id] += 1
            answered.update(merged or [])
    return recorded, answered


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({}, "RAY_AUTH_TOKEN is not set"),
        ({"RAY_AUTH_TOKEN": "x"}, "REDIS_URL is not set"),
        ({"RAY_AUTH_TOKEN": "x", "REDIS_URL": "redis://:pw@127.0.0.1:1/0"}, "SQLite file"),
    ],
)
def test_host_run_on_a_cluster_names_what_it_lacks_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], error: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name in ("RAY_AUTH_TOKEN", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'livehost.db'}")
    stream = tmp_path / "night.yaml"
    stream.write_text(
        "name: night\nmerchant: demo\nsources: [{kind: replay}]\n"
        "sinks: [{kind: mp4, path: night.mp4}]\n"
    )
    result = CliRunner().invoke(app, ["run", str(stream), "--cluster", "ray://127.0.0.1:1"])
    assert result.exit_code == 1
    assert error in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.postgres
def test_streams_come_back_on_air_on_their_clock_after_a_lost_node_and_a_killed_actor(
    cluster: RayCluster,
    redis_url: str,
    postgres_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_url = POSTGRES_URL.format(name=postgres_name)
    base = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        var_dir=tmp_path / "var",
        products_dir=REPO_ROOT / "products",
        redis_url=SecretStr(redis_url),
        ray_auth_token=SecretStr(cluster.token),
        width=240,
        height=416,
        idle_pitch_s=0,
        viewer_cooldown_s=0,
        lease_renew_s=0.25,
        standby_after_s=1.0,
        ingress_tokens={name: SecretStr("t") for name in STREAMS},
    )
    engine = migrated_engine(db_url)
    ensure_demo_catalog(engine, base)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # restored after the test
    monkeypatch.setenv("RAY_AUTH_TOKEN", cluster.token)
    placement.connect(cluster.address, base)
    worker = cluster.node_id("worker")
    receivers = {name: Receiver(tmp_path / name) for name in STREAMS}
    bus = RedisBus(redis_url, WallClock())
    sent: dict[str, list[str]] = {name: [] for name in STREAMS}

    def send(round_: int) -> None:
        for name in STREAMS:
            message_id = f"{name}-{round_}"
            text = QUESTIONS[round_ % len(QUESTIONS)]
            comment = IngressComment(id=message_id, user=f"{name}{round_}", text=text)
            assert bus.source(name).offer(comment) == "accepted"
            sent[name].append(message_id)

    def all_answered() -> bool:
        return all(set(sent[n]) <= set(_answered(engine, n)[1]) for n in STREAMS)

    def wait_answered(what: str) -> None:
        try:
            wait_for(all_answered, 60, what)
        except AssertionError as error:  # say what triage made of each comment
            with Session(engine) as s:
                rows = s.execute(select(db.CommentRecord.message_id, db.CommentRecord.reason)).all()
            raise AssertionError(f"{error}; triage: {sorted(map(tuple, rows))}") from None

    try:
        for name in STREAMS:
            spec = StreamSpec.model_validate(
                {
                    "name": name,
                    "merchant": "demo",
                    "sources": [{"kind": "websocket"}],
                    "sinks": [{"kind": "rtmp", "url_env": "INGEST"}],
                }
            )
            placement.place(
                spec,
                spec.settings_for(base, environ={}),
                environ={"INGEST": receivers[name].url},
                node=worker,
            )
        for name in STREAMS:
            wait_for(lambda r=receivers[name]: r.first_packet_at(0), 120, f"{name} on air")
            assert (placement.status(name) or {}).get("node") == worker
        for name in STREAMS:  # each with a built standby on the other node
            wait_for_standby(name)
        send(0)
        wait_answered("the first comments answered")

        killed_at = time.time()
        cluster.kill_node(worker)
        send(1)  # during the outage
        back = {
            name: wait_for(lambda r=receivers[name]: r.first_packet_at(1), 60, f"{name} back")
            - killed_at
            for name in STREAMS
        }
        timings = {name: _timings(name, killed_at) for name in STREAMS}
        for name in STREAMS:  # the new push goes on on the stream's clock: a gap, not a 0
            ended, again = receivers[name].last_packet(0), receivers[name].first_packet(1)
            assert again is not None
            wall = again["at"] - ended["at"]
            assert again["dts"] > ended["dts"]  # a restart at 0 would be a new stream
            assert again["dts"] - ended["dts"] == pytest.approx(wall, abs=3.0)  # senders' lag
        wait_answered("the comments sent during the node's outage answered")

        north = wait_for_standby("north")  # the one Ray restarted, built again
        assert north["node"] != worker
        killed_at = time.time()
        os.kill(north["pid"], signal.SIGKILL)
        send(2)
        back["north (actor killed)"] = (
            wait_for(lambda: receivers["north"].first_packet_at(2), 60, "north back") - killed_at
        )
        wait_answered("the comments sent after the actor's kill answered")
        timings["north (actor killed)"] = _timings("north", killed_at)
        print("back on air after the kill, s:", {k: round(v, 2) for k, v in back.items()})
        print("restart timings:", timings)

        for name in STREAMS:
            recorded, answered = _answered(engine, name)
            assert set(recorded) == set(sent[name]) and set(recorded.values()) == {1}
            assert {m: answered[m] for m in sent[name]} == {m: 1 for m in sent[name]}
            with Session(engine) as s:
                rows = list(
                    s.scalars(
                        select(db.StreamSession)
                        .where(db.StreamSession.name == name)
                        .order_by(db.StreamSession.id)
                    )
                )
            epochs = [r.epoch for r in rows]
            assert epochs == sorted(set(epochs))  # every session its own, rising epoch
            assert [r.status for r in rows[:-1]] == ["interrupted"] * (len(rows) - 1)

        for name in STREAMS:
            placement.stop(name)
        for name in STREAMS:
            placement.wait_ended(name, 30)

        # host serve with RAY_ADDRESS starts a stream on the cluster and follows it there
        serve = base.model_copy(update={"ray_address": cluster.address})
        assert asyncio.run(_serve_on_cluster(serve, engine, receivers["north"])) == "on air"
    finally:
        for receiver in receivers.values():
            receiver.process.kill()
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_the_cluster_refuses_a_client_without_its_token_and_serves_no_dashboard(
    cluster: RayCluster, postgres_name: str, tmp_path: Path
) -> None:
    db_url = POSTGRES_URL.format(name=postgres_name)
    engine = migrated_engine(db_url)
    ensure_demo_catalog(engine, Settings(_env_file=None, database_url=db_url))  # type: ignore[call-arg]
    engine.dispose()
    stream = tmp_path / "night.yaml"
    stream.write_text(
        "name: night\nmerchant: demo\nsources: [{kind: replay}]\n"
        "sinks: [{kind: rtmp, url_env: INGEST}]\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO_ROOT),
        "RAY_AUTH_TOKEN": "not-the-token",
        "REDIS_URL": "redis://:pw@127.0.0.1:1/0",
        "DATABASE_URL": db_url,
        "INGEST": "rtmp://127.0.0.1:1/live/key",
    }
    host = str(Path(sys.executable).with_name("host"))
    refused = subprocess.run(
        [host, "run", str(stream), "--cluster", cluster.address],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    assert f"cannot join the Ray cluster at {cluster.address}" in said
    assert "Traceback" not in said
    listening = set()
    for process in cluster.processes():
        for one in (process, *process.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                listening |= {
                    c.laddr.port for c in one.net_connections("inet") if c.status == "LISTEN"
                }
    assert 8265 not in listening  # Ray's dashboard (and its job API) is off
