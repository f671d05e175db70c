"""A stream's lease: once a successor holds it, the old session (a zombie) writes nothing
to the audit and pushes nothing to the platform."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from host.chat.events import Comment
from host.config import Settings
from host.db import models as db
from host.session.audit import mark_status, write_events
from host.session.builder import Running, open_session, run_stream
from host.session.lease import Fenced, LeaseKeeper, Standby, StreamOver, take
from host.session.spec import StreamSpec
from host.stream.clock import Clock
from tests.host_run import free_port

RECEIVER = Path(__file__).with_name("rtmp_receiver.py")


def _spec(name: str, sinks: list[dict[str, str]] | None = None) -> StreamSpec:
    return StreamSpec.model_validate(
        {
            "name": name,
            "merchant": "demo",
            "sources": [{"kind": "replay"}],
            "sinks": sinks or [{"kind": "mp4", "path": "out.mp4"}],
        }
    )


def _comment_event(seq: int) -> dict:
    row = {
        "platform": "test",
        "message_id": f"m{seq}",
        "user_id": "u",
        "user_name": "viewer",
        "text": "hello",
        "kind": "chat",
        "received_at": 0.0,
        "decision": "kept",
        "reason": "queued",
    }
    return {"seq": seq, "kind": "comment", "row": row}


def _comments(engine: Engine, session_id: int) -> int:
    with Session(engine) as s:
        return int(
            s.scalar(select(func.count()).where(db.CommentRecord.session_id == session_id)) or 0
        )


def test_writes_of_an_older_epoch_are_refused_once_a_successor_holds_the_lease(
    engine: Engine, settings: Settings
) -> None:
    spec = _spec("night")
    first, _ = take(engine, "night", "a:1", fresh=True)
    zombie = open_session(engine, spec, settings, first)
    write_events(engine, zombie, [_comment_event(1)])
    second, _ = take(engine, "night", "b:2", fresh=False)
    assert second == first + 1
    with pytest.raises(Fenced):
        write_events(engine, zombie, [_comment_event(2)])
    successor = open_session(engine, spec, settings, second)
    write_events(engine, successor, [_comment_event(1)])
    assert (_comments(engine, zombie), _comments(engine, successor)) == (1, 1)


def test_a_takeover_keeps_the_streams_on_air_time_and_a_fresh_start_resets_it(
    engine: Engine,
) -> None:
    _, began = take(engine, "night", "a:1", fresh=True)
    time.sleep(0.05)
    _, kept = take(engine, "night", "b:2", fresh=False)
    _, restarted = take(engine, "night", "c:3", fresh=True)
    assert kept == began and restarted > began


@pytest.mark.slow
def test_a_zombie_stops_pushing_and_writing_when_a_successor_takes_over(
    demo_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    received = tmp_path / "received"
    receiver = subprocess.Popen([sys.executable, str(RECEIVER), str(port), str(received)])
    settings = settings.model_copy(update={"width": 240, "height": 416, "lease_renew_s": 0.2})
    spec = _spec("zombie", [{"kind": "rtmp", "url_env": "ZOMBIE_RTMP"}])
    environ = {"ZOMBIE_RTMP": f"rtmp://127.0.0.1:{port}/live/key"}
    holder: list[Running] = []
    given: dict[str, float] = {}  # message id -> when the session was given it

    async def comments(clock: Clock) -> AsyncIterator[Comment]:
        for n in range(1_000):
            await asyncio.sleep(0.2)
            given[f"z{n}"] = time.time()
            yield Comment("test", "zombie", f"z{n}", f"u{n}", f"viewer {n}", "hi there")

    async def scenario() -> tuple[float, float]:
        session = asyncio.create_task(
            run_stream(
                spec,
                settings,
                demo_engine,
                duration=60,
                on_start=holder.append,
                environ=environ,
                source=comments,
            )
        )
        packets = received / "packets.jsonl"
        deadline = time.monotonic() + 60
        while not (packets.exists() and packets.stat().st_size > 0):
            assert time.monotonic() < deadline and not session.done(), "never on air"
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        fenced_at = time.time()
        await asyncio.to_thread(take, demo_engine, "zombie", "successor:1", fresh=False)
        result = await asyncio.wait_for(session, 20)
        return fenced_at, result.program.frames / settings.fps

    try:
        fenced_at, on_air_s = asyncio.run(scenario())
        receiver.wait(15)  # the push ended: the receiver saw its publisher go
    finally:
        receiver.kill()
    running = holder[0]
    arrivals = [json.loads(line)["at"] for line in (received / "packets.jsonl").open()]
    # the keeper sees the new epoch within one renewal; what the sink had queued may follow
    assert max(arrivals) < fenced_at + 0.2 + 1.0
    assert on_air_s < 20
    with Session(demo_engine) as s:
        row = s.get(db.StreamSession, running.session_id)
        assert row is not None and row.status == "running"  # its "ended" was refused too
    assert running.audit.counts.fenced > 0
    with Session(demo_engine) as s:
        written = set(
            s.scalars(
                select(db.CommentRecord.message_id).where(
                    db.CommentRecord.session_id == running.session_id
                )
            )
        )
    assert written and all(given[m] < fenced_at for m in written)  # none after the fence


async def _renewing(keeper: LeaseKeeper, seconds: float) -> None:
    keeper.start()
    await asyncio.sleep(seconds)
    await asyncio.to_thread(keeper.stop)  # the session on air is gone: no more renewals


def _keeper(engine: Engine, epoch: int) -> LeaseKeeper:
    return LeaseKeeper(
        engine, "night", epoch, 1, renew_s=0.05, lapse_s=None, on_lost=lambda _reason: None
    )


def test_a_standby_takes_over_a_lease_once_it_goes_unrenewed_and_only_one_standby_does(
    engine: Engine,
) -> None:
    async def run() -> None:
        epoch, _ = take(engine, "night", "a:1", fresh=True)
        standbys = [Standby(engine, "night", after_s=0.5, armed=False) for _ in range(2)]
        waits = [asyncio.create_task(s.wait()) for s in standbys]
        renewing = _renewing(_keeper(engine, epoch), 1.5)
        await renewing  # 1.5 s of renewals: 3 times `after_s`, and nobody took over
        assert not any(w.done() for w in waits)
        with Session(engine) as s:  # the last renewal: staleness counts from it, not from
            last = db.aware(s.scalars(select(db.StreamLease.renewed_at)).one())  # the stop
        done, waiting = await asyncio.wait(waits, timeout=5, return_when="FIRST_COMPLETED")
        unrenewed = (db.utcnow() - last).total_seconds()
        assert len(done) == 1 and 0.5 < unrenewed < 1.5
        await asyncio.sleep(0.3)  # the claim renewed the lease: the other one waits on
        assert len(waiting) == 1 and not next(iter(waiting)).done()
        next(iter(waiting)).cancel()

    asyncio.run(run())


def test_a_standby_beside_a_new_stream_waits_for_its_first_session_and_ends_with_it(
    engine: Engine, settings: Settings
) -> None:
    async def run() -> None:
        take(engine, "night", "old:1", fresh=True)  # yesterday's broadcast, ended
        old = open_session(engine, _spec("night"), settings, 1)
        _keeper(engine, 1)._renew()
        mark_status(engine, old, "ended")
        standby = Standby(engine, "night", after_s=0.2, armed=False)
        waiting = asyncio.create_task(standby.wait())
        await asyncio.sleep(0.6)  # an old lease and an ended session: not armed, waits
        assert not waiting.done()
        epoch, _ = take(engine, "night", "a:1", fresh=True)  # today's first session
        session = open_session(engine, _spec("night"), settings, epoch)
        keeper = LeaseKeeper(
            engine, "night", epoch, session, renew_s=0.05, lapse_s=None, on_lost=print
        )
        keeper.start()
        await asyncio.sleep(0.3)
        assert not waiting.done() and standby.armed
        mark_status(engine, session, "ended")  # the stream ended: nothing to take over
        await asyncio.to_thread(keeper.stop)
        with pytest.raises(StreamOver):
            await asyncio.wait_for(waiting, 5)

    asyncio.run(run())


def test_a_standby_that_cannot_reach_the_database_waits_instead_of_taking_over() -> None:
    away = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone?connect_timeout=1")

    async def run() -> None:
        waiting = asyncio.create_task(Standby(away, "night", after_s=0.2, armed=True).wait())
        await asyncio.sleep(1.5)
        assert not waiting.done()  # neither a takeover nor a crash (Ray would restart it)
        waiting.cancel()

    asyncio.run(run())
