"""The comment bus on Redis Streams, against a real redis-server with a password."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine

redis = pytest.importorskip("redis", reason="the cluster extra is not installed")

from host.chat import redis_bus  # noqa: E402
from host.chat.events import Comment  # noqa: E402
from host.chat.redis_bus import DOUYIN, GROUP, PREFIX, RedisBus, RedisDouyinHub  # noqa: E402
from host.chat.sources.websocket_ingress import IngressComment  # noqa: E402
from host.config import Settings  # noqa: E402
from host.stream.clock import WallClock  # noqa: E402
from host.web.app import create_app  # noqa: E402
from host.web.routes.douyin import douyin_source  # noqa: E402
from tests.platform_doubles.douyin import comment, gift, push  # noqa: E402
from tests.platform_doubles.uvicorn_server import serving  # noqa: E402

SECRET = "douyin-s3cret"


def _comment(n: int) -> IngressComment:
    return IngressComment(id=f"m{n}", user=f"viewer{n}", text=f"how much is the mug? ({n})")


async def _take(comments: AsyncIterator[Comment], count: int) -> list[Comment]:
    return [await asyncio.wait_for(anext(comments), 5) for _ in range(count)]


def _pending(url: str, stream: str, prefix: str = PREFIX) -> int:
    return int(redis.Redis.from_url(url).xpending(prefix + stream, GROUP)["pending"])


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


def test_douyin_pushes_reach_a_session_in_another_process_through_redis(
    redis_url: str, settings: Settings
) -> None:
    configured = settings.model_copy(
        update={"douyin_webhook_secret": SecretStr(SECRET), "redis_url": SecretStr(redis_url)}
    )
    app = create_app(configured, create_engine("sqlite://"))

    async def main() -> None:
        async with serving(app) as port, httpx.AsyncClient(timeout=5) as http:
            url = f"http://127.0.0.1:{port}/webhooks/douyin"
            messages = [comment("c1", "o1", "Lily", "多少钱"), comment("c2", "o2", "Wang", "hi")]
            response = await push(http, url, "live_comment", messages, SECRET)
            again = await push(http, url, "live_comment", messages[:1], SECRET)  # a retry
            assert (response.json()["accepted"], again.json()["accepted"]) == (2, 0)
            gifted = await push(
                http, url, "live_gift", [gift("g1", "o3", "Zhao", "n1/Dg", 3, 300)], SECRET
            )
            assert gifted.status_code == 200, gifted.text
        session = RedisDouyinHub(RedisBus(redis_url, WallClock())).source("")  # the session's
        comments = aiter(session)
        got = await _take(comments, 3)
        assert [(c.message_id, c.kind, c.user_name, c.platform) for c in got] == [
            ("c1", "chat", "Lily", "douyin"),
            ("c2", "chat", "Wang", "douyin"),
            ("g1", "gift", "Zhao", "douyin"),
        ]
        assert (got[2].amount, got[2].currency) == (Decimal(3), "CNY")
        assert _pending(redis_url, "", DOUYIN) == 3
        session.acknowledge(["c1", "c2", "g1"])  # their audit rows are written
        assert _pending(redis_url, "", DOUYIN) == 0
        await comments.aclose()  # type: ignore[attr-defined]

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a_douyin_push_redis_cannot_take_is_refused_for_a_retry_and_not_remembered(
    settings: Settings,
) -> None:
    configured = settings.model_copy(
        update={
            "douyin_webhook_secret": SecretStr(SECRET),
            "redis_url": SecretStr("redis://:pw@127.0.0.1:1/0"),
        }
    )
    app = create_app(configured, create_engine("sqlite://"))

    async def main() -> None:
        async with serving(app) as port, httpx.AsyncClient(timeout=10) as http:
            url = f"http://127.0.0.1:{port}/webhooks/douyin"
            response = await push(
                http, url, "live_comment", [comment("c1", "o", "L", "hi")], SECRET
            )
            assert response.status_code == 503 and "retry later" in response.text
        assert len(douyin_source(app)._dedupe) == 0  # type: ignore[attr-defined]

    asyncio.run(asyncio.wait_for(main(), 20))
