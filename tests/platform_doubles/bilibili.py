"""Bilibili on 127.0.0.1: the danmaku websocket (byte-for-byte framing) and the open-platform API.

Command payloads follow the shapes the web player receives (DANMU_MSG's `info` array,
SEND_GIFT / SUPER_CHAT_MESSAGE / INTERACT_WORD / LIKE_INFO_V3_CLICK `data`) and the open
platform's documented LIVE_OPEN_PLATFORM_* messages, with only ids and texts made
parameters. The API double checks every request's HMAC-SHA256 signature and content MD5 and
answers 401 with code -1 when one is wrong, as the platform refuses unsigned calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import brotli
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from host.chat.sources.bilibili import signature
from host.chat.sources.bilibili_frames import (
    HEADER,
    OP_AUTH,
    OP_AUTH_REPLY,
    OP_COMMAND,
    OP_HEARTBEAT,
    OP_HEARTBEAT_REPLY,
    VERSION_INT,
    VERSION_JSON,
    VERSION_ZLIB,
    pack,
    unpack,
)


def command(payload: dict[str, Any]) -> bytes:
    """One op 5 packet with a JSON body (protocol version 0), as the server sends it unbatched."""
    return pack(OP_COMMAND, json.dumps(payload, ensure_ascii=False).encode(), VERSION_JSON, 0)


def batch(packets: bytes, version: int) -> bytes:
    """Whole packets compressed into one op 5 packet: zlib (version 2) or brotli (3)."""
    body = zlib.compress(packets) if version == VERSION_ZLIB else brotli.compress(packets)
    return pack(OP_COMMAND, body, version, 0)


def danmu(text: str, uid: int, uname: str, ct: str, ts: int = 1_700_000_000) -> dict[str, Any]:
    meta = [0, 1, 25, 16777215, ts * 1000, 0, 0, "", 0, 0, 0, "", 0, "{}", "{}", {}]
    return {
        "cmd": "DANMU_MSG",
        "info": [meta, text, [uid, uname, 0, 0, 0, 10000, 1, ""], [], [0, 0, 9868950, ">50000"],
                 ["", ""], 0, 0, None, {"ts": ts, "ct": ct}, 0, 0, None, None, 0, 7],
    }  # fmt: skip


def gift(name: str, num: int, price: int, uid: int, uname: str, tid: str) -> dict[str, Any]:
    return {
        "cmd": "SEND_GIFT",
        "data": {"giftName": name, "num": num, "price": price, "coin_type": "gold",
                 "uname": uname, "uid": uid, "tid": tid, "timestamp": 1_700_000_000,
                 "action": "投喂", "giftId": 31036},
    }  # fmt: skip


def superchat(sc_id: int, message: str, price: int, uid: int, uname: str) -> dict[str, Any]:
    return {
        "cmd": "SUPER_CHAT_MESSAGE",
        "data": {"id": sc_id, "uid": uid, "price": price, "message": message,
                 "user_info": {"uname": uname, "face": ""}, "start_time": 1_700_000_000},
    }  # fmt: skip


def interact(uid: int, uname: str, msg_type: int) -> dict[str, Any]:
    return {
        "cmd": "INTERACT_WORD",
        "data": {"uid": uid, "uname": uname, "msg_type": msg_type, "timestamp": 1_700_000_000},
    }


def like(uid: int, uname: str) -> dict[str, Any]:
    return {
        "cmd": "LIKE_INFO_V3_CLICK",
        "data": {"uid": uid, "uname": uname, "like_text": "为主播点赞了"},
    }


@dataclass
class DanmakuServer:
    """A danmaku websocket: checks auth, answers heartbeats, plays one script per connection.

    `scripts[n]` is the list of binary frames sent on the n-th connection after auth; the
    connection is then closed when `close_after` says so (a dropped connection), else kept.
    """

    scripts: list[list[bytes]]
    expected_auth: dict[str, Any] | bytes | None = None
    close_after: bool = False
    auths: list[bytes] = field(default_factory=list)
    heartbeats: int = 0
    connections: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/sub"

    async def _handle(self, ws: ServerConnection) -> None:
        n = self.connections
        self.connections += 1
        first = await ws.recv()
        assert isinstance(first, bytes)
        length, header_len, version, op, _ = HEADER.unpack_from(first)
        assert (length, header_len, version, op) == (len(first), 16, VERSION_INT, OP_AUTH)
        body = first[16:]
        self.auths.append(body)
        wanted = self.expected_auth
        ok = wanted is None or (
            body == wanted if isinstance(wanted, bytes) else json.loads(body) == wanted
        )
        await ws.send(pack(OP_AUTH_REPLY, json.dumps({"code": 0 if ok else -101}).encode()))
        if not ok:
            await ws.close()
            return
        reader = asyncio.create_task(self._answer_heartbeats(ws))
        try:
            for frame in self.scripts[min(n, len(self.scripts) - 1)]:
                await ws.send(frame)
            if self.close_after and n < len(self.scripts) - 1:
                await ws.close()
                return
            await reader
        finally:
            reader.cancel()

    async def _answer_heartbeats(self, ws: ServerConnection) -> None:
        try:
            async for message in ws:
                assert isinstance(message, bytes)
                if next(iter(unpack(message))).op == OP_HEARTBEAT:
                    self.heartbeats += 1
                    await ws.send(pack(OP_HEARTBEAT_REPLY, struct.pack(">I", 1234)))
        except ConnectionClosed:
            pass


@asynccontextmanager
async def danmaku_server(server: DanmakuServer) -> AsyncIterator[DanmakuServer]:
    async with serve(server._handle, "127.0.0.1", 0) as ws_server:
        server.port = next(iter(ws_server.sockets)).getsockname()[1]
        yield server


@dataclass
class OpenPlatform:
    """The open-platform HTTP API: /v2/app/start, /heartbeat and /end, each signature-checked."""

    access_key_id: str
    secret: str
    wss_link: str
    auth_body: str = '{"roomid":7,"protoover":2,"key":"k-from-start"}'
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v2/app/{action}")
        async def action(action: str, request: Request) -> JSONResponse:
            body = await request.body()
            headers = {k: v for k, v in request.headers.items() if k.startswith("x-bili-")}
            good = (
                headers.get("x-bili-accesskeyid") == self.access_key_id
                and headers.get("x-bili-content-md5") == hashlib.md5(body).hexdigest()
                and headers.get("x-bili-signature-method") == "HMAC-SHA256"
                and headers.get("x-bili-signature-version") == "1.0"
                and len(headers.get("x-bili-signature-nonce", "")) >= 8
                and headers.get("x-bili-timestamp", "").isdigit()
                and request.headers.get("authorization") == signature(headers, self.secret)
            )
            if not good:
                self.refused += 1
                return JSONResponse({"code": -1, "message": "signature invalid"}, status_code=401)
            payload = json.loads(body)
            self.calls.append((action, payload))
            if action == "start":
                return JSONResponse({"code": 0, "message": "0", "data": {
                    "game_info": {"game_id": "g-1"},
                    "websocket_info": {"auth_body": self.auth_body, "wss_link": [self.wss_link]},
                    "anchor_info": {"room_id": 7, "uname": "host", "uid": 1},
                }})  # fmt: skip
            return JSONResponse({"code": 0, "message": "0", "data": {}})

        return app
