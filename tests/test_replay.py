from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from host.chat.events import Comment
from host.chat.normalize import has_cjk
from host.chat.replay import ReplaySource
from host.config import REPO_ROOT
from host.stream.clock import ProgramClock

DEMO_COMMENTS = REPO_ROOT / "products" / "demo" / "comments.jsonl"


class RecordingClock:
    """Jumps to each requested time at once, remembering what was waited for."""

    def __init__(self) -> None:
        self.t = 0.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, t: float) -> None:
        self.waits.append(t)
        self.t = max(self.t, t)


def play(source: ReplaySource) -> list[Comment]:
    async def collect() -> list[Comment]:
        return [c async for c in source]

    return asyncio.run(collect())


def test_comments_are_released_at_their_time_and_stamped(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"t": 0.5, "user": "Lily", "text": "hi", "id": "a"}\n'
        '{"t": 2, "user": "小美", "text": "多少钱", "kind": "gift", "amount": 9.9}\n',
        encoding="utf-8",
    )
    clock = RecordingClock()
    comments = play(ReplaySource(path, clock, platform="p", room="r"))
    assert clock.waits == [0.5, 2.0]
    assert [(c.ts, c.user_name, c.text, c.kind) for c in comments] == [
        (0.5, "Lily", "hi", "chat"),
        (2.0, "小美", "多少钱", "gift"),
    ]
    assert comments[0].message_id == "a" and comments[0].platform == "p"
    assert comments[1].message_id == "line-2" and comments[1].amount == Decimal("9.9")


def test_malformed_lines_are_reported_by_number_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"t": 1, "user": "a", "text": "ok"}',
                "{not json",
                '{"t": "soon", "user": "b", "text": "x"}',
                "",
                '{"t": 2, "text": "no user"}',
                '{"t": 3, "user": "c", "kind": "dance"}',
                '{"t": 4, "user": "d", "text": "x", "amount": "lots"}',
                '["t", 5]',
                '{"t": 6, "user": "e", "text": "last"}',
            ]
        ),
        encoding="utf-8",
    )
    source = ReplaySource(path, RecordingClock())
    assert [c.text for c in play(source)] == ["ok", "last"]
    assert [e.line for e in source.errors] == [2, 3, 5, 6, 7, 8]
    assert "unknown kind 'dance'" in str(source.errors[3])


def test_replay_waits_on_the_program_clock() -> None:
    async def run() -> tuple[list[str], float]:
        clock = ProgramClock()
        source = ReplaySource(DEMO_COMMENTS, clock)
        got: list[str] = []

        async def consume() -> None:
            async for comment in source:
                got.append(comment.message_id)

        task = asyncio.create_task(consume())
        await clock.advance(6.1)
        for _ in range(20):
            await asyncio.sleep(0)
        seen_early = list(got)
        await clock.advance(200.0)
        await asyncio.wait_for(task, 5)
        return seen_early, len(got)

    early, total = asyncio.run(run())
    assert early == ["c01", "c02", "c03"]
    assert total == 45


def test_demo_comments_are_a_realistic_stream() -> None:
    source = ReplaySource(DEMO_COMMENTS, RecordingClock())
    comments = play(source)
    assert source.errors == []
    assert 40 <= len(comments) <= 50
    times = [c.ts for c in comments]
    assert times == sorted(times) and 90 <= times[-1] <= 150
    assert sum(has_cjk(c.text) for c in comments) >= 8
    assert {"gift", "superchat"} <= {c.kind for c in comments}
    assert len({c.message_id for c in comments}) == len(comments)


def test_replay_reports_its_health_like_any_source(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"t": 0, "user": "a", "text": "hi"}\nnot json\n', encoding="utf-8")
    source = ReplaySource(path, RecordingClock())
    play(source)
    assert source.health.received == 1
    assert source.health.malformed == 1 and "line 2" in (source.health.last_error or "")
    assert source.health.state == "stopped"
