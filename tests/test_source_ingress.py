"""The websocket ingress, through a real uvicorn server and the `websockets` client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from host.chat.sources.registry import SOURCES, SourceContext
from host.chat.sources.websocket_ingress import IngressSource, token_matches
from host.config import Settings
from host.db.engine import make_engine
from host.errors import HostError
from host.stream.clock import WallClock
from host.web.app import create_app
from host.web.routes.ingress import ingress_hub
from tests.platform_doubles import take
from tests.platform_doubles.uvicorn_server import serving

TOKEN = "shop-secret-1"

Scenario = Callable[[str, IngressSource], Awaitable[None]]


@pytest.fixture
def ingress_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "ingress_tokens": {"shop": SecretStr(TOKEN)},
            "ingress_max_frame_bytes": 2048,
            "ingress_queue_size": 3,
        }
    )


@pytest.fixture
def sqlite_engine(settings: Settings) -> Iterator[Engine]:
    """The app needs an engine; the ingress never touches it."""
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


def run(settings: Settings, engine: Engine, scenario: Scenario) -> None:
    async def main() -> None:
        app = create_app(settings, engine)
        async with serving(app) as port:
            await scenario(f"ws://127.0.0.1:{port}/ws/ingress", ingress_hub(app).source("shop"))

    asyncio.run(main())


async def authed(url: str) -> ClientConnection:
    ws = await connect(f"{url}/shop")
    await ws.send(json.dumps({"type": "auth", "token": TOKEN}))
    assert json.loads(await ws.recv()) == {"type": "ready", "stream": "shop"}
    return ws


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await ws.recv()
    rcvd = info.value.rcvd
    assert rcvd is not None
    return rcvd.code, rcvd.reason


def comment(id: str, text: str, **extra: Any) -> str:
    return json.dumps({"type": "comment", "id": id, "user": "Lily", "text": text, **extra})


def test_comments_are_acked_and_yielded_in_order(ingress_settings, sqlite_engine) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        ws = await authed(url)
        await ws.send(comment("m1", "how much is the jacket?"))
        assert json.loads(await ws.recv()) == {"type": "ack", "id": "m1", "status": "accepted"}
        await ws.send(comment("m2", "thanks!", kind="gift", amount="9.9", currency="CNY"))
        assert json.loads(await ws.recv())["status"] == "accepted"
        first, second = await take(source, 2)
        assert (first.message_id, first.user_name, first.text) == ("m1", "Lily", first.text)
        assert first.room == "shop" and first.platform == "ingress" and first.kind == "chat"
        assert second.kind == "gift" and second.amount == Decimal("9.9")
        assert second.currency == "CNY"
        assert source.health.state == "connected" and source.health.received == 2
        await ws.close()

    run(ingress_settings, sqlite_engine, scenario)


def test_repeated_message_id_is_acked_as_duplicate_and_yielded_once(
    ingress_settings, sqlite_engine
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        ws = await authed(url)
        for _ in range(2):
            await ws.send(comment("m1", "hello"))
        statuses = [json.loads(await ws.recv())["status"] for _ in range(2)]
        assert statuses == ["accepted", "duplicate"]
        await ws.send(comment("m2", "next"))
        await ws.recv()
        assert [c.message_id for c in await take(source, 2)] == ["m1", "m2"]
        assert source.health.duplicates == 1

    run(ingress_settings, sqlite_engine, scenario)


def test_bearer_header_authenticates_without_an_auth_message(
    ingress_settings, sqlite_engine
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with connect(f"{url}/shop", additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv()) == {"type": "pong"}

    run(ingress_settings, sqlite_engine, scenario)


@pytest.mark.parametrize(
    ("stream", "auth"),
    [
        ("shop", {"type": "auth", "token": "wrong"}),
        ("other", {"type": "auth", "token": TOKEN}),  # right token, another stream
        ("shop", {"type": "comment", "id": "m1", "user": "x"}),  # no auth first
    ],
)
def test_wrong_token_closes_with_policy_violation(
    ingress_settings, sqlite_engine, stream, auth
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        ws = await connect(f"{url}/{stream}")
        await ws.send(json.dumps(auth))
        code, reason = await closed_with(ws)
        assert code == 1008
        assert "token" in reason or "auth" in reason
        assert source.health.received == 0

    run(ingress_settings, sqlite_engine, scenario)


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        ("{not json", 1007, "invalid JSON"),
        (b"\x00\x01", 1003, "binary"),
        (comment("big", "x" * 3000), 1009, "2048 byte limit"),
    ],
)
def test_bad_frames_close_with_a_clear_reason_keeping_what_came_before(
    ingress_settings, sqlite_engine, frame, code, words
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        ws = await authed(url)
        await ws.send(comment("m1", "before the bad frame"))
        assert json.loads(await ws.recv())["status"] == "accepted"
        await ws.send(frame)
        got_code, reason = await closed_with(ws)
        assert got_code == code and words in reason
        assert [c.message_id for c in await take(source, 1)] == ["m1"]
        assert source.health.malformed == 1

    run(ingress_settings, sqlite_engine, scenario)


def test_invalid_comment_is_rejected_alone_and_the_connection_stays(
    ingress_settings, sqlite_engine
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        ws = await authed(url)
        await ws.send(json.dumps({"type": "comment", "id": "m1", "text": "no user"}))
        rejected = json.loads(await ws.recv())
        assert rejected["status"] == "rejected" and "user" in rejected["error"]
        await ws.send(comment("m2", "negative gift", kind="gift", amount=-5))
        assert "amount" in json.loads(await ws.recv())["error"]
        await ws.send(comment("m3", "fine", kind="cheer"))
        assert "kind" in json.loads(await ws.recv())["error"]
        await ws.send(json.dumps([1, 2]))
        assert json.loads(await ws.recv())["status"] == "rejected"
        await ws.send(comment("m4", "still here"))
        assert json.loads(await ws.recv())["status"] == "accepted"
        assert [c.message_id for c in await take(source, 1)] == ["m4"]
        assert source.health.malformed == 4

    run(ingress_settings, sqlite_engine, scenario)


def test_full_queue_answers_busy_and_the_resend_is_taken_later(
    ingress_settings, sqlite_engine
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        ws = await authed(url)
        statuses = []
        for i in range(4):  # queue holds 3
            await ws.send(comment(f"m{i}", "hi"))
            statuses.append(json.loads(await ws.recv())["status"])
        assert statuses == ["accepted"] * 3 + ["busy"]
        await take(source, 3)
        await ws.send(comment("m3", "hi"))
        assert json.loads(await ws.recv())["status"] == "accepted"

    run(ingress_settings, sqlite_engine, scenario)


def test_health_reports_reconnecting_when_the_last_bridge_leaves(
    ingress_settings, sqlite_engine
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        first, second = await authed(url), await authed(url)
        assert source.connections == 2
        await first.close()
        await asyncio.sleep(0.1)
        assert source.health.state == "connected"
        await second.close()
        for _ in range(50):
            if source.health.state == "reconnecting":
                break
            await asyncio.sleep(0.02)
        assert source.health.state == "reconnecting"

    run(ingress_settings, sqlite_engine, scenario)


def test_token_check_needs_a_configured_nonempty_token() -> None:
    tokens = {"shop": SecretStr(TOKEN), "blank": SecretStr("")}
    assert token_matches(tokens, "shop", TOKEN)
    assert not token_matches(tokens, "shop", TOKEN + "x")
    assert not token_matches(tokens, "blank", "")
    assert not token_matches(tokens, "nope", "")


def test_registry_builds_sources_and_names_missing_settings(ingress_settings) -> None:
    clock = WallClock()
    source = SOURCES["websocket"](SourceContext(ingress_settings, clock, "shop"))
    assert isinstance(source, IngressSource) and source.stream == "shop"
    with pytest.raises(HostError, match="INGRESS_TOKENS"):
        SOURCES["websocket"](SourceContext(ingress_settings, clock, "unknown"))
    with pytest.raises(HostError, match="TWITCH_USER_TOKEN"):
        SOURCES["twitch"](SourceContext(ingress_settings, clock, "shop"))
    with pytest.raises(HostError, match="YOUTUBE_API_KEY"):
        SOURCES["youtube"](SourceContext(ingress_settings, clock, "shop"))
    assert set(SOURCES) >= {"replay", "websocket", "twitch", "twitch-irc", "youtube"}


def limited(settings: Settings, **limits: Any) -> Settings:
    return settings.model_copy(update=limits)


async def refused_at_once(url: str, **connect_args: Any) -> tuple[int, str]:
    """A socket the server closes without being sent anything."""
    async with asyncio.timeout(1.0):
        return await closed_with(await connect(url, **connect_args))


def test_an_idle_unauthenticated_socket_is_closed_after_the_auth_timeout(
    ingress_settings, sqlite_engine
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        code, reason = await closed_with(await connect(f"{url}/shop"))
        assert (code, reason) == (1008, "no auth message within 0.3 s")
        assert 0.25 < loop.time() - started < 2.0

    run(limited(ingress_settings, ingress_auth_timeout_s=0.3), sqlite_engine, scenario)


def test_500_idle_unauthenticated_sockets_are_not_held(ingress_settings, sqlite_engine) -> None:
    """One address may hold as many sockets awaiting auth as its failure budget, no more; a
    bridge from another address still gets in."""

    async def scenario(url: str, source: IngressSource) -> None:
        idle = await asyncio.gather(*(connect(f"{url}/shop") for _ in range(500)))
        outcomes = await asyncio.gather(
            *(asyncio.wait_for(closed_with(ws), 1.0) for ws in idle), return_exceptions=True
        )
        held = [o for o in outcomes if isinstance(o, TimeoutError)]
        refused = [o for o in outcomes if isinstance(o, tuple)]
        assert len(held) == 10 and len(refused) == 490
        assert {code for code, _ in refused} == {1008}
        assert "too many failed authentications" in refused[0][1]
        bridge = await connect(
            f"{url}/shop",
            local_addr=("127.0.0.2", 0),
            additional_headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert json.loads(await bridge.recv())["type"] == "ready"
        await bridge.send(comment("m1", "still served"))
        assert json.loads(await bridge.recv())["status"] == "accepted"
        for ws in [*idle, bridge]:
            await ws.close()

    run(limited(ingress_settings, ingress_auth_failures=10), sqlite_engine, scenario)


def test_failed_tokens_spend_the_address_budget_then_it_is_refused_at_once(
    ingress_settings, sqlite_engine
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        for _ in range(3):
            ws = await connect(f"{url}/shop")
            await ws.send(json.dumps({"type": "auth", "token": "guess"}))
            assert await closed_with(ws) == (1008, "invalid token for this stream")
        right = {"Authorization": f"Bearer {TOKEN}"}
        code, reason = await refused_at_once(f"{url}/shop", additional_headers=right)
        assert code == 1008 and "too many failed authentications" in reason
        assert "retry in" in reason
        other = await connect(f"{url}/shop", local_addr=("127.0.0.2", 0), additional_headers=right)
        assert json.loads(await other.recv())["type"] == "ready"
        await other.close()

    run(limited(ingress_settings, ingress_auth_failures=3), sqlite_engine, scenario)


def test_connections_past_the_total_cap_are_told_to_try_again_later(
    ingress_settings, sqlite_engine
) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        first, second = await authed(url), await authed(url)
        code, reason = await refused_at_once(f"{url}/shop", local_addr=("127.0.0.3", 0))
        assert (code, reason) == (1013, "ingress is at its limit of 2 connections; retry later")
        await first.close()
        await asyncio.sleep(0.1)
        third = await authed(url)
        await second.close()
        await third.close()

    run(limited(ingress_settings, ingress_max_connections=2), sqlite_engine, scenario)


def test_a_stream_takes_at_most_its_bridge_limit(ingress_settings, sqlite_engine) -> None:
    async def scenario(url: str, source: IngressSource) -> None:
        first, second = await authed(url), await authed(url)
        extra = await connect(f"{url}/shop")
        await extra.send(json.dumps({"type": "auth", "token": TOKEN}))
        assert await closed_with(extra) == (1013, "stream 'shop' already has 2 bridges")
        assert source.connections == 2
        await first.close()
        await asyncio.sleep(0.1)
        third = await authed(url)
        await second.close()
        await third.close()

    run(limited(ingress_settings, ingress_max_per_stream=2), sqlite_engine, scenario)
