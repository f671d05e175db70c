"""YouTube Data API `liveChat/messages` on a local HTTP server, answering from a script.

Bodies follow developers.google.com/youtube/v3/live/docs/liveChatMessages (list response,
textMessageEvent, superChatEvent, newSponsorEvent) and the Google API error format. An item
built without `published` is stamped `publishedAt` when it is first served (a message
published just then); give `published` for one from before.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.platform_doubles.json_http import JsonHttpServer

CHAT_ID = "Cg0KC2hIRXhLeWdSUXBrKicKGFVDMHBfQmpqamdCZ2N2emFfTlBGb3dVQRILaEhFeEt5Z1JRcGs"


def _author(name: str) -> dict[str, Any]:
    channel = f"UC{name}channel"
    return {
        "channelId": channel,
        "channelUrl": f"http://www.youtube.com/channel/{channel}",
        "displayName": name,
        "profileImageUrl": "https://yt3.ggpht.com/photo.jpg",
        "isVerified": False,
        "isChatOwner": False,
        "isChatSponsor": False,
        "isChatModerator": False,
    }


def _item(
    message_id: str, name: str, snippet: dict[str, Any], published: datetime | None = None
) -> dict[str, Any]:
    stamp = {} if published is None else {"publishedAt": published.isoformat()}
    return {
        "kind": "youtube#liveChatMessage",
        "etag": f"etag-{message_id}",
        "id": message_id,
        "snippet": {
            "liveChatId": CHAT_ID,
            "authorChannelId": f"UC{name}channel",
            **stamp,
            "hasDisplayContent": True,
            **snippet,
        },
        "authorDetails": _author(name),
    }


def text_message(
    message_id: str, name: str, text: str, published: datetime | None = None
) -> dict[str, Any]:
    return _item(
        message_id,
        name,
        {
            "type": "textMessageEvent",
            "displayMessage": text,
            "textMessageDetails": {"messageText": text},
        },
        published,
    )


def super_chat(message_id: str, name: str, text: str, micros: int, currency: str) -> dict[str, Any]:
    shown = f"{currency} {micros / 1_000_000:.2f}"
    return _item(
        message_id,
        name,
        {
            "type": "superChatEvent",
            "displayMessage": f'{shown} from {name}: "{text}"',
            "superChatDetails": {
                "amountMicros": str(micros),
                "currency": currency,
                "amountDisplayString": shown,
                "userComment": text,
                "tier": 2,
            },
        },
    )


def new_sponsor(message_id: str, name: str) -> dict[str, Any]:
    return _item(
        message_id,
        name,
        {
            "type": "newSponsorEvent",
            "displayMessage": f"Welcome {name}!",
            "newSponsorDetails": {"memberLevelName": "Member", "isUpgrade": False},
        },
    )


def page(items: list[dict[str, Any]], next_token: str, interval_ms: int) -> tuple[int, Any]:
    return 200, {
        "kind": "youtube#liveChatMessageListResponse",
        "etag": "page-etag",
        "pollingIntervalMillis": interval_ms,
        "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        "nextPageToken": next_token,
        "items": items,
    }


def error(status: int, reason: str, message: str) -> tuple[int, Any]:
    domain = "youtube.quota" if reason == "quotaExceeded" else "youtube.liveChat"
    return status, {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }


class LiveChatApi:
    """Answers the n-th GET with the n-th scripted (status, body); the last one repeats."""

    def __init__(self, script: list[tuple[int, Any]]) -> None:
        self.script = script
        self.requests: list[tuple[float, dict[str, str]]] = []
        self._http = JsonHttpServer(self._answer, "/youtube/v3")
        self.url = self._http.url

    def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        query["header:key"] = {k.lower(): v for k, v in headers.items()}.get("x-goog-api-key", "")
        self.requests.append((time.monotonic(), query))
        if method != "GET" or url.path != "/youtube/v3/liveChat/messages":
            return error(404, "notFound", "Not Found")
        status, answer = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
        now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        for item in answer.get("items", []):
            item["snippet"].setdefault("publishedAt", now)
        return status, answer

    def __enter__(self) -> LiveChatApi:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()
