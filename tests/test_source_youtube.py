"""YouTube live chat polling against a local `liveChat/messages` double."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from host.chat.events import Comment
from host.chat.mux import Feed, SourceMux
from host.chat.sources import Backoff
from host.chat.sources.youtube import YouTubeChatSource
from host.stream.clock import WallClock
from tests.platform_doubles import take
from tests.platform_doubles import youtube as yt
from tests.platform_doubles.youtube import LiveChatApi


def source(api: LiveChatApi, backoff: Backoff | None = None) -> YouTubeChatSource:
    return YouTubeChatSource(
        clock=WallClock(),
        api_key=SecretStr("AIzaSy-test-key"),
        live_chat_id=yt.CHAT_ID,
        api_url=api.url,
        backoff=backoff or Backoff(base=0.2, cap=0.4),
    )


def drain(src: YouTubeChatSource) -> list[Comment]:
    async def main() -> list[Comment]:
        return [c async for c in src]

    return asyncio.run(asyncio.wait_for(main(), 10))


def test_polls_with_next_page_token_at_the_asked_interval_and_maps_events() -> None:
    script: list[tuple[int, Any]] = [
        yt.page(
            [
                yt.text_message("t1", "Lily", "how much is the jacket?"),
                yt.super_chat("s1", "Tom", "love it", 5_000_000, "USD"),
                {"id": "broken", "snippet": {}},
            ],
            "page-2",
            300,
        ),
        yt.page(
            [yt.text_message("t1", "Lily", "how much is the jacket?"), yt.new_sponsor("n1", "Ann")],
            "page-3",
            10_000,
        ),
    ]
    with LiveChatApi(script) as api:
        src = source(api)
        text, superchat, sponsor = asyncio.run(take(src, 3))
    assert (text.platform, text.message_id, text.user_name) == ("youtube", "t1", "Lily")
    assert text.user_id == "UCLilychannel" and text.text == "how much is the jacket?"
    assert superchat.kind == "superchat" and superchat.amount == Decimal("5")
    assert superchat.currency == "USD" and superchat.text == "love it"
    assert sponsor.kind == "follow" and sponsor.user_name == "Ann"
    (t0, first), (t1, second) = api.requests[:2]
    assert "pageToken" not in first and second["pageToken"] == "page-2"
    assert first["header:key"] == "AIzaSy-test-key" and "key" not in first
    assert first["liveChatId"] == yt.CHAT_ID
    assert t1 - t0 >= 0.3
    h = src.health
    assert (h.state, h.duplicates, h.malformed, h.received) == ("connected", 1, 1, 3)


def test_messages_published_before_the_start_are_not_replayed() -> None:
    """The first page holds the chat's recent backlog; a host answering it would reply to
    viewers who asked before it was on air."""
    started = datetime.now(UTC)
    script: list[tuple[int, Any]] = [
        yt.page(
            [
                yt.text_message("old1", "Lily", "an hour ago", started - timedelta(hours=1)),
                yt.text_message("old2", "Tom", "just before", started - timedelta(seconds=2)),
                yt.text_message("new1", "Ann", "just after the start"),
            ],
            "page-2",
            100,
        ),
        yt.page([yt.text_message("new2", "Bo", "on the next page")], "page-3", 10_000),
    ]
    with LiveChatApi(script) as api:
        src = source(api)
        got = asyncio.run(take(src, 2))
    assert [c.message_id for c in got] == ["new1", "new2"]
    assert src.health.received == 2 and src.health.malformed == 0


def test_quota_errors_back_off_exponentially_then_resume() -> None:
    script = [
        yt.error(403, "quotaExceeded", "The request cannot be completed: quota exceeded."),
        yt.error(403, "rateLimitExceeded", "Too many requests."),
        yt.page([yt.text_message("t1", "Lily", "hi")], "page-2", 10_000),
    ]
    with LiveChatApi(script) as api:
        src = source(api, Backoff(base=0.2, cap=10.0))
        (comment,) = asyncio.run(take(src, 1))
    assert comment.text == "hi"
    (t0, _), (t1, _), (t2, _) = api.requests[:3]
    assert t1 - t0 >= 0.1 and t2 - t1 >= 0.2  # jittered 0.1-0.2 s, then 0.2-0.4 s
    assert src.health.reconnects == 2 and src.health.state == "connected"
    assert "rateLimitExceeded" in (src.health.last_error or "")


@pytest.mark.parametrize(
    ("status", "reason", "said"),
    [
        (403, "liveChatEnded", "has ended"),
        (404, "liveChatNotFound", "does not exist"),
        (403, "liveChatDisabled", "was disabled"),
    ],
)
def test_a_chat_gone_with_its_broadcast_fails_once_naming_the_setting(
    status: int, reason: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A broadcast's chat id dies with the broadcast: asking again cannot help (and burns
    quota), so the source says what happened and what to set, once, and ends; the mux
    does not start it again."""
    with LiveChatApi([yt.error(status, reason, "The live chat is no longer live.")]) as api:
        feed = Feed("youtube", lambda: source(api))
        with caplog.at_level(logging.INFO):
            asyncio.run(asyncio.wait_for(SourceMux([feed]).run(lambda comment: None), 5))
        time.sleep(0.5)  # nothing asks again afterwards either
    assert feed.done and feed.restarts == 0 and len(api.requests) == 1
    assert feed.source is not None
    health = feed.source.health
    assert health.state == "failed"
    error = health.last_error or ""
    assert "YOUTUBE_LIVE_CHAT_ID" in error and yt.CHAT_ID in error
    assert f"chat {said}" in error and f"{status} {reason}" in error
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in errors] == [f"{error}; not asking again"]


def test_other_refusals_end_the_source_with_the_api_reason() -> None:
    with LiveChatApi([yt.error(403, "forbidden", "Insufficient permissions.")]) as api:
        src = source(api)
        assert drain(src) == []
    assert src.health.state == "failed" and "403 forbidden" in (src.health.last_error or "")
    assert len(api.requests) == 1


def test_the_api_key_never_appears_in_health() -> None:
    with LiveChatApi([yt.error(500, "backendError", "Backend Error")]) as api:
        src = source(api, Backoff(base=0.01, cap=0.02))

        async def main() -> None:
            it = aiter(src)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(anext(it), 0.3)

        asyncio.run(main())
    assert src.health.state == "reconnecting" and src.health.reconnects >= 2
    assert "AIzaSy" not in repr(src.health)
