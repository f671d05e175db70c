"""The Bilibili source against local doubles of the danmaku websocket and the open-platform API."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import tomllib
import zlib
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import pytest
from packaging.requirements import Requirement
from pydantic import SecretStr

from host.chat.events import Comment
from host.chat.sources import Backoff, bilibili_frames
from host.chat.sources.bilibili import BilibiliSource, OpenPlatformApp
from host.chat.sources.bilibili_frames import (
    OP_COMMAND,
    VERSION_BROTLI,
    VERSION_ZLIB,
    FrameError,
    pack,
    unpack,
)
from host.config import REPO_ROOT
from host.stream.clock import WallClock
from tests.platform_doubles import take
from tests.platform_doubles.bilibili import (
    DanmakuServer,
    OpenPlatform,
    batch,
    command,
    danmaku_server,
    danmu,
    gift,
    interact,
    like,
    superchat,
)
from tests.platform_doubles.uvicorn_server import serving

pytestmark = pytest.mark.timeout(30)


def in_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async scenario in a fresh event loop (the project uses no asyncio plugin)."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(asyncio.wait_for(test(), 30))

    return run


async def first(source: BilibiliSource) -> Comment:
    return await anext(aiter(source))


def test_nested_batches_unpack_in_order() -> None:
    inner = command(danmu("a", 1, "A", "c1")) + command(danmu("b", 2, "B", "c2"))
    frame = batch(inner, VERSION_ZLIB) + batch(command(danmu("c", 3, "C", "c3")), VERSION_BROTLI)
    texts = [json.loads(p.body)["info"][1] for p in unpack(frame)]
    assert texts == ["a", "b", "c"]


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x00\x00\x10\x00\x10",  # shorter than a header
        pack(OP_COMMAND, b"{}")[:-1],  # packet length longer than the frame
        b"\x00\x00\x00\x12\x00\x0c" + b"\x00" * 12,  # header length 12
        pack(OP_COMMAND, b"not zlib at all", version=VERSION_ZLIB),
        pack(OP_COMMAND, zlib.compress(b"x" * 100)[:-5], version=VERSION_ZLIB),  # truncated
        pack(OP_COMMAND, b"\xff\xfe\xfd", version=VERSION_BROTLI),
    ],
)
def test_malformed_frames_raise_frame_error(frame: bytes) -> None:
    with pytest.raises(FrameError):
        list(unpack(frame))


def test_a_decompression_bomb_is_refused() -> None:
    bomb = pack(OP_COMMAND, zlib.compress(b"\x00" * (8 * 1024 * 1024)), version=VERSION_ZLIB)
    with pytest.raises(FrameError, match="inflates past"):
        list(unpack(bomb))


@in_loop
async def test_web_room_reads_every_command_kind_from_plain_zlib_and_brotli_frames() -> None:
    script = [
        command(danmu("这个多少钱", 11, "Lily", "ct1")),
        batch(
            command(gift("小心心", 3, 5000, 12, "Wang", "tid-9"))
            + command({"cmd": "ONLINE_RANK_COUNT", "data": {"count": 5}})  # ignored
            + command(superchat(77, "能便宜点吗", 30, 13, "Zhao")),
            VERSION_ZLIB,
        ),
        batch(command(interact(14, "Li", 2)) + command(like(15, "Chen")), VERSION_BROTLI),
    ]
    server = DanmakuServer(
        scripts=[script],
        expected_auth={"uid": 42, "roomid": 7, "protover": 3, "platform": "web", "type": 2,
                       "key": "tok"},
    )  # fmt: skip
    async with danmaku_server(server):
        source = BilibiliSource(
            clock=WallClock(), room_id="7", uid=42, token=SecretStr("tok"), ws_url=server.url
        )
        comments = await take(source, 5, close=True)
    assert [(c.kind, c.user_name, c.text) for c in comments] == [
        ("chat", "Lily", "这个多少钱"),
        ("gift", "Wang", "小心心 x3"),
        ("superchat", "Zhao", "能便宜点吗"),
        ("follow", "Li", ""),
        ("like", "Chen", "为主播点赞了"),
    ]
    assert comments[0].message_id == "dm:ct1:1700000000"
    assert comments[0].user_id == "11" and comments[0].platform == "bilibili"
    assert (comments[1].amount, comments[1].currency) == (Decimal(15), "CNY")  # 3 x 5000 gold
    assert (comments[2].amount, comments[2].currency) == (Decimal(30), "CNY")
    assert source.health.received == 5


@in_loop
async def test_waiting_between_heartbeats_leaves_the_loop_idle() -> None:
    """Connected without the open platform, the heartbeat task sleeps until its next beat:
    it once slept 0 s in a loop, which kept the event loop (and a stream's frames) busy."""
    server = DanmakuServer(scripts=[[]])
    async with danmaku_server(server):
        source = BilibiliSource(clock=WallClock(), room_id="7", ws_url=server.url, heartbeat_s=30)
        reader = asyncio.create_task(first(source))
        await asyncio.sleep(0.3)  # connected and authenticated
        cpu = time.process_time()
        await asyncio.sleep(1.0)
        cpu = time.process_time() - cpu
        reader.cancel()
    assert source.health.state == "connected" and server.heartbeats == 1
    assert cpu < 0.5, f"{cpu:.2f} s of CPU in 1 s of waiting: the heartbeat task spins"


@in_loop
async def test_heartbeats_are_sent_and_answered() -> None:
    server = DanmakuServer(scripts=[[]])
    async with danmaku_server(server):
        source = BilibiliSource(clock=WallClock(), room_id="7", ws_url=server.url, heartbeat_s=0.05)
        reader = asyncio.create_task(first(source))
        await asyncio.sleep(0.4)
        reader.cancel()
    assert server.heartbeats >= 3
    assert source.health.state == "connected"
    assert source.health.last_message_at is not None  # the op 3 replies


@in_loop
async def test_malformed_frames_are_skipped_and_counted_and_resends_deduped() -> None:
    script = [
        b"\x00\x00\x00\x05garbage",
        pack(OP_COMMAND, b"not zlib", version=VERSION_ZLIB),
        command({"cmd": "DANMU_MSG", "info": [[], "no user"]}),
        pack(OP_COMMAND, b"{not json", version=0),
        command(danmu("first", 1, "A", "c1")),
        command(danmu("first", 1, "A", "c1")),  # resent
        command(danmu("second", 2, "B", "c2")),
    ]
    server = DanmakuServer(scripts=[script])
    async with danmaku_server(server):
        source = BilibiliSource(clock=WallClock(), room_id="7", ws_url=server.url)
        comments = await take(source, 2, close=True)
    assert [c.text for c in comments] == ["first", "second"]
    assert source.health.malformed == 4
    assert source.health.duplicates == 1


class Brotli11Decompressor:
    """brotli 1.1's decoder: `process` takes no `output_buffer_limit` (added in 1.2)."""

    def process(self, data: bytes) -> bytes:
        return b""

    def is_finished(self) -> bool:
        return False


def test_an_unexpected_decoder_error_skips_the_frame_and_the_source_reads_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bilibili_frames.brotli, "Decompressor", Brotli11Decompressor)
    script = [
        batch(command(danmu("lost in brotli", 1, "A", "c1")), VERSION_BROTLI),
        command(danmu("read after it", 2, "B", "c2")),
    ]
    server = DanmakuServer(scripts=[script])

    async def scenario() -> list[Comment]:
        async with danmaku_server(server):
            source = BilibiliSource(clock=WallClock(), room_id="7", ws_url=server.url)
            comments = await take(source, 1, close=True)
        assert source.health.malformed == 1 and source.health.state == "connected"
        assert "TypeError" in (source.health.last_error or "")
        return comments

    comments = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert [c.text for c in comments] == ["read after it"]
    assert server.connections == 1  # read on: neither ended nor reconnected


def test_the_declared_brotli_floor_has_the_decoder_limit_the_frames_use() -> None:
    """`Decompressor.process(..., output_buffer_limit=...)` exists from brotli 1.2."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    (declared,) = [
        Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("brotli")
    ]
    assert not declared.specifier.contains("1.1.0") and declared.specifier.contains("1.2.0")


@in_loop
async def test_dropped_connection_reconnects_with_backoff_and_skips_resends() -> None:
    first = [command(danmu("one", 1, "A", "c1"))]
    second = [command(danmu("one", 1, "A", "c1")), command(danmu("two", 2, "B", "c2"))]
    server = DanmakuServer(scripts=[first, second], close_after=True)
    async with danmaku_server(server):
        source = BilibiliSource(
            clock=WallClock(), room_id="7", ws_url=server.url, backoff=Backoff(0.01, 0.05)
        )
        comments = await take(source, 2, close=True)
    assert [c.text for c in comments] == ["one", "two"]
    assert server.connections == 2
    assert source.health.reconnects == 1 and source.health.duplicates == 1


@in_loop
async def test_refused_auth_is_retried_and_reported() -> None:
    server = DanmakuServer(scripts=[[]], expected_auth={"never": "matches"})
    async with danmaku_server(server):
        source = BilibiliSource(
            clock=WallClock(), room_id="7", ws_url=server.url, backoff=Backoff(0.01, 0.02)
        )
        reader = asyncio.create_task(first(source))
        await asyncio.sleep(0.3)
        reader.cancel()
    assert server.connections >= 2
    assert source.health.state == "reconnecting"
    assert "auth refused" in (source.health.last_error or "")


@in_loop
async def test_open_platform_signs_starts_heartbeats_and_ends() -> None:
    server = DanmakuServer(scripts=[[]])
    async with danmaku_server(server):
        platform = OpenPlatform("key-id", "s3cret", wss_link=server.url)
        server.expected_auth = platform.auth_body.encode()
        open_dm = {
            "cmd": "LIVE_OPEN_PLATFORM_DM",
            "data": {"uname": "Lily", "open_id": "o-1", "uid": 0, "msg": "有货吗", "msg_id": "m-1",
                     "timestamp": 1_700_000_000, "room_id": 7},
        }  # fmt: skip
        open_gift = {
            "cmd": "LIVE_OPEN_PLATFORM_SEND_GIFT",
            "data": {"uname": "Wang", "open_id": "o-2", "gift_name": "辣条", "gift_num": 2,
                     "price": 100, "paid": True, "msg_id": "m-2", "timestamp": 1_700_000_000},
        }  # fmt: skip
        server.scripts = [[batch(command(open_dm) + command(open_gift), VERSION_BROTLI)]]
        async with serving(platform.app()) as port:
            app = OpenPlatformApp(
                app_id=99, access_key_id="key-id", access_key_secret=SecretStr("s3cret"),
                code=SecretStr("ANCHOR-CODE"), api_url=f"http://127.0.0.1:{port}",
                heartbeat_s=0.05,
            )  # fmt: skip
            source = BilibiliSource(clock=WallClock(), app=app)
            stream = aiter(source)
            first = await asyncio.wait_for(anext(stream), 10)
            second = await asyncio.wait_for(anext(stream), 10)
            await asyncio.sleep(0.3)
            await stream.aclose()  # type: ignore[attr-defined]
    assert (first.text, first.user_id, first.message_id, first.room) == (
        "有货吗",
        "o-1",
        "m-1",
        "7",
    )
    assert (second.kind, second.amount, second.text) == ("gift", Decimal("0.2"), "辣条 x2")
    actions = [action for action, _ in platform.calls]
    assert actions[0] == "start" and actions[-1] == "end"
    assert actions.count("heartbeat") >= 2
    assert platform.calls[0][1] == {"code": "ANCHOR-CODE", "app_id": 99}
    assert platform.calls[-1][1] == {"app_id": 99, "game_id": "g-1"}
    assert platform.refused == 0


@in_loop
async def test_open_platform_with_a_wrong_secret_never_connects() -> None:
    server = DanmakuServer(scripts=[[]])
    async with danmaku_server(server):
        platform = OpenPlatform("key-id", "s3cret", wss_link=server.url)
        async with serving(platform.app()) as port:
            app = OpenPlatformApp(
                app_id=99, access_key_id="key-id", access_key_secret=SecretStr("wrong"),
                code=SecretStr("C"), api_url=f"http://127.0.0.1:{port}",
            )  # fmt: skip
            source = BilibiliSource(clock=WallClock(), app=app, backoff=Backoff(0.01, 0.02))
            reader = asyncio.create_task(first(source))
            await asyncio.sleep(0.3)
            reader.cancel()
    assert platform.refused >= 2 and not platform.calls
    assert server.connections == 0
    assert "401" in (source.health.last_error or "")
    assert "wrong" not in (source.health.last_error or "")
