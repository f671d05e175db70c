"""End to end: a live session answers comments that arrive over the websocket ingress.

A real uvicorn server carries the host's app; a `websockets` client plays a bridge; the
session (catalog answerer, Piper/espeak, program, MP4 + HLS) runs in the same loop and
reads the stream's `IngressSource`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session
from websockets.asyncio.client import connect

from host.config import Settings
from host.db import models as db
from host.db.engine import make_engine
from host.demo import run_demo
from host.session.live import SessionResult
from host.web.app import create_app
from host.web.routes.ingress import ingress_hub
from tests.platform_doubles.uvicorn_server import serving

pytestmark = pytest.mark.slow

TOKEN = "bridge-token-7"
QUESTIONS = [
    {"id": "w1", "user": "Tom", "text": "How much is the down jacket?"},
    {"id": "w2", "user": "阿强", "text": "羽绒服多少钱"},
]


async def session_fed_over_websocket(settings: Settings, out: Path) -> SessionResult:
    engine = make_engine(settings.database_url)
    app = create_app(settings, engine)
    hub = ingress_hub(app)
    async with serving(app) as port:
        session = asyncio.create_task(
            run_demo(
                settings,
                out,
                duration=25.0,
                realtime=False,
                source=lambda clock: hub.attach("shop", clock),
            )
        )
        async with connect(f"ws://127.0.0.1:{port}/ws/ingress/shop") as ws:
            await ws.send(json.dumps({"type": "auth", "token": TOKEN}))
            assert json.loads(await ws.recv())["type"] == "ready"
            for question in QUESTIONS:
                await ws.send(json.dumps({"type": "comment", **question}))
                assert json.loads(await ws.recv())["status"] == "accepted"
        result = await asyncio.wait_for(session, 300)
    engine.dispose()
    return result


def test_session_answers_comments_from_the_websocket_ingress(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={"ingress_tokens": {"shop": SecretStr(TOKEN)}, "width": 360, "height": 640}
    )
    out = tmp_path / "out"
    result = asyncio.run(session_fed_over_websocket(settings, out))

    assert result.comments == 2
    replies = [json.loads(line) for line in (out / "replies.jsonl").read_text().splitlines()]
    by_id = {r["message_id"]: r for r in replies}
    assert set(by_id) == {"w1", "w2"}
    for reply in by_id.values():
        assert "LH-001" in reply["skus"] and "399" in reply["reply"] and reply["guard_ok"]
    assert by_id["w1"]["language"] == "en" and by_id["w2"]["language"] == "zh"

    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        comments = s.scalars(select(db.CommentRecord)).all()
        assert {(c.platform, c.message_id, c.decision) for c in comments} == {
            ("ingress", "w1", "kept"),
            ("ingress", "w2", "kept"),
        }
        answers = select(db.ReplyRecord).where(db.ReplyRecord.comment_id.is_not(None))
        assert len(s.scalars(answers).all()) == 2  # idle pitches between them are not answers
        recorded = s.scalars(select(db.StreamSession)).one()
        assert TOKEN not in json.dumps(recorded.settings)  # secrets never reach the audit log
    engine.dispose()
    assert (out / "session.mp4").stat().st_size > 0
