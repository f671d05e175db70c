"""The operator's live controls, through a real session (the real builder, voices, video and
audit database), driven from its comment source on the session's own loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.chat.events import Comment
from host.chat.replay import parse_line
from host.config import Settings
from host.db import models as db
from host.session.builder import Running, run_stream
from host.session.controls import ControlError, Controls
from host.session.spec import load_stream
from host.stream.clock import Clock

pytestmark = pytest.mark.slow

STREAM = """name: ctl
merchant: demo
sources:
  - kind: websocket
sinks:
  - kind: mp4
    path: {out}/ctl.mp4
"""

Script = Callable[[Running, Clock], AsyncIterator[Comment]]


def comment(n: int, user: str, text: str, t: float) -> Comment:
    line = json.dumps({"t": t, "user": user, "text": text, "id": f"c{n}"})
    return parse_line(line, n, "api", "ctl")


def run(settings: Settings, engine: Engine, tmp_path: Path, script: Script, **changes: object):
    """Run the stream in fast mode until `script` has ended and the host is quiet; the rows
    the audit wrote (comments, replies) come back."""
    path = tmp_path / "ctl.yaml"
    path.write_text(STREAM.format(out=tmp_path))
    spec = load_stream(path)
    small = settings.model_copy(update={"width": 360, "height": 640, **changes})
    running: list[Running] = []
    failed: list[BaseException] = []

    def source(clock: Clock) -> AsyncIterator[Comment]:
        async def comments() -> AsyncIterator[Comment]:
            if failed:  # the mux restarts a failed source: end instead of running it again
                return
            while not running:
                await asyncio.sleep(0.01)
            try:
                async for c in script(running[0], clock):
                    yield c
            except Exception as error:
                failed.append(error)
                running[0].live.request_stop()

        return comments()

    result = asyncio.run(
        run_stream(
            spec,
            spec.settings_for(small),
            engine,
            realtime=False,
            source=source,
            on_start=running.append,
        )
    )
    if failed:
        raise failed[0]
    with Session(engine) as s:
        comments = {c.message_id: c for c in s.scalars(select(db.CommentRecord))}
        replies = list(s.scalars(select(db.ReplyRecord).order_by(db.ReplyRecord.id)))
    return result, comments, replies


async def until(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


def test_blocked_viewer_is_dropped_as_blocked_and_never_answered(
    settings: Settings, demo_engine: Engine, tmp_path: Path
) -> None:
    async def script(on_air: Running, clock: Clock) -> AsyncIterator[Comment]:
        controls = on_air.live.controls
        controls.block("Troll", "ops")
        yield comment(1, "Troll", "How much is the down jacket?", clock.now())
        yield comment(2, "Amy", "How much is the down jacket?", clock.now())

    _, comments, replies = run(settings, demo_engine, tmp_path, script)
    assert (comments["c1"].decision, comments["c1"].reason) == ("dropped", "blocked")
    assert comments["c2"].decision == "kept"
    assert [r.comment_id for r in replies if r.comment_id] == [comments["c2"].id]


def test_typed_line_is_said_next_with_who_and_a_wrong_price_is_stopped(
    settings: Settings, demo_engine: Engine, tmp_path: Path
) -> None:
    async def script(on_air: Running, clock: Clock) -> AsyncIterator[Comment]:
        controls = on_air.live.controls
        controls.say("Welcome everyone, the down jacket is 399 yuan today!", "olga")
        controls.say("The down jacket is only 9 yuan!", "olga")  # not its price
        await until(lambda: not controls.state()["lines_waiting"])
        if False:
            yield

    result, _, replies = run(settings, demo_engine, tmp_path, script)
    typed = [r for r in replies if r.intent == "takeover"]
    assert len(typed) == 1
    assert typed[0].text == "Welcome everyone, the down jacket is 399 yuan today!"
    assert (typed[0].approved_by, typed[0].backend, typed[0].guard_ok) == ("olga", "operator", True)
    assert any("9" in v and "not in catalog" in v for _, vs in result.blocked for v in vs)


def test_approve_mode_holds_each_reply_for_a_click(
    settings: Settings, demo_engine: Engine, tmp_path: Path
) -> None:
    async def script(on_air: Running, clock: Clock) -> AsyncIterator[Comment]:
        controls = on_air.live.controls
        controls.set_approve_mode(True)
        yield comment(1, "Tom", "How much is the down jacket?", clock.now())
        await until(lambda: bool(controls.pending))
        first = next(iter(controls.pending.values()))
        assert "399" in first.as_json()["reply"]
        controls.decide(first.id, "approve", "olga")
        yield comment(2, "Amy", "Does the down jacket ship free?", clock.now())
        await until(lambda: bool(controls.pending))
        controls.decide(next(iter(controls.pending)), "discard", "olga")
        yield comment(3, "Lin", "Is the down jacket warm?", clock.now())
        await until(lambda: bool(controls.pending))
        controls.decide(next(iter(controls.pending)), "edit", "piet", "Very warm, Lin!")

    _, comments, replies = run(settings, demo_engine, tmp_path, script)
    answered = {r.comment_id: r for r in replies if r.comment_id}
    tom, amy, lin = (comments[f"c{n}"].id for n in (1, 2, 3))
    assert answered[tom].approved_by == "olga" and "399" in answered[tom].text
    assert amy not in answered
    assert (answered[lin].text, answered[lin].approved_by) == ("Very warm, Lin!", "piet")


@pytest.mark.parametrize(("action", "spoken"), [("speak", True), ("discard", False)])
def test_an_unanswered_reply_follows_the_timeout_policy(
    settings: Settings, demo_engine: Engine, tmp_path: Path, action: str, spoken: bool
) -> None:
    discarded: list[int] = []

    async def script(on_air: Running, clock: Clock) -> AsyncIterator[Comment]:
        controls = on_air.live.controls
        controls.set_approve_mode(True)
        yield comment(1, "Tom", "How much is the down jacket?", clock.now())
        await until(lambda: bool(controls.pending))
        await until(lambda: not controls.pending)
        discarded.append(controls.discarded)

    _, comments, replies = run(
        settings,
        demo_engine,
        tmp_path,
        script,
        approve_timeout_s=0.5,
        approve_timeout_action=action,
    )
    answers = [r for r in replies if r.comment_id == comments["c1"].id]
    if spoken:
        assert [r.approved_by for r in answers] == ["timeout"] and discarded == [0]
    else:
        assert answers == [] and discarded == [1]


def test_paused_host_keeps_queueing_and_answers_after_resume(
    settings: Settings, demo_engine: Engine, tmp_path: Path
) -> None:
    async def script(on_air: Running, clock: Clock) -> AsyncIterator[Comment]:
        controls = on_air.live.controls
        controls.pause()
        yield comment(1, "Tom", "How much is the down jacket?", clock.now())
        yield comment(2, "Amy", "Do you ship to Shanghai?", clock.now())
        await until(lambda: len(on_air.live.triage) == 2)
        controls.say("We will be right with you.", "olga")  # an operator still speaks
        await until(lambda: not controls.state()["lines_waiting"])
        await asyncio.sleep(1.0)
        held.append((len(on_air.live.records), len(on_air.live.triage)))
        controls.resume()

    held: list[tuple[int, int]] = []
    _, comments, replies = run(settings, demo_engine, tmp_path, script)
    assert held == [(0, 2)]  # nothing answered, nothing taken from the queue while paused
    answered = {r.comment_id for r in replies}
    assert {comments["c1"].id, comments["c2"].id} <= answered
    assert replies[0].intent == "takeover"  # the typed line went first, during the pause


def test_keyword_rule_answers_before_the_responder(
    settings: Settings, demo_engine: Engine, tmp_path: Path
) -> None:
    async def script(on_air: Running, clock: Clock) -> AsyncIterator[Comment]:
        controls = on_air.live.controls
        rule = ("refund", "Refunds are handled in the shop's after-sales page.")
        controls.set_rules([rule], "m")
        yield comment(1, "Tom", "how do I get a REFUND for the jacket?", clock.now())

    _, comments, replies = run(settings, demo_engine, tmp_path, script)
    (reply,) = [r for r in replies if r.comment_id == comments["c1"].id]
    assert reply.text == "Refunds are handled in the shop's after-sales page."
    assert reply.backend == "keyword"


def test_bad_control_requests_are_refused_with_a_reason() -> None:
    controls = Controls()
    with pytest.raises(ControlError, match="empty"):
        controls.say("   ", "olga")
    with pytest.raises(ControlError, match="at most"):
        controls.say("x" * 501, "olga")
    with pytest.raises(KeyError):
        controls.decide(7, "approve", "olga")


def test_skip_cuts_the_line_on_air_and_drops_the_rest_of_its_turn(
    settings: Settings, demo_engine: Engine, tmp_path: Path
) -> None:
    """The operator's Skip: the line on air ends at the next pause, the reply's later
    sentences never start, and the audit marks the reply cut."""

    async def script(on_air: Running, clock: Clock) -> AsyncIterator[Comment]:
        live = on_air.live
        yield comment(1, "Amy", "空气炸锅多少钱，有赠品吗", clock.now())
        await until(lambda: live.speaking)
        assert live.skip()
        await until(lambda: not live.speaking)

    result, comments, replies = run(settings, demo_engine, tmp_path, script)
    answer = next(r for r in replies if r.comment_id == comments["c1"].id)
    assert answer.stamps.get("cut") == 1.0
    assert result.cuts == 0  # an operator's skip is not a comment cutting in
    whole = "哈喽Amy～ 空气炸锅到手价349元，原价499元哦。 另外送烘焙纸一包哦。"
    assert len(result.records[0].reply) < len(whole)
