"""Bilibili live chat: the danmaku websocket of a web room or of an open-platform app.

Both speak the framing of `bilibili_frames`: the client opens the websocket, sends auth
(op 7: `{uid, roomid, protover: 3, key}` for a web room, or the open platform's
`auth_body` verbatim), the server answers op 8 `{"code": 0}`; the client then sends a
heartbeat (op 2) every 30 s and gets the popularity back (op 3), and commands arrive as op 5
JSON, usually batched in brotli (protover 3) or zlib (2) packets.

The open platform (an app the streamer authorises with their 身份码) first calls
`POST /v2/app/start` to get the websocket link and auth body, must `POST /v2/app/heartbeat`
every 20 s or the game session expires, and calls `POST /v2/app/end` when done. Those calls
are signed: `Authorization` is the hex HMAC-SHA256, keyed by the access key secret, of the
`x-bili-*` headers sorted by name and written `name:value`, one per line.

A dropped connection reconnects with backoff; a frame that cannot be read is skipped and
counted in `health.malformed`; a command seen before (a resend after reconnect) is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from host.chat.events import Comment, CommentKind
from host.chat.sources import Backoff, Deduper, Health
from host.chat.sources.bilibili_frames import (
    OP_AUTH,
    OP_AUTH_REPLY,
    OP_COMMAND,
    OP_HEARTBEAT,
    OP_HEARTBEAT_REPLY,
    FrameError,
    pack,
    unpack,
)
from host.stream.clock import Clock

log = logging.getLogger(__name__)

WEB_WS_URL = "wss://broadcastlv.chat.bilibili.com/sub"
OPEN_API_URL = "https://live-open.biliapi.com"
AUTH_TIMEOUT_S = 10.0
MAX_FRAME_BYTES = 1024 * 1024
# INTERACT_WORD msg_type: 1 entered, 2 followed, 3 shared, 4 special follow, 5 mutual follow.
INTERACT_KINDS: dict[int, CommentKind] = {1: "enter", 2: "follow", 4: "follow", 5: "follow"}


class Reconnect(Exception):
    """The connection is gone or was refused; open a new one after a backoff."""


@dataclass(frozen=True)
class OpenPlatformApp:
    """The credentials of an open-platform app and the streamer's 身份码 that authorises it."""

    app_id: int
    access_key_id: str
    access_key_secret: SecretStr
    code: SecretStr
    api_url: str = OPEN_API_URL
    heartbeat_s: float = 20.0


@dataclass(frozen=True)
class _Game:
    game_id: str
    wss_links: tuple[str, ...]
    auth_body: bytes
    room_id: str


def signed_headers(
    body: bytes, access_key_id: str, secret: SecretStr, now: float | None = None
) -> dict[str, str]:
    """The headers of one open-platform request, `Authorization` included."""
    bili = {
        "x-bili-accesskeyid": access_key_id,
        "x-bili-content-md5": hashlib.md5(body).hexdigest(),
        "x-bili-signature-method": "HMAC-SHA256",
        "x-bili-signature-nonce": secrets.token_hex(16),
        "x-bili-signature-version": "1.0",
        "x-bili-timestamp": str(int(time.time() if now is None else now)),
    }
    return {
        **bili,
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Authorization": signature(bili, secret.get_secret_value()),
    }


def signature(headers: Mapping[str, str], secret: str) -> str:
    """HMAC-SHA256 over the `x-bili-*` headers, sorted, one `name:value` per line."""
    lines = sorted(
        f"{k.lower()}:{v}" for k, v in headers.items() if k.lower().startswith("x-bili-")
    )
    return hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()


class BilibiliSource:
    """Comments, gifts, superchats, follows and likes of one Bilibili live room."""

    name = "bilibili"

    def __init__(
        self,
        *,
        clock: Clock,
        room_id: str = "",
        uid: int = 0,
        token: SecretStr | None = None,
        ws_url: str = WEB_WS_URL,
        app: OpenPlatformApp | None = None,
        heartbeat_s: float = 30.0,
        backoff: Backoff | None = None,
    ) -> None:
        if app is None and not room_id:
            raise ValueError("a web room needs room_id; the open platform needs app")
        self.clock = clock
        self.health = Health()
        self._room_id, self._uid, self._token, self._ws_url = room_id, uid, token, ws_url
        self._app = app
        self._heartbeat_s = heartbeat_s
        self._backoff = backoff or Backoff()
        self._dedupe = Deduper()

    def __aiter__(self) -> AsyncIterator[Comment]:
        return self._run()

    async def _run(self) -> AsyncIterator[Comment]:
        async with httpx.AsyncClient(timeout=10.0) as http:
            game: _Game | None = None
            try:
                while True:
                    try:
                        if self._app is not None and game is None:
                            game = await self._start(http, self._app)
                        url, auth, room = self._target(game)
                        async with connect(url, max_size=MAX_FRAME_BYTES) as ws:
                            await self._auth(ws, auth)
                            self.health.set("connected")
                            self._backoff.reset()
                            beats = asyncio.create_task(self._heartbeats(ws, http, game))
                            try:
                                async for message in ws:
                                    for comment in self._comments(message, room):
                                        yield comment
                            finally:
                                beats.cancel()
                        if beats.done() and not beats.cancelled() and beats.exception():
                            game = None  # the app session expired: start a new one
                        raise Reconnect("server closed the connection")
                    except InvalidURI as exc:
                        self.health.set("failed", str(exc))
                        return
                    except (Reconnect, ConnectionClosed, OSError, InvalidHandshake) as exc:
                        self._lost(f"{exc.__class__.__name__}: {exc}")
                    except httpx.HTTPError as exc:
                        self._lost(f"open platform: {exc.__class__.__name__}: {exc}")
                    await self._backoff.wait()
            finally:
                if self._app is not None and game is not None:
                    await self._end(http, self._app, game)

    def _target(self, game: _Game | None) -> tuple[str, bytes, str]:
        if game is not None:
            link = game.wss_links[self.health.reconnects % len(game.wss_links)]
            return link, game.auth_body, game.room_id
        auth: dict[str, Any] = {
            "uid": self._uid,
            "roomid": int(self._room_id) if self._room_id.isdigit() else self._room_id,
            "protover": 3,
            "platform": "web",
            "type": 2,
        }
        if self._token is not None:
            auth["key"] = self._token.get_secret_value()
        return self._ws_url, json.dumps(auth).encode(), self._room_id

    def _lost(self, reason: str) -> None:
        self.health.lost(reason)
        log.warning("bilibili: %s; reconnecting", reason)

    async def _auth(self, ws: ClientConnection, body: bytes) -> None:
        await ws.send(pack(OP_AUTH, body))
        try:
            reply = await asyncio.wait_for(ws.recv(), AUTH_TIMEOUT_S)
            packets = list(unpack(reply if isinstance(reply, bytes) else reply.encode()))
            answer = json.loads(packets[0].body) if packets[0].op == OP_AUTH_REPLY else None
        except TimeoutError as exc:
            raise Reconnect(f"no auth reply within {AUTH_TIMEOUT_S:g} s") from exc
        except (FrameError, IndexError, ValueError) as exc:
            raise Reconnect(f"unreadable auth reply ({exc})") from exc
        if not isinstance(answer, dict) or answer.get("code") != 0:
            raise Reconnect(f"auth refused: {answer!r}")

    async def _heartbeats(
        self, ws: ClientConnection, http: httpx.AsyncClient, game: _Game | None
    ) -> None:
        """Op 2 on the socket every `heartbeat_s`, and the app heartbeat over HTTP when one runs.

        An app heartbeat the platform refuses means the game session is gone: the socket is
        closed so the listener starts a new session.
        """
        app = self._app if game is not None else None  # the app beat runs with a game only
        next_ws = 0.0
        next_app = 0.0 if app is not None else float("inf")  # never due: no sleep spins
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            elapsed = loop.time() - start
            if elapsed >= next_ws:
                await ws.send(pack(OP_HEARTBEAT, b"[object Object]"))
                next_ws += self._heartbeat_s
            if app is not None and game is not None and elapsed >= next_app:
                if next_app > 0.0:
                    try:
                        await self._call(http, app, "/v2/app/heartbeat", {"game_id": game.game_id})
                    except (httpx.HTTPError, Reconnect) as exc:
                        log.warning("bilibili open platform heartbeat failed: %s", exc)
                        await ws.close()
                        raise
                next_app += app.heartbeat_s
            await asyncio.sleep(max(0.0, min(next_ws, next_app) - (loop.time() - start)))

    def _comments(self, message: str | bytes, room: str) -> list[Comment]:
        data = message if isinstance(message, bytes) else message.encode()
        comments: list[Comment] = []
        try:
            for packet in unpack(data):
                if packet.op == OP_HEARTBEAT_REPLY and len(packet.body) >= 4:
                    self.health.last_message_at = self.clock.now()
                elif packet.op == OP_COMMAND:
                    comment = self._command(packet.body, room)
                    if comment is not None:
                        comments.append(comment)
        except FrameError as exc:
            self._malformed(str(exc))
        return comments

    def _command(self, body: bytes, room: str) -> Comment | None:
        try:
            command = json.loads(body)
            comment = to_comment(command, room, self.clock.now())
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            self._malformed(f"unreadable command ({exc.__class__.__name__}: {exc})")
            return None
        self.health.last_message_at = self.clock.now()
        if comment is None:
            return None
        if self._dedupe.seen(comment.message_id):
            self.health.duplicates += 1
            return None
        self.health.received += 1
        return comment

    def _malformed(self, reason: str) -> None:
        self.health.skipped(reason)
        log.debug("bilibili: skipped %s", reason)

    async def _start(self, http: httpx.AsyncClient, app: OpenPlatformApp) -> _Game:
        data = await self._call(
            http, app, "/v2/app/start", {"code": app.code.get_secret_value(), "app_id": app.app_id}
        )
        info = data["websocket_info"]
        links = tuple(str(link) for link in info["wss_link"])
        if not links:
            raise Reconnect("open platform gave no websocket link")
        return _Game(
            game_id=str(data["game_info"]["game_id"]),
            wss_links=links,
            auth_body=str(info["auth_body"]).encode(),
            room_id=str(data.get("anchor_info", {}).get("room_id", self._room_id)),
        )

    async def _end(self, http: httpx.AsyncClient, app: OpenPlatformApp, game: _Game) -> None:
        try:
            await self._call(
                http, app, "/v2/app/end", {"app_id": app.app_id, "game_id": game.game_id}
            )
        except (httpx.HTTPError, Reconnect) as exc:
            log.warning("bilibili open platform: end failed: %s", exc)

    @staticmethod
    async def _call(
        http: httpx.AsyncClient, app: OpenPlatformApp, path: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        headers = signed_headers(body, app.access_key_id, app.access_key_secret)
        response = await http.post(app.api_url.rstrip("/") + path, content=body, headers=headers)
        response.raise_for_status()
        try:
            answer = response.json()
        except ValueError as exc:
            raise Reconnect(f"{path}: answer is not JSON") from exc
        if not isinstance(answer, dict) or answer.get("code") != 0:
            code = answer.get("code") if isinstance(answer, dict) else None
            message = answer.get("message") if isinstance(answer, dict) else None
            raise Reconnect(f"{path} refused: code {code}, {message}")
        data = answer.get("data") or {}
        return data if isinstance(data, dict) else {}


def to_comment(command: Any, room: str, now: float) -> Comment | None:
    """One op 5 command as a Comment; None for the many commands a host does not answer.

    Raises KeyError/TypeError/IndexError/ValueError on a command whose fields are not where
    the platform documents them (the caller counts it as malformed).
    """
    cmd = str(command["cmd"]).split(":", 1)[0]  # "DANMU_MSG:4:0:2:2:2:0" is DANMU_MSG
    build = COMMANDS.get(cmd)
    return None if build is None else build(command, room, now)


def _danmu(command: Any, room: str, now: float) -> Comment:
    info = command["info"]
    text, user = info[1], info[2]
    meta = info[9] if len(info) > 9 and isinstance(info[9], dict) else {}
    uid = str(user[0])
    if "ct" in meta:
        message_id = f"dm:{meta['ct']}:{meta.get('ts', '')}"
    else:
        message_id = f"dm:{uid}:{info[0][4]}:{text}"
    return _comment(room, message_id, uid, str(user[1]), str(text), "chat", now, command)


def _gift(command: Any, room: str, now: float) -> Comment:
    data = command["data"]
    num = int(data["num"])
    paid = data.get("coin_type") == "gold"  # 1000 gold = 1 CNY; silver gifts are free
    amount = _money(data["price"]) * num / 1000 if paid else None
    tid = data.get("tid") or f"{data['uid']}:{data.get('timestamp')}:{data['giftName']}:{num}"
    text = f"{data['giftName']} x{num}"
    return _comment(
        room, f"gift:{tid}", str(data["uid"]), str(data["uname"]), text, "gift", now, command,
        amount=amount, currency="CNY" if paid else None,
    )  # fmt: skip


def _superchat(command: Any, room: str, now: float) -> Comment:
    data = command["data"]
    return _comment(
        room, f"sc:{data['id']}", str(data["uid"]), str(data["user_info"]["uname"]),
        str(data["message"]), "superchat", now, command,
        amount=_money(data["price"]), currency="CNY",
    )  # fmt: skip


def _interact(command: Any, room: str, now: float) -> Comment | None:
    data = command["data"]
    kind = INTERACT_KINDS.get(int(data["msg_type"]))
    if kind is None:
        return None
    message_id = f"interact:{data['uid']}:{data['msg_type']}:{data.get('timestamp', '')}"
    return _comment(room, message_id, str(data["uid"]), str(data["uname"]), "", kind, now, command)


def _like(command: Any, room: str, now: float) -> Comment:
    data = command["data"]
    message_id = f"like:{data['uid']}:{int(time.time())}"  # clicks carry no id: one a second
    text = str(data.get("like_text", ""))
    return _comment(
        room, message_id, str(data["uid"]), str(data["uname"]), text, "like", now, command
    )


def _open_dm(command: Any, room: str, now: float) -> Comment:
    data = command["data"]
    return _comment(
        room, str(data["msg_id"]), _open_user(data), str(data["uname"]), str(data["msg"]),
        "chat", now, command,
    )  # fmt: skip


def _open_gift(command: Any, room: str, now: float) -> Comment:
    data = command["data"]
    num = int(data["gift_num"])
    paid = bool(data.get("paid"))
    return _comment(
        room, str(data["msg_id"]), _open_user(data), str(data["uname"]),
        f"{data['gift_name']} x{num}", "gift", now, command,
        amount=_money(data["price"]) * num / 1000 if paid else None,
        currency="CNY" if paid else None,
    )  # fmt: skip


def _open_superchat(command: Any, room: str, now: float) -> Comment:
    data = command["data"]
    return _comment(
        room, str(data["msg_id"]), _open_user(data), str(data["uname"]), str(data["message"]),
        "superchat", now, command, amount=_money(data["rmb"]), currency="CNY",
    )  # fmt: skip


def _open_like(command: Any, room: str, now: float) -> Comment:
    data = command["data"]
    return _comment(
        room, str(data["msg_id"]), _open_user(data), str(data["uname"]), "", "like", now, command
    )


def _open_user(data: Mapping[str, Any]) -> str:
    return str(data.get("open_id") or data["uid"])


def _money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not an amount: {value!r}")
    return amount


def _comment(
    room: str,
    message_id: str,
    user_id: str,
    user_name: str,
    text: str,
    kind: CommentKind,
    now: float,
    raw: Mapping[str, Any],
    amount: Decimal | None = None,
    currency: str | None = None,
) -> Comment:
    return Comment(
        platform="bilibili", room=room, message_id=message_id, user_id=user_id,
        user_name=user_name, text=text, kind=kind, amount=amount, currency=currency, ts=now,
        raw=raw,
    )  # fmt: skip


COMMANDS: dict[str, Callable[[Any, str, float], Comment | None]] = {
    "DANMU_MSG": _danmu,
    "SEND_GIFT": _gift,
    "SUPER_CHAT_MESSAGE": _superchat,
    "INTERACT_WORD": _interact,
    "LIKE_INFO_V3_CLICK": _like,
    "LIVE_OPEN_PLATFORM_DM": _open_dm,
    "LIVE_OPEN_PLATFORM_SEND_GIFT": _open_gift,
    "LIVE_OPEN_PLATFORM_SUPER_CHAT": _open_superchat,
    "LIVE_OPEN_PLATFORM_LIKE": _open_like,
}
