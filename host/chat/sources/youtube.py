"""YouTube live chat: `liveChatMessages.list` polled at the pace the API asks for.

Each answer says when to ask again (`pollingIntervalMillis`) and from where
(`nextPageToken`); asking sooner only burns quota. Quota and rate errors (403
`quotaExceeded` / `rateLimitExceeded`, 429) and server errors back off exponentially
instead. A chat that ended, was deleted or disabled (403 `liveChatEnded`, 404
`liveChatNotFound`, 403 `liveChatDisabled`) never comes back: a new broadcast has a new
chat id. The source says so once, naming YOUTUBE_LIVE_CHAT_ID, and ends rather than asking
again; any other refusal ends it too, with the API's reason.

The first answer (no page token) is the chat's recent backlog, not news: its messages
published before the source started are skipped, so the host does not answer viewers who
asked before it was on air. Later pages hold only what came after the token, so they are
taken whole (and a clock that differs from Google's costs nothing after the first page).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from host.chat.events import Comment, CommentKind
from host.chat.sources import Backoff, Deduper, Health
from host.stream.clock import Clock

log = logging.getLogger(__name__)

RETRYABLE_REASONS = frozenset({"quotaExceeded", "rateLimitExceeded", "backendError"})
MIN_POLL_S = 1.0  # floor when the API leaves out pollingIntervalMillis
CHAT_GONE = {  # API reason -> what became of the chat
    "liveChatEnded": "has ended",
    "liveChatNotFound": "does not exist (deleted by its owner, or a wrong id)",
    "liveChatDisabled": "was disabled by the channel's owner",
}


class YouTubeChatSource:
    """Messages of one live chat (`liveChatId`), as Comments."""

    name = "youtube"

    def __init__(
        self,
        *,
        clock: Clock,
        api_key: SecretStr,
        live_chat_id: str,
        api_url: str = "https://www.googleapis.com/youtube/v3",
        backoff: Backoff | None = None,
        min_poll_s: float = MIN_POLL_S,
    ) -> None:
        self.clock = clock
        self.health = Health()
        self._key = api_key
        self._chat = live_chat_id
        self._url = f"{api_url.rstrip('/')}/liveChat/messages"
        self._backoff = backoff or Backoff(base=5.0, cap=300.0)
        self._min_poll = min_poll_s
        self._dedupe = Deduper()

    def __aiter__(self) -> AsyncIterator[Comment]:
        return self._run()

    async def _run(self) -> AsyncIterator[Comment]:
        started = datetime.now(UTC)
        page: str | None = None
        # the key goes in a header: URLs (with their query) end up in httpx's request log
        headers = {"X-Goog-Api-Key": self._key.get_secret_value()}
        async with httpx.AsyncClient(timeout=15.0) as http:
            while True:
                params = {
                    "liveChatId": self._chat,
                    "part": "snippet,authorDetails",
                    "maxResults": "2000",
                }
                if page:
                    params["pageToken"] = page
                try:
                    response = await http.get(self._url, params=params, headers=headers)
                    body = response.json()
                except (httpx.TransportError, ValueError) as exc:
                    await self._retry(f"{exc.__class__.__name__}: {exc}")
                    continue
                if response.status_code != 200:
                    reason = _error_reason(body)
                    code = response.status_code
                    if code == 429 or code >= 500 or reason in RETRYABLE_REASONS:
                        await self._retry(f"{code} {reason}")
                        continue
                    self._fail(code, reason)
                    return
                self.health.set("connected")
                self._backoff.reset()
                items = body.get("items") or []
                if page is None:
                    items = self._after(items, started)
                for item in items:
                    comment = self._comment(item)
                    if comment is not None:
                        yield comment
                page = body.get("nextPageToken") or page
                interval = body.get("pollingIntervalMillis")
                wait = interval / 1000 if isinstance(interval, int | float) else self._min_poll
                await asyncio.sleep(max(wait, 0.0))

    def _after(self, items: list[Any], started: datetime) -> list[Any]:
        """The first page's items published after `started`; an item without a readable
        `publishedAt` is kept (and judged by `_comment`)."""
        kept = [item for item in items if not _published_before(item, started)]
        if len(kept) < len(items):
            log.info(
                "youtube chat %s: skipped %d messages published before the start",
                self._chat,
                len(items) - len(kept),
            )
        return kept

    def _fail(self, code: int, reason: str) -> None:
        """Ends the source: said once, in health and the log, in words an operator can act on."""
        if reason in CHAT_GONE:
            error = (
                f"YOUTUBE_LIVE_CHAT_ID {self._chat}: the broadcast's chat {CHAT_GONE[reason]}"
                f" ({code} {reason}); a new broadcast has a new live chat id: set it and restart"
            )
        else:
            error = f"youtube chat {self._chat}: {code} {reason}"
        self.health.set("failed", error)
        log.error("%s; not asking again", error)

    async def _retry(self, reason: str) -> None:
        self.health.lost(reason)
        log.warning("youtube chat %s: %s; backing off", self._chat, reason)
        await self._backoff.wait()

    def _comment(self, item: Mapping[str, Any]) -> Comment | None:
        """textMessageEvent, superChatEvent and newSponsorEvent; other types are skipped."""
        try:
            message_id = str(item["id"])
            if self._dedupe.seen(message_id):
                self.health.duplicates += 1
                return None
            snippet, author = item["snippet"], item["authorDetails"]
            kind = snippet["type"]
            amount, currency = None, None
            event: CommentKind
            if kind == "textMessageEvent":
                text, event = snippet["textMessageDetails"]["messageText"], "chat"
            elif kind == "superChatEvent":
                details = snippet["superChatDetails"]
                text, event = details.get("userComment", ""), "superchat"
                amount = Decimal(int(details["amountMicros"])) / 1_000_000
                currency = str(details["currency"])
            elif kind == "newSponsorEvent":
                text, event = snippet.get("displayMessage", ""), "follow"
            else:
                return None
            comment = Comment(
                platform="youtube",
                room=self._chat,
                message_id=message_id,
                user_id=str(author["channelId"]),
                user_name=str(author["displayName"]),
                text=str(text),
                kind=event,
                amount=amount,
                currency=currency,
                ts=self.clock.now(),
                raw=item,
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            self.health.skipped(f"unreadable chat item ({exc.__class__.__name__})")
            return None
        self.health.received += 1
        self.health.last_message_at = comment.ts
        return comment


def _published_before(item: Any, moment: datetime) -> bool:
    try:
        published = datetime.fromisoformat(str(item["snippet"]["publishedAt"]))
    except (KeyError, TypeError, ValueError):
        return False
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return published < moment


def _error_reason(body: Any) -> str:
    """The first `errors[].reason` of a Google API error body ("quotaExceeded", ...)."""
    try:
        return str(body["error"]["errors"][0]["reason"])
    except (KeyError, IndexError, TypeError):
        return "unknown error"
