"""Supervision: a failing or stalled stage is restarted and counted, never swallowed, while
the program keeps its clock; one bad comment costs only itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from host.chat.events import Comment
from host.config import Settings
from host.db import models as db
from host.db.engine import make_engine
from host.demo import run_demo
from host.session.supervisor import Supervisor
from host.stream.clock import Clock


def test_a_stage_that_raises_is_reported_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RuntimeError(f"boom {len(runs)}")
        await asyncio.sleep(3600)

    async def scenario() -> Supervisor:
        sup = Supervisor()
        sup.add("flaky", flaky)
        await asyncio.sleep(1.5)
        await sup.stop()
        return sup

    with caplog.at_level(logging.ERROR):
        sup = asyncio.run(scenario())
    assert len(runs) == 3
    assert sup.restarts["flaky"] == 2
    assert "boom 2" in sup.last_error["flaky"]
    assert "stage flaky failed" in caplog.text  # with its traceback, not swallowed


def test_a_stalled_stage_is_cancelled_and_restarted_by_the_watchdog() -> None:
    starts: list[float] = []

    async def stuck() -> None:
        starts.append(asyncio.get_running_loop().time())
        await asyncio.sleep(3600)  # has work, makes no progress

    async def scenario() -> Supervisor:
        sup = Supervisor(watch_every_s=0.1)
        sup.add("stuck", stuck, stall_s=0.5, has_work=lambda: True)
        sup.start_watchdog()
        await asyncio.sleep(1.9)
        await sup.stop()
        return sup

    sup = asyncio.run(scenario())
    assert sup.stalls["stuck"] >= 2 and sup.restarts["stuck"] >= 2
    assert starts[1] - starts[0] >= 0.5


def test_an_idle_stage_is_never_taken_for_stalled() -> None:
    async def waiting() -> None:
        await asyncio.sleep(3600)

    async def scenario() -> Supervisor:
        sup = Supervisor(watch_every_s=0.1)
        sup.add("idle", waiting, stall_s=0.3, has_work=lambda: False)
        sup.start_watchdog()
        await asyncio.sleep(1.0)
        await sup.stop()
        return sup

    assert asyncio.run(scenario()).restarts["idle"] == 0


class Broken:
    """Not a comment at all: what a source bug could hand over."""

    platform = "bug"
    text = None


@pytest.mark.slow
def test_one_bad_comment_costs_only_itself(settings: Settings, tmp_path: Path) -> None:
    def source(clock: Clock) -> AsyncIterator[Comment]:
        async def comments() -> AsyncIterator[Comment]:
            await clock.sleep_until(1.0)
            yield Comment("test", "r", "a1", "u1", "Tom", "How much is the down jacket?", ts=1.0)
            yield Broken()  # type: ignore[misc]
            nasty = "3号多少钱\x00\ud800" + "!" * 10
            yield Comment("p" * 40, "r", "x" * 200, "u2", "阿强" * 200, nasty, ts=1.0)
            await clock.sleep_until(8.0)
            yield Comment("test", "r", "a3", "u3", "Amy", "is the scarf in stock?", ts=8.0)

        return comments()

    small = settings.model_copy(update={"width": 240, "height": 416, "idle_pitch_s": 0})
    result = asyncio.run(
        run_demo(small, tmp_path / "out", duration=25, realtime=False, source=source)
    )
    assert result.comments == 4
    assert result.drops.get("malformed") == 1
    assert len(result.records) == 3, result.records  # the nasty one is answered, cleaned
    assert result.restarts == {}
    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        (session,) = s.scalars(select(db.StreamSession))
        assert session.status == "ended"
        comments = list(s.scalars(select(db.CommentRecord)))
        replies = list(
            s.scalars(select(db.ReplyRecord).where(db.ReplyRecord.comment_id.is_not(None)))
        )
    engine.dispose()
    assert len(comments) == 3 and len(replies) == 3
    assert all("\x00" not in c.text and len(c.message_id) <= 128 for c in comments)
