"""The console's own routes by role, against a real running stream: who may watch and steer
a stream, what a bad request gets, and that every control lands in the changes trail."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
from fastapi.testclient import TestClient
from skimage import data
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.config import Settings
from host.db import models as db
from host.web.app import create_app
from tests.accounts import auth_headers

STREAM = """name: shop
merchant: demo
sources:
  - kind: websocket
    token_env: CONSOLE_API_TOKEN
sinks:
  - kind: mp4
    path: {out}/shop.mp4
pitches:
  idle_s: 600
"""


@pytest.fixture
def client(
    settings: Settings, demo_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("CONSOLE_API_TOKEN", "a-token")
    streams = tmp_path / "streams"
    streams.mkdir()
    (streams / "shop.yaml").write_text(STREAM.format(out=tmp_path))
    small = settings.model_copy(
        update={"streams_dir": streams, "width": 360, "height": 640, "hls_segment_seconds": 1.0}
    )
    with TestClient(create_app(small, demo_engine)) as client:
        yield client


def test_pages_and_policy_by_role(client: TestClient, demo_engine: Engine) -> None:
    admin = auth_headers(demo_engine, "admin")
    other = auth_headers(demo_engine, "merchant", ["elsewhere"])
    marketer = auth_headers(demo_engine, "marketer")
    for path in ("/streams", "/catalog", "/avatars", "/account", "/prompts"):
        assert client.get(path, headers=admin).status_code == 200, path
    assert client.get("/catalog?merchant=demo", headers=other).status_code == 403
    assert client.get("/streams", headers=marketer).status_code == 403
    assert client.get("/avatars", headers=other).status_code == 403
    assert client.get("/static/console/vendor/hls.min.js", headers=admin).status_code == 200

    bad = client.put("/api/merchants/demo/policy", json={"weather": {"en": "sunny"}}, headers=admin)
    assert bad.status_code == 422 and "unknown topic" in bad.json()["detail"]
    policy = {"shipping": {"en": ["Ships in 24 hours."]}}
    assert client.put("/api/merchants/demo/policy", json=policy, headers=other).status_code == 403
    assert client.put("/api/merchants/demo/policy", json=policy, headers=admin).json() == policy
    assert client.get("/api/merchants/demo/policy", headers=admin).json() == policy
    with Session(demo_engine) as s:
        change = s.scalars(select(db.Change).where(db.Change.action == "catalog.policy")).one()
    assert change.target == "merchants/demo/policy" and change.who.startswith("admin")


@pytest.mark.slow
def test_live_controls_by_role_on_a_running_stream(client: TestClient, demo_engine: Engine) -> None:
    own = auth_headers(demo_engine, "merchant", ["demo"], name="mia")
    other = auth_headers(demo_engine, "merchant", ["elsewhere"])
    marketer = auth_headers(demo_engine, "marketer")
    assert client.post("/api/streams", json={"file": "shop.yaml"}, headers=own).status_code == 202
    feed = _on_air(client, own)
    assert feed["controls"]["paused"] is False and feed["product"]["sku"] == feed["lineup"][0]

    for path in ("/api/streams/shop/live", "/streams/shop/live", "/streams/shop/hls/index.m3u8"):
        assert client.get(path, headers=other).status_code == 404, path
        assert client.get(path, headers=marketer).status_code == 403, path
    assert client.post("/api/streams/shop/pause", headers=other).status_code == 404
    assert client.post("/api/streams/shop/pause", headers=marketer).status_code == 403

    assert client.post("/api/streams/shop/pause", headers=own).json()["paused"] is True
    empty = client.post("/api/streams/shop/say", json={"text": "  "}, headers=own)
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    wrong = "The down jacket is only 9 yuan!"  # not its price: the guard stops it
    said = client.post("/api/streams/shop/say", json={"text": wrong}, headers=own)
    assert said.status_code == 200  # taken: said next, or stopped
    stopped = _until(client, own, lambda feed: feed["stopped"])
    assert stopped["stopped"][0]["text"] == wrong
    assert "not in catalog" in " ".join(stopped["stopped"][0]["violations"])
    gone = client.post("/api/streams/shop/pending/7", json={"choice": "approve"}, headers=own)
    assert gone.status_code == 404
    blocked = client.post("/api/streams/shop/block", json={"viewer": "troll"}, headers=own)
    assert blocked.json()["blocked"] == ["troll"]
    rules = {"rules": [{"keyword": "refund", "line": "See the shop's after-sales page."}]}
    assert client.put("/api/streams/shop/rules", json=rules, headers=own).status_code == 200
    missing = client.post("/api/streams/shop/product", json={"sku": "NOPE"}, headers=own)
    assert missing.status_code == 404
    second = feed["lineup"][1]
    moved = client.post("/api/streams/shop/product", json={"sku": second}, headers=own)
    assert moved.json()["product"]["sku"] == second
    lineup = client.put(
        "/api/streams/shop/lineup", json={"skus": ["LH-003", "LH-001"]}, headers=own
    )
    assert [p["link"] for p in lineup.json()["lineup"]] == [1, 2]
    bad_lineup = client.put("/api/streams/shop/lineup", json={"skus": ["NOPE"]}, headers=own)
    assert bad_lineup.status_code == 404
    assert client.get("/streams/shop/hls/../../etc", headers=own).status_code == 404
    playlist = _playlist(client, own)
    assert playlist.startswith("#EXTM3U")

    with Session(demo_engine) as s:
        trail = [
            (c.who, c.action)
            for c in s.scalars(select(db.Change).order_by(db.Change.id))
            if c.target == "merchants/demo/streams/shop"
        ]
    assert trail == [
        ("mia", "stream.start"),
        ("mia", "live.pause"),
        ("mia", "live.say"),
        ("mia", "live.block"),
        ("mia", "live.rules"),
        ("mia", "live.product"),
        ("mia", "lineup.set"),
    ]
    client.post("/api/streams/shop/stop", headers=own)


def _until(client: TestClient, headers: dict[str, str], check: Callable[[dict], Any]) -> dict:
    for _ in range(300):
        feed = client.get("/api/streams/shop/live", headers=headers).json()
        if check(feed):
            return feed
        time.sleep(0.1)
    raise AssertionError(f"never: {feed}")


def _on_air(client: TestClient, headers: dict[str, str]) -> dict:
    for _ in range(600):
        feed = client.get("/api/streams/shop/live", headers=headers).json()
        if feed["running"]:
            return feed
        assert feed["status"]["state"] == "starting", feed
        time.sleep(0.1)
    raise AssertionError(f"never on air: {feed}")


def _playlist(client: TestClient, headers: dict[str, str]) -> str:
    for _ in range(300):
        response = client.get("/streams/shop/hls/index.m3u8", headers=headers)
        if response.status_code == 200:
            return response.text
        time.sleep(0.1)
    raise AssertionError("the preview playlist never appeared")


def test_avatar_from_an_upload_needs_consent_and_a_test_line_is_spoken(
    client: TestClient, demo_engine: Engine, tmp_path: Path
) -> None:
    admin = auth_headers(demo_engine, "admin")
    ok, png = cv2.imencode(".png", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    upload = {"media": ("astronaut.png", png.tobytes(), "image/png")}
    refused = client.post(
        "/api/avatars", files=upload, data={"name": "eileen", "consent": " "}, headers=admin
    )
    assert refused.status_code == 422 and "consent" in refused.json()["detail"]
    consent = "public-domain NASA portrait, test fixture"
    made = client.post(
        "/api/avatars", files=upload, data={"name": "eileen", "consent": consent}, headers=admin
    )
    assert made.status_code == 201, made.text
    page = client.get("/avatars", headers=admin)
    assert "eileen" in page.text and consent in page.text
    image = client.get("/avatars/eileen/image.png", headers=admin)
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    with Session(demo_engine) as s:
        change = s.scalars(select(db.Change).where(db.Change.action == "avatar.create")).one()
    assert change.target == "avatars/eileen" and change.detail["consent"] == consent

    wav = client.post("/api/voices/preview", json={"text": "Welcome to the stream!"}, headers=admin)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    assert len(wav.content) > 22050  # about a second of 16-bit speech, not an empty file


def test_a_test_line_in_a_voice_not_set_up_says_why(
    settings: Settings, demo_engine: Engine
) -> None:
    broken = settings.model_copy(update={"voice_zh": "piper"})
    with TestClient(create_app(broken, demo_engine)) as client:
        said = client.post(
            "/api/voices/preview",
            json={"text": "欢迎来到直播间"},
            headers=auth_headers(demo_engine, "admin"),
        )
    assert said.status_code == 422
    assert said.json()["detail"].startswith("VOICE_ZH=piper needs PIPER_MODEL_ZH")
