"""Twitch on 127.0.0.1: an EventSub WebSocket server, a Helix HTTP server, an IRC WebSocket.

Payloads are the examples of Twitch's EventSub reference (dev.twitch.tv/docs/eventsub/
websocket-reference, .../eventsub-subscription-types#channelchatmessage) and the IRC tags
example of dev.twitch.tv/docs/chat/irc, with only ids and texts made parameters.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

from tests.platform_doubles.json_http import JsonHttpServer

SESSION_ID = "AQoQILE98gtqShGmLD7AM6yJThAB"


def _meta(message_type: str, message_id: str | None = None, **extra: str) -> dict[str, Any]:
    return {
        "message_id": message_id or str(uuid.uuid4()),
        "message_type": message_type,
        "message_timestamp": "2023-07-19T14:56:51.634234626Z",
        **extra,
    }


def welcome(session_id: str = SESSION_ID, keepalive: int = 10) -> str:
    return json.dumps(
        {
            "metadata": _meta("session_welcome"),
            "payload": {
                "session": {
                    "id": session_id,
                    "status": "connected",
                    "connected_at": "2023-07-19T14:56:51.616329898Z",
                    "keepalive_timeout_seconds": keepalive,
                    "reconnect_url": None,
                    "recovery_url": None,
                }
            },
        }
    )


def keepalive() -> str:
    return json.dumps({"metadata": _meta("session_keepalive"), "payload": {}})


def chat_message(
    message_id: str, text: str, *, meta_id: str | None = None, bits: int | None = None
) -> str:
    meta = _meta(
        "notification",
        meta_id,
        subscription_type="channel.chat.message",
        subscription_version="1",
    )
    return json.dumps(
        {
            "metadata": meta,
            "payload": {
                "subscription": {
                    "id": "0b7f3361-672b-4d39-b307-dd5b576c9b27",
                    "status": "enabled",
                    "type": "channel.chat.message",
                    "version": "1",
                    "condition": {"broadcaster_user_id": "1971641", "user_id": "2914196"},
                    "transport": {"method": "websocket", "session_id": SESSION_ID},
                    "created_at": "2023-11-06T18:11:47.492253549Z",
                    "cost": 0,
                },
                "event": {
                    "broadcaster_user_id": "1971641",
                    "broadcaster_user_login": "streamer",
                    "broadcaster_user_name": "streamer",
                    "chatter_user_id": "4145994",
                    "chatter_user_login": "viewer32",
                    "chatter_user_name": "viewer32",
                    "message_id": message_id,
                    "message": {
                        "text": text,
                        "fragments": [
                            {
                                "type": "text",
                                "text": text,
                                "cheermote": None,
                                "emote": None,
                                "mention": None,
                            }
                        ],
                    },
                    "color": "#00FF7F",
                    "badges": [{"set_id": "moderator", "id": "1", "info": ""}],
                    "message_type": "text",
                    "cheer": {"bits": bits} if bits else None,
                    "reply": None,
                    "channel_points_custom_reward_id": None,
                },
            },
        }
    )


def session_reconnect(url: str) -> str:
    return json.dumps(
        {
            "metadata": _meta("session_reconnect"),
            "payload": {
                "session": {
                    "id": SESSION_ID,
                    "status": "reconnecting",
                    "keepalive_timeout_seconds": None,
                    "reconnect_url": url,
                    "connected_at": "2022-11-16T10:11:12.634234626Z",
                }
            },
        }
    )


def revocation() -> str:
    return json.dumps(
        {
            "metadata": _meta(
                "revocation",
                subscription_type="channel.chat.message",
                subscription_version="1",
            ),
            "payload": {
                "subscription": {
                    "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
                    "status": "authorization_revoked",
                    "type": "channel.chat.message",
                    "version": "1",
                    "cost": 0,
                    "condition": {"broadcaster_user_id": "1971641", "user_id": "2914196"},
                    "transport": {"method": "websocket", "session_id": SESSION_ID},
                    "created_at": "2022-11-16T10:11:12.464757833Z",
                }
            },
        }
    )


PRIVMSG = (
    "@badge-info=;badges=turbo/1;color=#0D4200;display-name=Ronni\\sB;emotes=;"
    "first-msg=0;flags=;id={id};mod=0;room-id=1337;subscriber=0;"
    "tmi-sent-ts=1507246572675;turbo=1;user-id=1337;user-type= "
    ":ronni!ronni@ronni.tmi.twitch.tv PRIVMSG #{channel} :{text}"
)


def privmsg(message_id: str, text: str, channel: str = "streamer", bits: int | None = None) -> str:
    line = PRIVMSG.format(id=message_id, channel=channel, text=text)
    return line.replace("@badge-info=", f"@bits={bits};badge-info=") if bits else line


Script = Callable[[ServerConnection], Awaitable[None]]


class WebSocketDouble:
    """A websockets server whose n-th connection runs the n-th script (the last repeats)."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.connections: list[ServerConnection] = []
        self.events: list[str] = []  # "open N", "close N", in order
        self._server: Server | None = None

    async def __aenter__(self) -> WebSocketDouble:
        self._server = await serve(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def _handle(self, ws: ServerConnection) -> None:
        n = len(self.connections)
        self.connections.append(ws)
        self.events.append(f"open {n}")
        try:
            await self.scripts[min(n, len(self.scripts) - 1)](ws)
        finally:
            self.events.append(f"close {n}")


class EventSubSession:
    """Twitch's side of one EventSub session: each notification goes to the session's current
    socket, whichever connection that is.

    After `session_reconnect` the old socket stays current, and keeps delivering, until the
    client has connected to the reconnect URL and been welcomed there; only then does delivery
    move to the new socket (dev.twitch.tv/docs/eventsub/handling-websocket-events#reconnect-
    message). Delivery is at least once: the notification sent last on the old socket is sent
    again on the new one, as Twitch may when it cannot tell whether it arrived.
    """

    def __init__(self) -> None:
        self.current: ServerConnection | None = None
        self.sent: list[str] = []  # chat message ids, each once, in delivery order
        self._last: str | None = None
        self.moved = asyncio.Event()

    def start(self, ws: ServerConnection) -> None:
        self.current = ws

    async def deliver(self, message_id: str, text: str) -> None:
        assert self.current is not None, "no socket has been welcomed yet"
        self._last = chat_message(message_id, text)
        self.sent.append(message_id)
        await self.current.send(self._last)

    async def ask_to_move(self, url: str) -> None:
        assert self.current is not None
        await self.current.send(session_reconnect(url))

    async def welcome_new(self, ws: ServerConnection) -> None:
        """The new socket's welcome; from here on notifications go to it."""
        await ws.send(welcome())
        self.current = ws
        if self._last is not None:
            await ws.send(self._last)
        self.moved.set()


class Helix:
    """POST /eventsub/subscriptions on a local HTTP server; records every request."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self._http = JsonHttpServer(self._answer, "/helix")
        self.url = self._http.url

    def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        body = json.loads(raw)
        self.requests.append((headers, body))
        if method != "POST" or path != "/helix/eventsub/subscriptions":
            return 404, {"error": "Not Found", "status": 404, "message": ""}
        if self.status == 202:
            data = {**body, "id": str(uuid.uuid4()), "status": "enabled", "cost": 0}
            return 202, {"data": [data], "total": 1, "total_cost": 0}
        message = "Invalid OAuth token"
        return self.status, {"error": "Unauthorized", "status": self.status, "message": message}

    def __enter__(self) -> Helix:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()
