"""The A/B report: lines, guard stops and room reaction per version from the audit log, and
orders from a synthetic Douyin / Taobao export credited to the version on air."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from host.cli import app
from host.db import models as db
from host.errors import HostError
from host.promptlib.abreport import ab_report, read_orders
from host.reply.guard import Guard
from host.reply.prompts import load_banned

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)  # 20:00 in Shanghai
A, B = "production#1", "challenger#2"
HEAD = "订单提交时间,商家编码,订单应付金额"


def local(seconds: float) -> str:
    """T0 + seconds as the shop's export writes it (Shanghai time, no zone)."""
    return (T0 + timedelta(hours=8, seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def audit(engine: Engine) -> Engine:
    """One session of stream "ab": A answers at 0 s and 90 s (the same line twice, once after
    the guard stopped a draft), B pitches at 60 s and 150 s; room events through it."""
    with Session(engine) as s, s.begin():
        session = db.StreamSession(name="ab", started_at=T0)
        s.add(session)
        s.flush()
        comment = db.CommentRecord(
            session_id=session.id, platform="douyin", message_id="c", user_id="u",
            user_name="U", text="多少钱", received_at=0.0,
        )  # fmt: skip
        s.add(comment)
        s.flush()
        lines = [
            (0, A, comment.id, "price", [], {"received": 0.0, "first_audio": 1.2}),
            (60, B, None, "pitch", [], {}),
            (90, A, comment.id, "price", ["price 99 not in catalog for LH-001",
                                          "banned claim '最好'"],
             {"received": 88.0, "first_audio": 90.0}),
            (150, B, None, "pitch", [], {}),
        ]  # fmt: skip
        for at, version, comment_id, intent, violations, stamps in lines:
            s.add(
                db.ReplyRecord(
                    session_id=session.id, comment_id=comment_id, language="zh",
                    text="羽绒服399元" if version == A else "1号链接羽绒服来啦！",
                    intent=intent, backend="catalog", prompt_version=version,
                    guard_ok=not violations, violations=violations, stamps=stamps,
                    created_at=T0 + timedelta(seconds=at),
                )
            )  # fmt: skip
        for at, kind in [(10, "chat"), (20, "like"), (70, "gift"), (95, "enter"),
                         (100, "enter"), (200, "follow"), (400, "chat")]:  # fmt: skip
            s.add(
                db.CommentRecord(
                    session_id=session.id, platform="douyin", message_id=f"e{at}",
                    user_id="v", user_name="V", text="", kind=kind, received_at=float(at),
                )
            )  # fmt: skip
    return engine


def douyin_export(path: Path) -> Path:
    rows = [
        ["主订单编号", "订单提交时间", "商家编码", "订单应付金额", "订单状态"],
        ["1", local(30), "LH-001", "100.00", "已完成"],
        ["2", local(65), "LH-002", "159.00", "已发货"],
        ["3", local(160), "LH-001", "399.00", "待发货"],
        ["4", local(500), "LH-001", "399.00", "已完成"],  # after the stream: nobody's
        ["5", local(40), "LH-001", "399.00", "已关闭"],  # closed: left out
    ]
    path.write_text("\ufeff" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_ab_report_credits_lines_room_and_orders_to_the_version_on_air(
    audit: Engine, tmp_path: Path
) -> None:
    export = read_orders(douyin_export(tmp_path / "douyin.csv"))
    assert (len(export.orders), export.cancelled) == (4, 1)
    rows = {r["version"]: r for r in ab_report(audit, "ab", Guard(load_banned().claims), [export])}
    a, b = rows[A], rows[B]
    assert (a["lines"], a["comments_answered"], a["pitches"]) == (2, 2, 0)
    assert (b["lines"], b["comments_answered"], b["pitches"]) == (2, 0, 2)
    assert a["guard_stops"] == {"absolute": 1, "price": 1}
    assert a["facts_correct"] == 0.5 and b["facts_correct"] == 1.0
    assert (a["repeats"], b["repeats"]) == (1, 1)
    assert (a["latency_p50_ms"], a["latency_p95_ms"]) == (1200.0, 2000.0)
    # A holds [0, 60) and [90, 150): 2 minutes; B [60, 90) and [150, 270): 2.5 minutes
    assert (a["air_minutes"], b["air_minutes"]) == (2.0, 2.5)
    assert a["room_per_minute"] == {  # chat: the question at 0 s and the comment at 10 s
        "chat": 1.0, "gift": 0.0, "superchat": 0.0, "like": 0.5, "follow": 0.0, "enter": 1.0,
    }  # fmt: skip
    assert (b["room_per_minute"]["gift"], b["room_per_minute"]["follow"]) == (0.4, 0.4)
    assert (a["orders"], a["gmv"], a["orders_per_minute"], a["gmv_per_minute"]) == (
        1, "100.00", 0.5, 50.0,
    )  # fmt: skip
    assert (b["orders"], b["gmv"], b["orders_per_minute"], b["gmv_per_minute"]) == (
        2, "558.00", 0.8, 223.2,
    )  # fmt: skip
    assert a["gpm"] == 50000.0  # 100 yuan over 2 entries, per thousand
    assert b["gpm"] is None  # nobody entered while B was on air


def test_a_taobao_export_in_gbk_is_read(tmp_path: Path) -> None:
    path = tmp_path / "taobao.csv"
    text = "订单编号,订单创建时间,商家编码,买家实际支付金额\n"
    text += "7,2026/12/01 20:00:30,LH-002,￥159.00\n"
    path.write_bytes(text.encode("gb18030"))
    export = read_orders(path)
    assert export.orders[0].at == T0 + timedelta(seconds=30)
    assert (export.orders[0].sku, export.orders[0].amount) == ("LH-002", Decimal("159.00"))


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("time,sku\n", "no amount column"),
        (f"{HEAD}\nyesterday,LH-001,1\n", "row 2: order time 'yesterday'"),
        (f"{HEAD}\n2026-12-01 20:00:00,LH-001,abc\n", "row 2: amount"),
    ],
)
def test_a_bad_export_fails_naming_the_row(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HostError, match=error):
        read_orders(path)


def test_cli_ab_prints_the_report(
    audit: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    export = douyin_export(tmp_path / "douyin.csv")
    result = CliRunner().invoke(app, ["prompts", "ab", "ab", "--orders", str(export), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout[result.stdout.index("[") :])
    assert {r["version"]: r["orders"] for r in rows} == {A: 1, B: 2}
    missing = CliRunner().invoke(app, ["prompts", "ab", "nope"])
    assert missing.exit_code == 1 and "no session of stream 'nope'" in missing.output
