"""Twitch EventSub and IRC sources against local doubles that speak Twitch's documented frames."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from pydantic import SecretStr
from websockets.asyncio.server import ServerConnection

from host.chat.sources import Backoff
from host.chat.sources.twitch import TwitchEventSubSource, TwitchIrcSource, parse_irc
from host.stream.clock import WallClock
from tests.platform_doubles import take, twitch
from tests.platform_doubles.twitch import EventSubSession, Helix, WebSocketDouble

FAST = Backoff(base=0.01, cap=0.05)


def eventsub(double: WebSocketDouble, helix: Helix) -> TwitchEventSubSource:
    return TwitchEventSubSource(
        clock=WallClock(),
        client_id="hof5gwx0su6owfnys0yan9c87zr6t",
        token=SecretStr("cfabdegwdoklmawdzdo98xt2fo512y"),
        broadcaster_id="1971641",
        user_id="2914196",
        eventsub_url=f"{double.url}/ws",
        helix_url=helix.url,
        keepalive_s=10,
        backoff=FAST,
    )


async def subscribed(helix: Helix, count: int = 1) -> None:
    while len(helix.requests) < count:
        await asyncio.sleep(0.01)


async def hold(ws: ServerConnection) -> None:
    await ws.wait_closed()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_eventsub_subscribes_for_its_session_and_yields_chat_messages() -> None:
    helix = Helix()

    async def room(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome())
        await subscribed(helix)
        await ws.send(twitch.keepalive())
        await ws.send(twitch.chat_message("m1", "how much is the jacket?", meta_id="n1"))
        await ws.send(twitch.chat_message("m1", "how much is the jacket?", meta_id="n1"))
        await ws.send("this is not json")
        await ws.send("{}")
        await ws.send(twitch.chat_message("m2", "take my bits", bits=100))
        await hold(ws)

    async def scenario() -> None:
        async with WebSocketDouble([room]) as double:
            source = eventsub(double, helix)
            first, second = await take(source, 2)
            assert (first.platform, first.room, first.message_id) == ("twitch", "streamer", "m1")
            assert (first.user_id, first.user_name) == ("4145994", "viewer32")
            assert first.text == "how much is the jacket?" and first.kind == "chat"
            assert second.kind == "gift" and second.amount == Decimal(100)
            assert second.currency == "bits"
            h = source.health
            assert (h.state, h.duplicates, h.malformed, h.received) == ("connected", 1, 2, 2)

    with helix:
        run(scenario)
    headers, body = helix.requests[0]
    assert headers["Authorization"] == "Bearer cfabdegwdoklmawdzdo98xt2fo512y"
    assert headers["Client-Id"] == "hof5gwx0su6owfnys0yan9c87zr6t"
    assert body == {
        "type": "channel.chat.message",
        "version": "1",
        "condition": {"broadcaster_user_id": "1971641", "user_id": "2914196"},
        "transport": {"method": "websocket", "session_id": twitch.SESSION_ID},
    }


def test_eventsub_reconnects_and_resubscribes_after_a_dropped_connection() -> None:
    helix = Helix()

    async def drops(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome("S1"))
        await subscribed(helix, 1)
        await ws.send(twitch.chat_message("m1", "first"))
        await ws.close(1011, "internal error")

    async def second(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome("S2"))
        await subscribed(helix, 2)
        await ws.send(twitch.chat_message("m1", "first"))  # resent after the drop
        await ws.send(twitch.chat_message("m2", "second"))
        await hold(ws)

    async def scenario() -> None:
        async with WebSocketDouble([drops, second]) as double:
            source = eventsub(double, helix)
            assert [c.message_id for c in await take(source, 2)] == ["m1", "m2"]
            assert source.health.reconnects == 1 and source.health.state == "connected"

    with helix:
        run(scenario)
    sessions = [body["transport"]["session_id"] for _, body in helix.requests]
    assert sessions == ["S1", "S2"]


def test_eventsub_silence_past_the_keepalive_timeout_means_reconnect() -> None:
    helix = Helix()

    async def goes_silent(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome("S1", keepalive=1))
        await hold(ws)

    async def healthy(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome("S2", keepalive=10))
        await subscribed(helix, 2)
        await ws.send(twitch.chat_message("m1", "after the silence"))
        await hold(ws)

    async def scenario() -> None:
        async with WebSocketDouble([goes_silent, healthy]) as double:
            source = eventsub(double, helix)
            assert [c.text for c in await take(source, 1)] == ["after the silence"]
            assert "keepalive" in (source.health.last_error or "")
            assert double.events[:2] == ["open 0", "close 0"]

    with helix:
        run(scenario)


def test_eventsub_session_reconnect_closes_the_old_socket_only_after_the_new_welcome() -> None:
    helix = Helix()
    order: list[str] = []

    async def asks_to_move(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome("S1"))
        await subscribed(helix)
        await ws.send(twitch.chat_message("m1", "before the move"))
        port = ws.local_address[1]
        await ws.send(twitch.session_reconnect(f"ws://127.0.0.1:{port}/reconnect?id=S1"))
        await hold(ws)
        order.append("old closed")

    async def new_home(ws: ServerConnection) -> None:
        assert ws.request is not None and ws.request.path.startswith("/reconnect")
        order.append("new welcome")
        await ws.send(twitch.welcome("S1"))
        await asyncio.sleep(0.05)
        await ws.send(twitch.chat_message("m2", "after the move"))
        await hold(ws)

    async def scenario() -> None:
        async with WebSocketDouble([asks_to_move, new_home]) as double:
            source = eventsub(double, helix)
            assert [c.text for c in await take(source, 2)] == [
                "before the move",
                "after the move",
            ]
            assert order == ["new welcome", "old closed"]
            assert source.health.state == "connected" and source.health.reconnects == 1

    with helix:
        run(scenario)
    assert len(helix.requests) == 1  # subscriptions move with the session: no resubscribe


def test_eventsub_session_reconnect_loses_no_message_and_repeats_none() -> None:
    """Twitch keeps delivering on the old socket until the new one has welcomed the client,
    then resends the last notification there: every comment arrives once, in order."""
    helix = Helix()
    session = EventSubSession()
    total = 40

    async def old_home(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome())
        session.start(ws)
        await hold(ws)

    async def new_home(ws: ServerConnection) -> None:
        await asyncio.sleep(0.2)  # the welcome takes a while; the old socket keeps delivering
        await session.welcome_new(ws)
        await hold(ws)

    async def feed(reconnect_url: str) -> None:
        await subscribed(helix)
        for n in range(total):
            if n == 5:
                await session.ask_to_move(reconnect_url)
            await session.deliver(f"m{n}", f"comment {n}")
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        async with WebSocketDouble([old_home, new_home]) as double:
            source = eventsub(double, helix)
            feeding = asyncio.create_task(feed(f"{double.url}/reconnect?id=S1"))
            got = await take(source, total, close=True)
            await feeding
        assert session.moved.is_set()
        assert [c.message_id for c in got] == session.sent == [f"m{n}" for n in range(total)]
        assert source.health.duplicates == 1 and source.health.reconnects == 1

    with helix:
        run(scenario)
    assert len(helix.requests) == 1


def test_eventsub_revocation_marks_the_source_failed_and_ends_it() -> None:
    helix = Helix()

    async def revokes(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome())
        await subscribed(helix)
        await ws.send(twitch.revocation())
        await hold(ws)

    async def scenario() -> None:
        async with WebSocketDouble([revokes]) as double:
            source = eventsub(double, helix)
            assert [c async for c in source] == []
            assert source.health.state == "failed"
            assert "authorization_revoked" in (source.health.last_error or "")

    with helix:
        run(scenario)


def test_eventsub_rejected_token_fails_with_helix_reason_without_retrying() -> None:
    helix = Helix(status=401)

    async def room(ws: ServerConnection) -> None:
        await ws.send(twitch.welcome())
        await hold(ws)

    async def scenario() -> None:
        async with WebSocketDouble([room]) as double:
            source = eventsub(double, helix)
            assert [c async for c in source] == []
            assert source.health.state == "failed"
            assert "401" in (source.health.last_error or "")
            assert "Invalid OAuth token" in (source.health.last_error or "")

    with helix:
        run(scenario)
    assert len(helix.requests) == 1


def irc(double: WebSocketDouble) -> TwitchIrcSource:
    return TwitchIrcSource(clock=WallClock(), channel="#Streamer", irc_url=double.url, backoff=FAST)


def test_irc_joins_anonymously_answers_ping_and_reads_tagged_privmsg() -> None:
    sent: list[str] = []

    async def room(ws: ServerConnection) -> None:
        sent.extend([str(await ws.recv()) for _ in range(4)])
        await ws.send(":tmi.twitch.tv 001 justinfan12345 :Welcome, GLHF!")
        await ws.send(
            twitch.privmsg("b34ccfc7-4977-403a-8a94-33c6bac34fb8", "how much?")
            + "\r\nPING :tmi.twitch.tv\r\n"
            + twitch.privmsg("b34ccfc7-4977-403a-8a94-33c6bac34fb8", "how much?")
        )
        sent.append(str(await ws.recv()))
        await ws.send("@garbage-without-a-command")
        await ws.send(twitch.privmsg("c2", "cheer100 thanks", bits=100))
        await hold(ws)

    async def scenario() -> None:
        async with WebSocketDouble([room]) as double:
            source = irc(double)
            first, second = await take(source, 2)
            assert (first.user_name, first.user_id, first.text) == ("Ronni B", "1337", "how much?")
            assert first.room == "streamer" and first.kind == "chat"
            assert second.kind == "gift" and second.amount == Decimal(100)
            h = source.health
            assert (h.state, h.duplicates, h.malformed) == ("connected", 1, 1)

    run(scenario)
    assert sent[0] == "CAP REQ :twitch.tv/tags twitch.tv/commands"
    assert "NICK justinfan12345" in sent and "JOIN #streamer" in sent
    assert sent[4] == "PONG :tmi.twitch.tv"


def test_irc_reconnect_command_opens_a_new_connection() -> None:
    async def asks_to_reconnect(ws: ServerConnection) -> None:
        await ws.send(twitch.privmsg("m1", "first"))
        await ws.send(":tmi.twitch.tv RECONNECT")
        await hold(ws)

    async def second(ws: ServerConnection) -> None:
        await ws.send(twitch.privmsg("m2", "second"))
        await hold(ws)

    async def scenario() -> None:
        async with WebSocketDouble([asks_to_reconnect, second]) as double:
            source = irc(double)
            assert [c.text for c in await take(source, 2)] == ["first", "second"]
            assert source.health.reconnects == 1 and len(double.connections) == 2

    run(scenario)


def test_irc_tags_are_unescaped() -> None:
    tags, prefix, command, params = parse_irc(
        r"@display-name=a\sb;msg=x\:y\\z :u!u@u PRIVMSG #c :hi there"
    )
    assert tags == {"display-name": "a b", "msg": "x;y\\z"}
    assert (prefix, command, params) == ("u!u@u", "PRIVMSG", ["#c", "hi there"])
