"""A price changed during a stream is the price the host quotes next, in and across processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from host.catalog.store import DbCatalog
from host.chat.events import Comment
from host.chat.replay import parse_line
from host.config import Settings
from host.demo import run_demo
from host.stream.clock import Clock
from host.web.app import create_app
from tests.accounts import auth_headers

PRICE_CHANGE_AT = 8.0  # session seconds: after the first answer, before the second question


@pytest.fixture
def admin(demo_engine: Engine) -> dict[str, str]:
    return auth_headers(demo_engine, name="ops")


@pytest.fixture
def api_url(settings: Settings, demo_engine: Engine) -> Iterator[str]:
    """The console's API served by uvicorn on a real 127.0.0.1 socket, in a thread."""
    config = uvicorn.Config(
        create_app(settings, demo_engine), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.mark.slow
def test_price_changed_through_the_api_mid_stream_is_quoted_next(
    settings: Settings, demo_engine: Engine, api_url: str, admin: dict[str, str], tmp_path: Path
) -> None:
    def source(clock: Clock) -> AsyncIterator[Comment]:
        async def comments() -> AsyncIterator[Comment]:
            await clock.sleep_until(1.0)
            yield comment(1, "Tom", "How much is the down jacket?", clock.now())
            await clock.sleep_until(PRICE_CHANGE_AT)
            # A blocking call from the session's loop: the program clock cannot move on
            # until the operator's change is committed, so the order is certain.
            response = httpx.patch(
                f"{api_url}/api/merchants/demo/products/LH-001",
                json={"price": "359"},
                headers=admin,
            )
            assert response.status_code == 200, response.text
            await clock.sleep_until(PRICE_CHANGE_AT + 1)
            yield comment(2, "Amy", "what's the price of the down jacket now?", clock.now())

        return comments()

    small = settings.model_copy(update={"width": 360, "height": 640})
    result = asyncio.run(
        run_demo(small, tmp_path / "out", duration=20, realtime=False, source=source)
    )

    replies = {r.message_id: r for r in result.records}
    assert replies["c1"].skus == ["LH-001"] and "399" in replies["c1"].reply
    assert replies["c2"].skus == ["LH-001"] and "359" in replies["c2"].reply
    assert "399" not in replies["c2"].reply


def test_price_set_by_another_process_is_read_within_a_second(
    settings: Settings, demo_catalog: DbCatalog
) -> None:
    assert demo_catalog.search("down jacket")[0].product.price == Decimal("399.00")  # warm index
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    host = Path(sys.executable).with_name("host")
    done = subprocess.run(
        [str(host), "catalog", "set-price", "LH-001", "¥359", "--merchant", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    exited = time.monotonic()
    while (jacket := demo_catalog.get("LH-001")) is not None and jacket.price != Decimal("359"):
        assert time.monotonic() - exited < 1.0, "stale price after one second"
        time.sleep(0.02)
    assert demo_catalog.search("down jacket")[0].product.price == Decimal("359.00")
    assert demo_catalog.lineup()[0].price == Decimal("359.00")


def comment(n: int, user: str, text: str, t: float) -> Comment:
    line = json.dumps({"t": t, "user": user, "text": text, "id": f"c{n}"})
    return parse_line(line, n, "api", "demo")
