"""Every platform source under `host run`: a local server that speaks the platform's protocol
sends a question, and the stream answers it out loud (a spoken reply in the database).

Each double runs in the test's event loop; `host run` is a real process reaching it on
127.0.0.1 through the settings a stream file and the environment give it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection

from host.db import models as db
from tests.host_run import HostRun
from tests.platform_doubles import douyin, twitch
from tests.platform_doubles import youtube as yt
from tests.platform_doubles.bilibili import DanmakuServer, command, danmaku_server, danmu
from tests.platform_doubles.twitch import Helix, WebSocketDouble
from tests.platform_doubles.youtube import LiveChatApi

pytestmark = pytest.mark.slow

QUESTION = "How much is the down jacket?"
SECONDS = 25


def stream_file(kind: str, **source: Any) -> dict[str, Any]:
    return {
        "name": f"src-{kind}",
        "merchant": "demo",
        "sources": [{"kind": kind, **source}],
        "sinks": [{"kind": "mp4", "path": f"{kind}.mp4"}],
        "pitches": {"idle_s": 0},
    }


async def go_live(run: HostRun, during: Callable[[], Awaitable[None]] | None = None) -> None:
    await asyncio.to_thread(run.start, "--duration", str(SECONDS))
    try:
        if during is not None:
            await during()
        code = await asyncio.to_thread(run.wait, 90)
        assert code == 0, run.output()
    finally:
        run.stop()


def answered(run: HostRun) -> list[tuple[str, str]]:
    """(comment text, reply text) of every answered comment of the run's one session."""
    (session,) = run.sessions()
    assert session.status == "ended", run.output()
    comments = {c.id: c for c in run.rows(db.CommentRecord, session.id)}
    return [
        (comments[r.comment_id].text, r.text)
        for r in run.rows(db.ReplyRecord, session.id)
        if r.comment_id in comments
    ]


def assert_the_question_was_answered(run: HostRun, platform: str) -> None:
    replies = answered(run)
    assert [q for q, _ in replies] == [QUESTION], (replies, run.output())
    assert "399" in replies[0][1]
    (session,) = run.sessions()
    (comment,) = run.rows(db.CommentRecord, session.id)
    assert comment.platform == platform


def test_replay_source_is_answered(tmp_path: Path) -> None:
    path = tmp_path / "room.jsonl"
    path.write_text(json.dumps({"t": 1.0, "user": "Tom", "text": QUESTION, "id": "r1"}) + "\n")
    run = HostRun(tmp_path, stream_file("replay", path=str(path)))
    asyncio.run(go_live(run))
    assert_the_question_was_answered(run, "replay")


def test_websocket_ingress_source_is_answered(tmp_path: Path) -> None:
    run = HostRun(tmp_path, stream_file("websocket", token_env="BRIDGE_TOKEN"), {
        "BRIDGE_TOKEN": "bridge-secret"})  # fmt: skip

    async def bridge() -> None:
        await asyncio.to_thread(run.on_air)
        async with connect(
            f"ws://127.0.0.1:{run.port}/ws/ingress/src-websocket",
            additional_headers={"Authorization": "Bearer bridge-secret"},
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.send(json.dumps({"type": "comment", "id": "w1", "user": "Tom",
                                      "text": QUESTION, "platform": "kuaishou"}))  # fmt: skip
            assert json.loads(await ws.recv())["status"] == "accepted"

    asyncio.run(go_live(run, bridge))
    assert_the_question_was_answered(run, "kuaishou")


def test_douyin_webhook_source_is_answered(tmp_path: Path) -> None:
    run = HostRun(tmp_path, stream_file("douyin", webhook_secret_env="DY_SECRET"), {
        "DY_SECRET": "dy-secret"})  # fmt: skip

    async def platform() -> None:
        await asyncio.to_thread(run.on_air)
        async with httpx.AsyncClient() as http:
            response = await douyin.push(
                http,
                run.url("/webhooks/douyin"),
                "live_comment",
                [douyin.comment("dy1", "openid-1", "抖音用户", QUESTION)],
                secret="dy-secret",
            )
        assert response.status_code == 200, response.text

    asyncio.run(go_live(run, platform))
    assert_the_question_was_answered(run, "douyin")


def test_bilibili_source_is_answered(tmp_path: Path) -> None:
    async def scenario() -> HostRun:
        server = DanmakuServer(scripts=[[command(danmu(QUESTION, 11, "Lily", "ct1"))]])
        async with danmaku_server(server):
            run = HostRun(
                tmp_path,
                stream_file("bilibili", room_id=7, token_env="BILI_TOKEN"),
                {"BILI_TOKEN": "tok", "BILIBILI_WS_URL": server.url},
            )
            await go_live(run)
        assert server.connections >= 1 and b'"key": "tok"' in server.auths[0]
        return run

    assert_the_question_was_answered(asyncio.run(scenario()), "bilibili")


def test_twitch_eventsub_source_is_answered(tmp_path: Path) -> None:
    helix = Helix()

    async def room(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome())
        while not helix.requests:
            await asyncio.sleep(0.05)
        await ws.send(twitch.chat_message("m1", QUESTION, meta_id="n1"))
        await ws.wait_closed()

    async def scenario() -> HostRun:
        async with WebSocketDouble([room]) as double:
            run = HostRun(
                tmp_path,
                stream_file("twitch", client_id="cid", broadcaster_id="1971641",
                            user_id="2914196", user_token_env="TW_TOKEN"),
                {"TW_TOKEN": "tw-token", "TWITCH_EVENTSUB_URL": f"{double.url}/ws",
                 "TWITCH_HELIX_URL": helix.url},
            )  # fmt: skip
            await go_live(run)
        return run

    with helix:
        run = asyncio.run(scenario())
    assert helix.requests[0][0]["Authorization"] == "Bearer tw-token"
    assert_the_question_was_answered(run, "twitch")


def test_twitch_irc_source_is_answered(tmp_path: Path) -> None:
    async def room(ws: ServerConnection) -> None:
        for _ in range(4):  # CAP, PASS, NICK, JOIN
            await ws.recv()
        await ws.send(":tmi.twitch.tv 001 justinfan12345 :Welcome, GLHF!")
        await ws.send(twitch.privmsg("c1", QUESTION))
        await ws.wait_closed()

    async def scenario() -> HostRun:
        async with WebSocketDouble([room]) as double:
            run = HostRun(
                tmp_path,
                stream_file("twitch-irc", channel="streamer"),
                {"TWITCH_IRC_URL": double.url},
            )
            await go_live(run)
        return run

    assert_the_question_was_answered(asyncio.run(scenario()), "twitch")


def test_youtube_source_is_answered(tmp_path: Path) -> None:
    def later(seconds: float) -> Any:
        return yt.page([], "wait", int(seconds * 1000))

    script = [
        later(3),  # the first page: nothing new since the source started
        yt.page([yt.text_message("y1", "Lily", QUESTION)], "page-3", 60_000),
    ]
    with LiveChatApi(script) as api:
        run = HostRun(
            tmp_path,
            stream_file("youtube", api_key_env="YT_KEY", live_chat_id=yt.CHAT_ID),
            {"YT_KEY": "AIzaSy-test-key", "YOUTUBE_API_URL": api.url},
        )
        started = time.monotonic()
        asyncio.run(go_live(run))
        assert time.monotonic() - started < SECONDS + 60
        (_, first), *_ = api.requests
    assert first["header:key"] == "AIzaSy-test-key"
    assert_the_question_was_answered(run, "youtube")
