"""`host run STREAM.yaml`: stream files, going live, stopping cleanly, resuming after a kill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from host.cli import app
from host.config import REPO_ROOT, Settings
from host.db import models as db
from host.session.spec import StreamFileError, load_stream
from tests.host_run import HostRun, free_port
from tests.test_rtmp import RECEIVER, wait_until_listening

EXAMPLES = sorted((REPO_ROOT / "streams").glob("*.yaml"))
EXAMPLE_ENV = {
    "BILIBILI_TOKEN": "t",
    "LIVE_RTMP_URL": "rtmp://127.0.0.1/app/KEY-abc123",
    "TWITCH_CLIENT_ID": "c",
    "TWITCH_BROADCASTER_ID": "1",
    "TWITCH_USER_ID": "2",
    "TWITCH_USER_TOKEN": "t",
    "YOUTUBE_API_KEY": "k",
    "YOUTUBE_LIVE_CHAT_ID": "l",
    "DOUYIN_WEBHOOK_SECRET": "s",
    "SHOP_INGRESS_TOKEN": "tok",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stream.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """name: evening
merchant: demo
sources:
  - kind: replay
sinks:
  - kind: mp4
    path: out.mp4
"""


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [
        (GOOD.replace("kind: mp4", "kind: mp5"), 6, "sinks[0].kind", "'rtmp', 'mp4' or 'hls'"),
        (GOOD.replace("name: evening", "name: two words"), 1, "name", "pattern"),
        (GOOD.replace("merchant: demo\n", ""), 1, "merchant", "required"),
        (GOOD + "colour: red\n", 8, "colour", "not permitted"),
        (
            GOOD.replace("- kind: replay", "- kind: bilibili\n    token: abc"),
            5,
            "sources[0].token",
            "token_env",
        ),
        (
            GOOD.replace("- kind: replay", "- kind: bilibili\n    roomid: 3"),
            5,
            "sources[0].roomid",
            "no setting 'roomid'",
        ),
        (
            GOOD.replace("- kind: replay", "- kind: bilibili\n    uid: abc"),
            5,
            "sources[0].uid",
            "integer",
        ),
        (GOOD.replace("path: out.mp4", "url_env: X"), 6, "sinks[0]", "exactly one of: path"),
        ("name: [unclosed\n", 2, "", "not valid YAML"),
    ],
)
def test_stream_file_errors_name_the_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(StreamFileError) as caught:
        load_stream(path)
    error = caught.value
    assert (error.line, error.field) == (line, field), str(error)
    assert reason in error.reason
    assert str(error).startswith(f"{path}:{line}")


def test_source_settings_come_from_the_file_and_secrets_from_the_environment(
    tmp_path: Path, settings: Settings
) -> None:
    text = GOOD.replace("- kind: replay", "- kind: bilibili\n    room_id: 123\n    token_env: BT")
    spec = load_stream(write(tmp_path, text))
    stream_settings = spec.settings_for(settings, {"BT": "s3cret"})
    assert stream_settings.bilibili_room_id == "123"
    assert stream_settings.bilibili_token is not None
    assert stream_settings.bilibili_token.get_secret_value() == "s3cret"
    assert "s3cret" not in json.dumps(stream_settings.stored())
    with pytest.raises(Exception, match="BT is not set"):
        spec.settings_for(settings, {})


def test_stored_settings_hide_the_database_password(settings: Settings) -> None:
    url = "postgresql+psycopg://livehost:hunter2@db.internal:5432/live"
    stored = settings.model_copy(update={"database_url": url}).stored()
    assert "hunter2" not in json.dumps(stored)
    assert stored["database_url"] == "postgresql+psycopg://livehost:***@db.internal:5432/live"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_stream_file_passes_the_check(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)  # examples name repository paths (the demo comments)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'check.db'}")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["run", str(example), "--check"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and "KEY-abc123" not in result.output


def test_check_names_a_missing_secret_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'check.db'}")
    monkeypatch.delenv("LIVE_RTMP_URL", raising=False)
    path = write(tmp_path, GOOD + "  - kind: rtmp\n    url_env: LIVE_RTMP_URL\n")
    result = CliRunner().invoke(app, ["run", str(path), "--check"])
    assert result.exit_code == 1
    assert "LIVE_RTMP_URL is not set" in result.output


def test_check_refuses_a_lineup_the_merchant_does_not_sell(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'check.db'}")
    path = write(tmp_path, GOOD + "lineup: [LH-001, NOPE-9]\n")
    result = CliRunner().invoke(app, ["run", str(path), "--check"])
    assert result.exit_code == 1
    assert "NOPE-9" in result.output


def test_check_names_a_missing_zh_voice_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'check.db'}")
    monkeypatch.setenv("PIPER_MODEL_ZH", str(tmp_path / "zh_CN-huayan-medium.onnx"))
    path = write(tmp_path, GOOD + "voices:\n  zh: piper\n")
    result = CliRunner().invoke(app, ["run", str(path), "--check"])
    assert result.exit_code == 1
    assert "stream evening: PIPER_MODEL_ZH=" in result.output and "no such file" in result.output


# --- on air, as a process ------------------------------------------------------------------

COMMENTS = [
    {"t": 2.0, "user": "Tom", "text": "How much is the down jacket?", "id": "q1"},
    {"t": 3.0, "user": "spam88", "text": "cheap followers at www.get-fans.xyz", "id": "q2"},
    {"t": 12.0, "user": "阿强", "text": "3号多少钱", "id": "q3"},
    {"t": 24.0, "user": "Amy", "text": "is the scarf in stock?", "id": "q4"},
]


def replay_file(work: Path, comments: list[dict]) -> Path:
    path = work / "comments.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in comments))
    return path


def comments_counted(run: HostRun) -> float:
    return sum(
        value
        for (name, labels), value in run.metrics().items()
        if name == "livehost_comments_total" and ("stream", run.stream["name"]) in labels
    )


@pytest.mark.slow
def test_host_run_goes_live_to_rtmp_and_mp4_and_reports_itself(tmp_path: Path) -> None:
    rtmp_port = free_port()
    received = tmp_path / "ingest"
    receiver = subprocess.Popen([sys.executable, str(RECEIVER), str(rtmp_port), str(received)])
    wait_until_listening(receiver, rtmp_port)
    stream = {
        "name": "evening",
        "merchant": "demo",
        "lineup": ["LH-001", "LH-003", "LH-005"],
        "sources": [{"kind": "replay", "path": str(replay_file(tmp_path, COMMENTS))}],
        "sinks": [
            {"kind": "rtmp", "url_env": "LIVE_RTMP_URL"},
            {"kind": "mp4", "path": "recordings/evening.mp4"},
        ],
    }
    key_url = f"rtmp://127.0.0.1:{rtmp_port}/live/sk-live-0042"
    run = HostRun(tmp_path, stream, {"LIVE_RTMP_URL": key_url})
    try:
        started = time.monotonic()
        run.start("--duration", "60")
        status = run.on_air()
        assert status["sources"] == {"replay": "connected"}
        time.sleep(30)
        mid = run.health()["streams"]["evening"]
        assert all(mid["sinks"].values()), mid
        counted = comments_counted(run)
        assert counted == len(COMMENTS), counted
        assert run.wait(120) == 0, run.output()
        wall = time.monotonic() - started
    finally:
        run.stop()
        receiver.wait(30)
    output = run.output()
    assert "sk-live-0042" not in output
    assert "sk-live-0042" not in (tmp_path / "var" / "logs" / "evening.log").read_text()

    (session,) = run.sessions()
    assert (session.name, session.status) == ("evening", "ended")
    assert "sk-live-0042" not in json.dumps(session.settings)
    comments = run.rows(db.CommentRecord, session.id)
    assert [c.message_id for c in comments] == ["q1", "q2", "q3", "q4"]
    replies = {r.comment_id: r for r in run.rows(db.ReplyRecord, session.id) if r.comment_id}
    by_id = {c.message_id: c.id for c in comments}
    assert "399" in replies[by_id["q1"]].text
    assert "329" in replies[by_id["q3"]].text  # 3号 of this stream's lineup: LH-005
    assert by_id["q2"] not in replies

    streams = json.loads((received / "streams.json").read_text())
    assert (streams["video_codec"], streams["audio_codec"]) == ("h264", "aac")
    recording = tmp_path / "recordings" / "evening.mp4"
    with av.open(str(recording)) as mp4:
        seconds = float(mp4.duration or 0) / av.time_base
    assert 59.0 <= seconds <= 60.5, seconds
    assert wall < 60 + 45  # start-up and shutdown, not a stream that fell behind


@pytest.mark.slow
def test_sigterm_finishes_the_sentence_and_closes_the_recording(tmp_path: Path) -> None:
    stream = {
        "name": "late",
        "merchant": "demo",
        "sources": [{"kind": "replay", "path": str(replay_file(tmp_path, COMMENTS))}],
        "sinks": [{"kind": "mp4", "path": "late.mp4"}],
    }
    run = HostRun(tmp_path, stream)
    try:
        run.start()
        run.on_air()
        time.sleep(8)
        run.signal(signal.SIGTERM)
        asked = time.monotonic()
        assert run.wait(30) == 0, run.output()
        assert time.monotonic() - asked < 15  # one sentence, not the rest of the room
    finally:
        run.stop()
    (session,) = run.sessions()
    assert session.status == "ended" and session.ended_at is not None
    with av.open(str(tmp_path / "late.mp4")) as mp4:
        assert mp4.duration is not None and mp4.duration > 5 * av.time_base


@pytest.mark.slow
def test_sigkill_then_run_again_resumes_with_the_audit_complete(tmp_path: Path) -> None:
    comments = [
        {"t": 1.0, "user": "Tom", "text": "How much is the down jacket?", "id": "k1"},
        {"t": 1.5, "user": "Amy", "text": "3号多少钱", "id": "k2"},
        {"t": 1.8, "user": "Bo", "text": "5号有货吗", "id": "k3"},
        {"t": 2.1, "user": "Cy", "text": "2号多少钱", "id": "k4"},
    ]
    stream = {
        "name": "night",
        "merchant": "demo",
        "sources": [{"kind": "replay", "path": str(replay_file(tmp_path, comments))}],
        "sinks": [{"kind": "mp4", "path": "night.mp4"}],
        "pitches": {"idle_s": 2, "rotate_s": 5},
        "resume_max_age_s": 300,
    }
    run = HostRun(tmp_path, stream)
    try:
        run.start()
        run.on_air()
        time.sleep(6)  # every comment in; the queue is still being answered
        run.signal(signal.SIGKILL)
        run.wait(10)
    finally:
        run.stop()
    first = run.sessions()[0]
    assert first.status == "running"  # nobody could mark it: the process was killed

    rerun = HostRun(
        tmp_path,
        {**stream, "sources": [{"kind": "replay", "path": str(replay_file(tmp_path, []))}]},
    )
    try:
        rerun.start("--duration", "25")
        assert rerun.wait(90) == 0, rerun.output()
    finally:
        rerun.stop()
    first, second = rerun.sessions()
    assert first.status == "interrupted"
    assert second.status == "ended"
    assert [c.message_id for c in rerun.rows(db.CommentRecord, first.id)] == [
        "k1",
        "k2",
        "k3",
        "k4",
    ]
    answered_first = {r.comment_id for r in rerun.rows(db.ReplyRecord, first.id)}
    first_ids = {c.id: c.message_id for c in rerun.rows(db.CommentRecord, first.id)}
    before = {first_ids[i] for i in answered_first if i in first_ids}
    resumed = {c.message_id for c in rerun.rows(db.CommentRecord, second.id)}
    let_go = {  # four questions at once are a crowded queue: some may go stale, on the record
        c.message_id
        for c in rerun.rows(db.CommentRecord, first.id)
        if (c.decision, c.reason) == ("dropped", "stale")
    }
    assert before | resumed | let_go == {"k1", "k2", "k3", "k4"}, (before, resumed, let_go)
    assert not before & resumed and not let_go & resumed  # nothing answered twice
    # each resumed comment is answered, or let go as stale on the record: four questions
    # back at once are a crowded queue (host/chat/triage.py), answered freshest first
    answered = {r.comment_id for r in rerun.rows(db.ReplyRecord, second.id) if r.comment_id}
    for c in rerun.rows(db.CommentRecord, second.id):
        assert c.id in answered or (c.decision, c.reason) == ("dropped", "stale"), c
    assert answered, "no resumed comment answered"
    assert (tmp_path / "night.mp4").exists() and (tmp_path / "night.1.mp4").exists()
