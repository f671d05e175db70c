"""The comment bus on Redis Streams, against a real redis-server with a password."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

redis = pytest.importorskip("redis", reason="the cluster extra is not installed")

from host.chat import redis_bus  # noqa: E402
from host.chat.events import Comment  # noqa: E402
from host.chat.redis_bus import GROUP, PREFIX, RedisBus  # noqa: E402
from host.chat.sources.websocket_ingress import IngressComment  # noqa: E402
from host.stream.clock import WallClock  # noqa: E402


def _comment(n: int) -> IngressComment:
    return IngressComment(id=f"m{n}", user=f"viewer{n}", text=f"how much is the mug? ({n})")


async def _take(comments: AsyncIterator[Comment], count: int) -> list[Comment]:
    return [await asyncio.wait_for(anext(comments), 5) for _ in range(count)]


def _pending(url: str, stream: str) -> int:
    return int(redis.Redis.from_url(url).xpending(PREFIX + stream, GROUP)["pending"])


def test_redis_refuses_a_client_without_the_password(redis_url: str) -> None:
    without = redis_url.replace(redis_url.split("@")[0] + "@", "redis://")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(without).ping()


def test_a_comment_stays_pending_until_its_audit_row_is_written(redis_url: str) -> None:
    asyncio.run(_stays_pending(redis_url))


async def _stays_pending(redis_url: str) -> None:
    front = RedisBus(redis_url, WallClock()).source("shop")  # the web front's process
    session = RedisBus(redis_url, WallClock()).source("shop")  # the session's
    comments = aiter(session)
    assert front.offer(_comment(1)) == "accepted"
    assert front.offer(_comment(1)) == "duplicate"
    [got] = await _take(comments, 1)
    assert (got.message_id, got.user_name, got.room) == ("m1", "viewer1", "shop")
    assert _pending(redis_url, "shop") == 1
    session.acknowledge(["m1"])
    assert _pending(redis_url, "shop") == 0
    await comments.aclose()  # type: ignore[attr-defined]


def test_a_successor_claims_what_was_left_pending_and_skips_what_was_recorded(
    redis_url: str,
) -> None:
    asyncio.run(_claims(redis_url))


async def _claims(redis_url: str) -> None:
    front = RedisBus(redis_url, WallClock()).source("shop")
    for n in range(1, 5):
        front.offer(_comment(n))
    first = RedisBus(redis_url, WallClock()).source("shop")
    first.consumer = "first"
    old = aiter(first)
    assert [c.message_id for c in await _take(old, 4)] == ["m1", "m2", "m3", "m4"]
    first.acknowledge(["m1"])  # m1 written and acknowledged; m2 written, then the process died
    await old.aclose()  # type: ignore[attr-defined]

    second = RedisBus(redis_url, WallClock()).source("shop")
    second.consumer = "second"
    second.recorded({"m1", "m2"})
    new = aiter(second)
    assert [c.message_id for c in await _take(new, 2)] == ["m3", "m4"]
    assert second.claimed == 3
    front.offer(_comment(5))
    assert [c.message_id for c in await _take(new, 1)] == ["m5"]
    second.acknowledge(["m3", "m4", "m5"])
    assert _pending(redis_url, "shop") == 0
    await new.aclose()  # type: ignore[attr-defined]


def test_a_front_that_cannot_reach_redis_answers_busy_and_loses_nothing() -> None:
    source = RedisBus("redis://:pw@127.0.0.1:1/0", WallClock()).source("shop")
    assert source.offer(_comment(1)) == "busy"
    assert source.health.state == "reconnecting"


@pytest.fixture
def quick_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_bus, "CLAIM_IDLE_MS", 200)
    monkeypatch.setattr(redis_bus, "CLAIM_EVERY_S", 0.3)


def test_what_a_fenced_predecessor_reads_after_the_takeover_is_claimed_and_answered(
    redis_url: str, quick_claims: None
) -> None:
    asyncio.run(_zombie_reads(redis_url))


async def _zombie_reads(redis_url: str) -> None:
    front = RedisBus(redis_url, WallClock()).source("shop")
    successor = RedisBus(redis_url, WallClock()).source("shop")
    successor.consumer = "successor"
    new = aiter(successor)
    front.offer(_comment(0))
    assert [c.message_id for c in await _take(new, 1)] == ["m0"]  # its first claim is done
    front.offer(_comment(1))
    zombie = redis.Redis.from_url(redis_url)  # still reading until it notices it is fenced
    [(_key, [(_entry, _fields)])] = zombie.xreadgroup(GROUP, "zombie", {PREFIX + "shop": ">"})
    await asyncio.sleep(0.4)  # fenced, it never acknowledges m1
    assert [c.message_id for c in await _take(new, 1)] == ["m1"]
    successor.acknowledge(["m0", "m1"])
    assert _pending(redis_url, "shop") == 0
    await new.aclose()  # type: ignore[attr-defined]


def test_a_comment_whose_acknowledgement_failed_is_claimed_again_but_not_answered_twice(
    redis_url: str, quick_claims: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_ack_fails(redis_url, monkeypatch))


async def _ack_fails(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    front = RedisBus(redis_url, WallClock()).source("shop")
    session = RedisBus(redis_url, WallClock()).source("shop")
    comments = aiter(session)
    front.offer(_comment(1))
    assert [c.message_id for c in await _take(comments, 1)] == ["m1"]
    with monkeypatch.context() as patch:  # Redis away just when the audit row is written
        patch.setattr(session._bus.client, "xack", _refused)  # type: ignore[attr-defined]
        with pytest.raises(redis.ConnectionError):
            session.acknowledge(["m1"])
    await asyncio.sleep(0.4)
    front.offer(_comment(2))
    assert [c.message_id for c in await _take(comments, 1)] == ["m2"]  # m1 acked, skipped
    assert _pending(redis_url, "shop") == 1
    session.acknowledge(["m2"])
    assert _pending(redis_url, "shop") == 0
    await comments.aclose()  # type: ignore[attr-defined]


def _refused(*args: object) -> None:
    raise redis.ConnectionError("connection refused")
