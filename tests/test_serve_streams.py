"""`host serve` starts streams from stream files, hands ingress comments to the session of
their stream, reports and stops them: a real uvicorn, real HTTP and websockets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from websockets.asyncio.client import connect

from host.changes import list_changes
from host.config import Settings
from host.db import models as db
from host.web.app import create_app
from tests.accounts import auth_headers
from tests.platform_doubles.uvicorn_server import serving

pytestmark = pytest.mark.slow

STREAM = """name: {name}
merchant: demo
sources:
  - kind: websocket
    token_env: {token_env}
sinks:
  - kind: mp4
    path: {out}/{name}.mp4
pitches:
  idle_s: 0
"""


async def wait_for(client: httpx.AsyncClient, name: str, state: str) -> dict:
    for _ in range(600):
        status = (await client.get(f"/api/streams/{name}")).json()
        if status["state"] == state:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} never {state}: {status}")


async def ask(port: int, stream: str, token: str, comment: dict) -> str:
    async with connect(
        f"ws://127.0.0.1:{port}/ws/ingress/{stream}",
        additional_headers={"Authorization": f"Bearer {token}"},
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(json.dumps({"type": "comment", **comment}))
        return str(json.loads(await ws.recv())["status"])


def test_serve_starts_two_streams_and_each_answers_its_own_ingress(
    settings: Settings, demo_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    streams = tmp_path / "streams"
    streams.mkdir()
    for name in ("north", "south"):
        (streams / f"{name}.yaml").write_text(
            STREAM.format(name=name, token_env=f"{name.upper()}_TOKEN", out=tmp_path)
        )
        monkeypatch.setenv(f"{name.upper()}_TOKEN", f"token-{name}")
    small = settings.model_copy(update={"streams_dir": streams, "width": 360, "height": 640})
    merchant = auth_headers(demo_engine, "merchant", ["demo"], name="shop")  # both are demo's

    async def scenario() -> tuple[dict, dict]:
        app = create_app(small, demo_engine)
        url = "http://127.0.0.1:{port}"
        async with (
            serving(app) as port,
            httpx.AsyncClient(base_url=url.format(port=port), headers=merchant) as client,
        ):
            refused = await client.post("/api/streams", json={"file": "../etc/passwd"})
            assert refused.status_code == 422
            missing = await client.post("/api/streams", json={"file": "nope.yaml"})
            assert missing.status_code == 404
            for name in ("north", "south"):
                started = await client.post("/api/streams", json={"file": f"{name}.yaml"})
                assert started.status_code == 202, started.text
                await wait_for(client, name, "on air")
            again = await client.post("/api/streams", json={"file": "north.yaml"})
            assert again.status_code == 422 and "already running" in again.text
            question = {"id": "n1", "user": "Tom", "text": "How much is the down jacket?"}
            assert await ask(port, "north", "token-north", question) == "accepted"
            question = {"id": "s1", "user": "阿强", "text": "3号多少钱"}
            assert await ask(port, "south", "token-south", question) == "accepted"
            for _ in range(300):
                listed = (await client.get("/api/streams")).json()
                if all(s["replies"] >= 1 for s in listed):
                    break
                await asyncio.sleep(0.1)
            assert [s["replies"] for s in listed] == [1, 1], listed
            health = (await client.get("/health")).json()
            assert health["status"] == "ok" and set(health["streams"]) == {"north", "south"}
            spoken = 'livehost_replies_total{backend="catalog",stream="north"} 1.0'
            for _ in range(300):  # counted once the reply has been spoken
                if spoken in (metrics := (await client.get("/metrics")).text):
                    break
                await asyncio.sleep(0.1)
            assert spoken in metrics
            for name in ("north", "south"):
                assert (await client.post(f"/api/streams/{name}/stop")).status_code == 202
            north = await wait_for(client, "north", "ended")
            south = await wait_for(client, "south", "ended")
            return north, south

    north, south = asyncio.run(scenario())
    assert north["comments"] == 1 and south["comments"] == 1
    with Session(demo_engine) as s:
        rows = {r.name: r for r in s.scalars(select(db.StreamSession))}
        assert {rows["north"].status, rows["south"].status} == {"ended"}
        replies = {
            s.get(db.StreamSession, r.session_id).name: r.text  # type: ignore[union-attr]
            for r in s.scalars(select(db.ReplyRecord))
            if r.comment_id is not None
        }
    assert "399" in replies["north"] and "499" in replies["south"]
    trail = [(c.who, c.action, c.target) for c in reversed(list_changes(demo_engine))]
    assert trail == [
        ("shop", "stream.start", "merchants/demo/streams/north"),
        ("shop", "stream.start", "merchants/demo/streams/south"),
        ("shop", "stream.stop", "merchants/demo/streams/north"),
        ("shop", "stream.stop", "merchants/demo/streams/south"),
    ]
