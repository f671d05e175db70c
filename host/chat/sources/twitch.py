"""Twitch chat: EventSub over WebSocket (with a user token) and anonymous IRC over WebSocket.

EventSub is the supported way to read chat as a bot: connect, take the session id from
`session_welcome`, subscribe `channel.chat.message` through Helix for that session, then
read `notification`s. Twitch sends `session_keepalive` when it has nothing else; silence
longer than the keepalive timeout means the connection is dead. `session_reconnect` names
a new URL: the subscriptions move there, and Twitch keeps delivering on the old socket until
the new one says welcome; the old socket is read until then and drained before it closes, so
no message falls between them.

IRC (`justinfan…`, no token) reads any public channel read-only: the fallback when the
merchant has not authorised an app.

Both skip (and count) frames they cannot read; a platform hiccup never ends a stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Data

from host.chat.events import Comment
from host.chat.sources import Backoff, Deduper, Health
from host.stream.clock import Clock

log = logging.getLogger(__name__)

WELCOME_TIMEOUT_S = 10.0  # Twitch drops a session with no subscription after 10 s
IRC_IDLE_TIMEOUT_S = 360.0  # Twitch IRC pings about every 5 minutes
ANONYMOUS_NICK = "justinfan12345"


class Reconnect(Exception):
    """The connection is gone or useless; open a new one after a backoff."""


class Revoked(Exception):
    """Twitch revoked the subscription (token revoked, user removed): nothing more will come."""


def _keepalive_deadline(keepalive_s: float) -> float:
    return keepalive_s + 0.5 + 0.2 * keepalive_s


class TwitchEventSubSource:
    """`channel.chat.message` notifications of one channel, as Comments."""

    name = "twitch-eventsub"

    def __init__(
        self,
        *,
        clock: Clock,
        client_id: str,
        token: SecretStr,
        broadcaster_id: str,
        user_id: str,
        eventsub_url: str = "wss://eventsub.wss.twitch.tv/ws",
        helix_url: str = "https://api.twitch.tv/helix",
        keepalive_s: int = 30,
        backoff: Backoff | None = None,
    ) -> None:
        self.clock = clock
        self.health = Health()
        self._client_id, self._token = client_id, token
        self._broadcaster_id, self._user_id = broadcaster_id, user_id
        self._url = f"{eventsub_url}?keepalive_timeout_seconds={keepalive_s}"
        self._helix = helix_url.rstrip("/")
        self._backoff = backoff or Backoff()
        self._dedupe = Deduper()
        self._session_id = ""

    def __aiter__(self) -> AsyncIterator[Comment]:
        return self._run()

    async def _run(self) -> AsyncIterator[Comment]:
        async with httpx.AsyncClient(timeout=10.0) as http:
            while True:
                try:
                    async with aclosing(self._session(http)) as messages:
                        async for message in messages:
                            kind = message["metadata"]["message_type"]
                            if kind == "notification":
                                comment = self._comment(message)
                                if comment is not None:
                                    yield comment
                            elif kind == "revocation":
                                status = message["payload"]["subscription"]["status"]
                                raise Revoked(f"subscription revoked: {status}")
                except Revoked as exc:
                    self.health.set("failed", str(exc))
                    log.error("twitch eventsub: %s", exc)
                    return
                except (Reconnect, ConnectionClosed, OSError, InvalidHandshake) as exc:
                    self._lost(f"{exc.__class__.__name__}: {exc}")
                except InvalidURI as exc:
                    self.health.set("failed", str(exc))
                    return
                await self._backoff.wait()

    async def _session(self, http: httpx.AsyncClient) -> AsyncGenerator[dict[str, Any], None]:
        """Every new message of one EventSub session, followed across `session_reconnect`.

        Twitch keeps delivering on the old socket until the new one has said welcome, so the
        old one is read all the while; once welcomed, it is closed and drained (Twitch sends
        nothing after it acknowledges the close) before the new socket is read. A message
        sent on both sockets is dropped by the dedupe.
        """
        ws, keepalive = await self._open(self._url)
        try:
            await self._subscribe(http)
            self.health.set("connected")
            self._backoff.reset()
            while True:
                message = self._read(await self._receive(ws, keepalive))
                if message is None:
                    continue
                if _kind(message) != "session_reconnect":
                    yield message
                    continue
                moving = asyncio.create_task(self._open(_reconnect_url(message)))
                pending: asyncio.Future[Data] | None = None
                try:
                    while not moving.done():
                        pending = pending or asyncio.ensure_future(ws.recv())
                        await asyncio.wait(
                            (pending, moving),
                            timeout=_keepalive_deadline(keepalive),
                            return_when=asyncio.FIRST_COMPLETED,
                        )
                        if pending.done():
                            message, pending = self._read(pending.result()), None
                            if message is not None and _kind(message) != "session_reconnect":
                                yield message
                        elif not moving.done():
                            raise Reconnect(f"no keepalive within {keepalive:g} s")
                    old, (ws, keepalive) = ws, moving.result()
                except BaseException:
                    if pending is not None:
                        pending.cancel()
                    await _abandon(moving)
                    raise
                self.health.reconnects += 1
                for message in await self._drain(old, pending):
                    yield message
        finally:
            await ws.close()

    async def _drain(
        self, old: ClientConnection, pending: asyncio.Future[Data] | None
    ) -> list[dict[str, Any]]:
        """The messages the old socket still holds, read while its close handshake runs.

        Reading while closing keeps websockets' flow control from pausing the socket (which
        would hold back the server's close frame until the close timeout aborts it).
        """
        closing = asyncio.create_task(old.close())
        messages: list[dict[str, Any]] = []
        try:
            while True:
                raw = await (pending if pending is not None else old.recv())
                pending = None
                message = self._read(raw)
                if message is not None and _kind(message) != "session_reconnect":
                    messages.append(message)
        except ConnectionClosed:
            pass  # an old socket that ended before the welcome is drained too
        finally:
            await closing
        return messages

    def _lost(self, reason: str) -> None:
        self.health.lost(reason)
        log.warning("twitch eventsub: %s; reconnecting", reason)

    async def _receive(self, ws: ClientConnection, keepalive: float) -> Data:
        try:
            return await asyncio.wait_for(ws.recv(), _keepalive_deadline(keepalive))
        except TimeoutError as exc:
            raise Reconnect(f"no keepalive within {keepalive:g} s") from exc

    def _read(self, raw: Data) -> dict[str, Any] | None:
        """A frame as a readable, not yet seen message; None for one to skip."""
        try:
            message = json.loads(raw)
            metadata = message["metadata"]
            message_id, _ = metadata["message_id"], metadata["message_type"]
        except (ValueError, TypeError, KeyError) as exc:
            self.health.skipped(f"unreadable frame ({exc.__class__.__name__})")
            return None
        self.health.last_message_at = self.clock.now()
        if self._dedupe.seen(str(message_id)):
            self.health.duplicates += 1
            return None
        return message

    async def _open(self, url: str) -> tuple[ClientConnection, float]:
        """A socket to `url` that has said welcome, and its keepalive timeout."""
        ws = await connect(url)
        try:
            return ws, await self._welcome(ws)
        except BaseException:
            await ws.close()
            raise

    async def _welcome(self, ws: ClientConnection) -> float:
        """Waits for `session_welcome`; returns its keepalive timeout."""
        try:
            raw = await asyncio.wait_for(ws.recv(), WELCOME_TIMEOUT_S)
            message = json.loads(raw)
            if message["metadata"]["message_type"] != "session_welcome":
                raise Reconnect(f"expected session_welcome, got {message['metadata']}")
            session = message["payload"]["session"]
            self._session_id = str(session["id"])
            return float(session.get("keepalive_timeout_seconds") or 10)
        except (TimeoutError, ValueError, TypeError, KeyError) as exc:
            raise Reconnect(f"no usable session_welcome ({exc.__class__.__name__})") from exc

    async def _subscribe(self, http: httpx.AsyncClient) -> None:
        body = {
            "type": "channel.chat.message",
            "version": "1",
            "condition": {"broadcaster_user_id": self._broadcaster_id, "user_id": self._user_id},
            "transport": {"method": "websocket", "session_id": self._session_id},
        }
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Client-Id": self._client_id,
        }
        try:
            response = await http.post(
                f"{self._helix}/eventsub/subscriptions", json=body, headers=headers
            )
        except httpx.TransportError as exc:
            raise Reconnect(f"helix unreachable ({exc.__class__.__name__})") from exc
        if response.status_code == 202:
            return
        reason = f"helix subscribe answered {response.status_code}: {_helix_message(response)}"
        if response.status_code == 429 or response.status_code >= 500:
            raise Reconnect(reason)
        raise Revoked(reason)  # 400/401/403/409: the request itself is wrong; retrying won't help

    def _comment(self, message: Mapping[str, Any]) -> Comment | None:
        try:
            if message["metadata"].get("subscription_type") != "channel.chat.message":
                return None
            event = message["payload"]["event"]
            cheer = event.get("cheer")
            comment = Comment(
                platform="twitch",
                room=str(event["broadcaster_user_login"]),
                message_id=str(event["message_id"]),
                user_id=str(event["chatter_user_id"]),
                user_name=str(event["chatter_user_name"]),
                text=str(event["message"]["text"]),
                kind="gift" if cheer else "chat",
                amount=Decimal(int(cheer["bits"])) if cheer else None,
                currency="bits" if cheer else None,
                ts=self.clock.now(),
                raw=message,
            )
        except (KeyError, TypeError, ValueError) as exc:
            self.health.skipped(f"unreadable notification ({exc.__class__.__name__})")
            return None
        if self._dedupe.seen(f"chat:{comment.message_id}"):  # resent in a new envelope
            self.health.duplicates += 1
            return None
        self.health.received += 1
        return comment


def _kind(message: Mapping[str, Any]) -> str:
    return str(message["metadata"]["message_type"])


def _reconnect_url(message: Mapping[str, Any]) -> str:
    try:
        return str(message["payload"]["session"]["reconnect_url"])
    except (KeyError, TypeError) as exc:
        raise Reconnect("session_reconnect without a reconnect_url") from exc


async def _abandon(moving: asyncio.Task[tuple[ClientConnection, float]]) -> None:
    """Stops a move that is no longer wanted, closing the new socket if it was opened."""
    moving.cancel()
    try:
        new, _ = await moving
    except (asyncio.CancelledError, Exception):
        return
    await new.close()


def _helix_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:200]


def parse_irc(line: str) -> tuple[dict[str, str], str, str, list[str]]:
    """One IRC line as (IRCv3 tags, prefix, command, params); ValueError if not IRC."""
    tags: dict[str, str] = {}
    rest = line
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        for item in raw_tags.split(";"):
            key, _, value = item.partition("=")
            tags[key] = _unescape_tag(value)
    prefix = ""
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
    head, sep, trailing = rest.partition(" :")
    words = head.split()
    if not words:
        raise ValueError(f"no command in {line[:80]!r}")
    params = words[1:] + ([trailing] if sep else [])
    return tags, prefix, words[0].upper(), params


def _unescape_tag(value: str) -> str:
    out, chars = [], iter(value)
    escapes = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
    for ch in chars:
        out.append(escapes.get(next(chars, ""), "") if ch == "\\" else ch)
    return "".join(out)


class TwitchIrcSource:
    """A public channel's chat read anonymously over IRC-over-WebSocket, with tags."""

    name = "twitch-irc"

    def __init__(
        self,
        *,
        clock: Clock,
        channel: str,
        irc_url: str = "wss://irc-ws.chat.twitch.tv:443",
        idle_timeout_s: float = IRC_IDLE_TIMEOUT_S,
        backoff: Backoff | None = None,
    ) -> None:
        self.clock = clock
        self.channel = channel.lstrip("#").lower()
        self.health = Health()
        self._url = irc_url
        self._idle = idle_timeout_s
        self._backoff = backoff or Backoff()
        self._dedupe = Deduper()

    def __aiter__(self) -> AsyncIterator[Comment]:
        return self._run()

    async def _run(self) -> AsyncIterator[Comment]:
        while True:
            try:
                async with connect(self._url) as ws:
                    for line in (
                        "CAP REQ :twitch.tv/tags twitch.tv/commands",
                        "PASS SCHMOOPIIE",
                        f"NICK {ANONYMOUS_NICK}",
                        f"JOIN #{self.channel}",
                    ):
                        await ws.send(line)
                    while True:
                        try:
                            frame = await asyncio.wait_for(ws.recv(), self._idle)
                        except TimeoutError as exc:
                            raise Reconnect(f"no data within {self._idle:g} s") from exc
                        for line in str(frame).split("\r\n"):
                            if line:
                                comment = await self._line(ws, line)
                                if comment is not None:
                                    yield comment
            except InvalidURI as exc:
                self.health.set("failed", str(exc))
                return
            except (Reconnect, ConnectionClosed, OSError, InvalidHandshake) as exc:
                self.health.lost(f"{exc.__class__.__name__}: {exc}")
                log.warning("twitch irc: %s; reconnecting", exc)
            await self._backoff.wait()

    async def _line(self, ws: ClientConnection, line: str) -> Comment | None:
        try:
            tags, prefix, command, params = parse_irc(line)
        except ValueError as exc:
            self.health.skipped(str(exc))
            return None
        self.health.last_message_at = self.clock.now()
        if command == "PING":
            await ws.send(f"PONG :{params[-1] if params else 'tmi.twitch.tv'}")
        elif command == "RECONNECT":
            raise Reconnect("server asked to reconnect")
        elif command == "001":
            self.health.set("connected")
            self._backoff.reset()
        elif command == "PRIVMSG":
            return self._privmsg(tags, prefix, params, line)
        return None

    def _privmsg(
        self, tags: Mapping[str, str], prefix: str, params: list[str], line: str
    ) -> Comment | None:
        if len(params) < 2:
            self.health.skipped(f"PRIVMSG without text: {line[:80]!r}")
            return None
        login = prefix.partition("!")[0]
        message_id = tags.get("id") or f"{tags.get('tmi-sent-ts', '')}:{login}:{params[1]}"
        if self._dedupe.seen(message_id):
            self.health.duplicates += 1
            return None
        bits = tags.get("bits", "")
        self.health.received += 1
        return Comment(
            platform="twitch",
            room=params[0].lstrip("#"),
            message_id=message_id,
            user_id=tags.get("user-id") or login,
            user_name=tags.get("display-name") or login,
            text=params[1],
            kind="gift" if bits.isdigit() else "chat",
            amount=Decimal(bits) if bits.isdigit() else None,
            currency="bits" if bits.isdigit() else None,
            ts=self.clock.now(),
            raw={"line": line, "tags": dict(tags)},
        )
