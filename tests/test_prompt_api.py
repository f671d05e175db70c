"""`/api/prompts`: the console's Prompts page calls, with roles, validation and the playground."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from host.changes import list_changes
from host.config import Settings
from host.db.migrate import upgrade_engine
from host.web.app import create_app
from tests.accounts import auth_headers


@pytest.fixture
def app_engine(demo_engine: Engine) -> Engine:
    upgrade_engine(demo_engine)
    return demo_engine


def client(settings: Settings, engine: Engine, role: str) -> TestClient:
    merchants = ("demo",) if role == "merchant" else ()
    return TestClient(create_app(settings, engine), headers=auth_headers(engine, role, merchants))


def test_a_marketer_edits_diffs_and_deploys(settings: Settings, app_engine: Engine) -> None:
    api = client(settings, app_engine, "marketer")
    listing = api.get("/api/prompts").json()
    assert {"ref": "pitch/zh", "labels": {"production": 1, "staging": 1}}.items() <= {
        k: v for k, v in next(i for i in listing if i["ref"] == "pitch/zh").items()
    }.items()
    body = api.get("/api/prompts/pitch/zh/versions/production").json()["body"]
    saved = api.post(
        "/api/prompts/pitch/zh/versions",
        json={"body": body.replace("来啦！", "上车啦！"), "note": "warmer"},
    )
    assert saved.status_code == 201, saved.text
    assert (saved.json()["number"], saved.json()["parent"]) == (2, 1)
    diff = api.get("/api/prompts/pitch/zh/diff", params={"a": "production", "b": "2"}).json()
    assert '+    - "{家人们|宝宝们|老铁们}看过来，{link}号链接{name}上车啦！"' in diff["diff"]
    moved = api.put("/api/prompts/pitch/zh/labels/production", json={"version": 2})
    assert moved.json() == {"ref": "pitch/zh", "label": "production", "version": 2, "previous": 1}
    trail = list_changes(app_engine, target_prefix="prompts/")
    assert [c.action for c in trail] == ["prompt.label", "prompt.save"]
    assert trail[0].detail == {"label": "production", "version": 2, "from": 1}


def test_a_failing_version_is_a_422_listing_every_problem(
    settings: Settings, app_engine: Engine
) -> None:
    api = client(settings, app_engine, "marketer")
    body = api.get("/api/prompts/pitch/zh/versions/production").json()["body"]
    bad = body.replace("来啦！", "全网第一，加微信！").replace("{price}", "399元")
    response = api.post("/api/prompts/pitch/zh/versions", json={"body": bad})
    assert response.status_code == 422
    problems = " ".join(response.json()["detail"]["problems"])
    assert "typed number" in problems
    assert len(api.get("/api/prompts/pitch/zh/versions").json()) == 1


def test_an_operator_moves_staging_but_not_production(
    settings: Settings, app_engine: Engine
) -> None:
    api = client(settings, app_engine, "operator")
    body = api.get("/api/prompts/faq/any/versions/1").json()["body"]
    assert api.post("/api/prompts/faq/any/versions", json={"body": body + "\n"}).status_code == 201
    refused = api.put("/api/prompts/faq/any/labels/production", json={"version": 2})
    assert refused.status_code == 403
    assert api.put("/api/prompts/faq/any/labels/staging", json={"version": 2}).status_code == 200


def test_merchants_and_anonymous_callers_are_kept_out(
    settings: Settings, app_engine: Engine
) -> None:
    assert client(settings, app_engine, "merchant").get("/api/prompts").status_code == 403
    anonymous = TestClient(create_app(settings, app_engine))
    assert anonymous.get("/api/prompts").status_code == 401


def test_the_playground_answers_with_a_label(settings: Settings, app_engine: Engine) -> None:
    api = client(settings, app_engine, "marketer")
    answer = api.post("/api/prompts/playground", json={"comment": "羽绒服多少钱", "user": "Mia"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert "399" in result["reply"] and result["reply"].startswith("欢迎Mia")
    assert result["guard"] == {"ok": True, "violations": []}
    assert result["prompt_version"].startswith("production#")
    assert result["latency_ms"] > 0
    unknown = api.post("/api/prompts/playground", json={"comment": "hi", "label": "Bad Label"})
    assert unknown.status_code == 422


def test_the_ab_report_of_a_stream(settings: Settings, app_engine: Engine) -> None:
    from sqlalchemy.orm import Session

    from host.db import models as db

    with Session(app_engine) as s, s.begin():
        session = db.StreamSession(name="north")
        s.add(session)
        s.flush()
        s.add(
            db.ReplyRecord(
                session_id=session.id, text="1号链接羽绒服来啦！", language="zh", intent="pitch",
                backend="script", prompt_version="b#3", violations=["banned claim '最好'"],
            )
        )  # fmt: skip
    api = client(settings, app_engine, "marketer")
    rows = api.get("/api/prompts/ab/north").json()
    assert [(r["version"], r["pitches"], r["guard_stops"]) for r in rows] == [
        ("b#3", 1, {"absolute": 1})
    ]
    assert api.get("/api/prompts/ab/south").status_code == 404
