"""The Douyin live data webhook, served by uvicorn on 127.0.0.1 and pushed to over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, MutableMapping
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine

from host.chat.sources import DedupeFull, WindowDeduper
from host.chat.sources.douyin import DouyinHub, douyin_signature
from host.config import Settings
from host.web.app import create_app
from host.web.routes.douyin import douyin_source
from tests.platform_doubles.douyin import comment, fansclub, gift, like, push, signed
from tests.platform_doubles.uvicorn_server import serving

pytestmark = pytest.mark.timeout(30)
SECRET = "douyin-s3cret"
Scenario = Callable[[httpx.AsyncClient, str, Any], Coroutine[Any, Any, None]]


def run(settings: Settings, scenario: Scenario, secret: str | None = SECRET) -> None:
    configured = settings.model_copy(
        update={"douyin_webhook_secret": SecretStr(secret) if secret else None}
    )
    app = create_app(configured, create_engine("sqlite://"))

    async def main() -> None:
        async with serving(app) as port, httpx.AsyncClient(timeout=5) as http:
            await scenario(http, f"http://127.0.0.1:{port}/webhooks/douyin", app)

    asyncio.run(asyncio.wait_for(main(), 20))


def test_signed_pushes_become_comments_of_every_kind(settings: Settings) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        for msg_type, messages in [
            (
                "live_comment",
                [comment("c1", "o1", "Lily", "多少钱"), comment("c2", "o2", "Wang", "有S码吗")],
            ),
            ("live_gift", [gift("g1", "o3", "Zhao", "n1/Dg", 3, 300)]),
            ("live_like", [like("l1", "o4", "Li", 12)]),
            ("live_fansclub", [fansclub("f1", "o5", "Chen")]),
        ]:
            response = await push(http, url, msg_type, messages, SECRET)
            assert response.status_code == 200, response.text
        stream = aiter(douyin_source(app))
        got = [await asyncio.wait_for(anext(stream), 5) for _ in range(5)]
        assert [(c.kind, c.user_name, c.text) for c in got] == [
            ("chat", "Lily", "多少钱"),
            ("chat", "Wang", "有S码吗"),
            ("gift", "Zhao", "n1/Dg x3"),
            ("like", "Li", "x12"),
            ("follow", "Chen", ""),
        ]
        assert (got[2].amount, got[2].currency) == (Decimal(3), "CNY")
        assert {c.platform for c in got} == {"douyin"}
        assert got[0].room == "7300000000000000000" and got[0].user_id == "o1"
        assert all(c.ts > 0 for c in got)  # stamped when the session reads them

    run(settings, scenario)


def test_retried_pushes_are_answered_but_not_queued_twice(settings: Settings) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        first = await push(http, url, "live_comment", [comment("c1", "o1", "Lily", "hi")], SECRET)
        again = await push(http, url, "live_comment", [comment("c1", "o1", "Lily", "hi")], SECRET)
        assert (first.status_code, again.status_code) == (200, 200)
        assert (first.json()["accepted"], again.json()["accepted"]) == (1, 0)
        assert douyin_source(app).health.duplicates == 1

    run(settings, scenario)


@pytest.mark.parametrize(
    ("body", "signature", "status"),
    [
        (b'[{"msg_id":"c1","sec_openid":"o","content":"hi"}]', "d3Jvbmc=", 401),
        (b'[{"msg_id":"c1","sec_openid":"o","content":"hi"}]', "", 401),
        (b"{not json", None, 400),
        (b'{"msg_id":"c1"}', None, 400),  # an object, not an array
        (b"[]", None, 400),
        (b'[{"msg_id":"c1","sec_openid":"o"}]', None, 400),  # no content
        (b'[{"msg_id":1,"sec_openid":"o","content":"hi"}]', None, 400),  # id not a string
    ],
)
def test_bad_pushes_are_refused_and_enqueue_nothing(
    settings: Settings, body: bytes, signature: str | None, status: int
) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        response = await push(http, url, "live_comment", body, SECRET, signature=signature)
        assert response.status_code == status
        assert douyin_source(app).health.received == 0

    run(settings, scenario)


def test_a_gift_push_with_a_bad_value_enqueues_nothing_of_the_batch(settings: Settings) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        batch = [gift("g1", "o1", "A", "x", 1, 100), gift("g2", "o2", "B", "x", 1, "lots")]  # type: ignore[arg-type]
        response = await push(http, url, "live_gift", batch, SECRET)
        assert response.status_code == 400
        unknown = await push(http, url, "live_shout", [comment("c", "o", "A", "hi")], SECRET)
        assert unknown.status_code == 400
        assert douyin_source(app).health.received == 0

    run(settings, scenario)


@pytest.mark.parametrize(
    ("age_s", "why"),
    [
        (time.time(), "stamped 1970"),
        (301.0, "older than the window"),
        (-301.0, "ahead of the window"),
    ],
)
def test_a_push_stamped_outside_the_skew_window_is_refused_and_enqueues_nothing(
    settings: Settings, age_s: float, why: str
) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        messages = [comment("c1", "o1", "Lily", "hi")]
        response = await push(
            http, url, "live_comment", messages, SECRET, sent_at=time.time() - age_s
        )
        assert response.status_code == 401, why
        detail = response.json()["detail"]
        assert "x-timestamp" in detail and "DOUYIN_MAX_SKEW_S=300" in detail
        assert douyin_source(app).health.received == 0

    run(settings, scenario)


@pytest.mark.parametrize("stamp", ["", "yesterday", "1.7e12", "-5"])
def test_a_push_without_a_millisecond_timestamp_is_refused(settings: Settings, stamp: str) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        headers, raw = signed("live_comment", [comment("c1", "o1", "A", "hi")], SECRET)
        headers["x-timestamp"] = stamp
        headers["x-signature"] = douyin_signature(headers, raw, SECRET)
        response = await http.post(url, content=raw, headers=headers)
        assert response.status_code == 400 and "x-timestamp" in response.json()["detail"]
        assert douyin_source(app).health.received == 0

    run(settings, scenario)


def test_a_push_inside_the_window_is_accepted_even_if_late(settings: Settings) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        late = [comment("c1", "o1", "Lily", "hi")]
        response = await push(http, url, "live_comment", late, SECRET, sent_at=time.time() - 250)
        assert response.status_code == 200 and response.json()["accepted"] == 1

    run(settings, scenario)


def test_a_replayed_push_is_refused_however_many_ids_came_between(settings: Settings) -> None:
    """A count-bounded memory forgets an id after N newer ones; a replay must not get in then."""

    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        app.state.douyin = DouyinHub(queue_size=20_000)  # the session keeps up
        headers, raw = signed("live_comment", [comment("c0", "o0", "Lily", "hi")], SECRET)
        assert (await http.post(url, content=raw, headers=headers)).json()["accepted"] == 1
        for start in range(1, 12_000, 500):
            batch = [comment(f"c{n}", f"o{n}", "A", "x") for n in range(start, start + 500)]
            response = await push(http, url, "live_comment", batch, SECRET)
            assert response.json()["accepted"] == 500
        replay = await http.post(url, content=raw, headers=headers)
        assert replay.status_code == 200 and replay.json()["accepted"] == 0
        assert douyin_source(app).health.duplicates == 1

    run(settings, scenario)


def test_ids_are_remembered_for_the_window_and_forgotten_after() -> None:
    dedupe = WindowDeduper(max_ids=3)
    assert not dedupe.seen("a", now=0.0, until=10.0)
    assert dedupe.seen("a", now=9.9, until=19.9)
    assert not dedupe.seen("a", now=10.1, until=20.1)  # past its window: a new push, not a replay
    assert not dedupe.seen("b", now=11.0, until=21.0)
    assert not dedupe.seen("c", now=11.0, until=21.0)
    with pytest.raises(DedupeFull):
        dedupe.seen("d", now=12.0, until=22.0)
    assert not dedupe.seen("d", now=20.5, until=30.5)  # "a" has expired and made room
    assert len(dedupe) == 3


def test_an_oversize_body_is_refused_before_it_is_read_in_full(settings: Settings) -> None:
    """Called through ASGI directly, to count how much of a 64 MiB chunked body the app reads."""
    app = create_app(
        settings.model_copy(update={"douyin_webhook_secret": SecretStr(SECRET)}),
        create_engine("sqlite://"),
    )
    headers, _ = signed("live_comment", b"[]", SECRET)
    reads: list[int] = []
    answers: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        reads.append(1)
        return {"type": "http.request", "body": b" " * 65_536, "more_body": len(reads) < 1024}

    async def send(message: MutableMapping[str, Any]) -> None:
        answers.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/webhooks/douyin", "raw_path": b"/webhooks/douyin",
        "root_path": "", "query_string": b"", "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert answers[0]["status"] == 413
    assert len(reads) <= 17  # 1 MiB and one chunk more, not 64 MiB


def test_without_a_secret_the_webhook_refuses_everything(settings: Settings) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        response = await push(http, url, "live_comment", [comment("c1", "o1", "A", "hi")], "x")
        assert response.status_code == 503

    run(settings, scenario, secret=None)


def test_a_full_queue_drops_and_counts_instead_of_holding(settings: Settings) -> None:
    async def scenario(http: httpx.AsyncClient, url: str, app: Any) -> None:
        app.state.douyin = DouyinHub(queue_size=2)
        messages = [comment(f"c{n}", f"o{n}", "A", "hi") for n in range(5)]
        response = await push(http, url, "live_comment", messages, SECRET)
        assert response.status_code == 200 and response.json()["accepted"] == 2
        assert douyin_source(app).overflow == 3

    run(settings, scenario)


def test_signature_matches_the_platforms_documented_example() -> None:
    """The open platform's own worked example (headers, body "abc123你好", secret "123abc")."""
    headers = {
        "x-nonce-str": "123456",
        "x-timestamp": "456789",
        "x-roomid": "268",
        "x-msg-type": "user_group",
    }
    body = "abc123你好".encode()
    assert douyin_signature(headers, body, "123abc") == "GAkalGmhzqlUGQO/TgvMug=="
