"""`host prompts list|show|diff|edit|label` as a marketer uses them, errors as one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from host.accounts import create_user
from host.cli import app
from host.db.migrate import migrated_engine

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    create_user(migrated_engine(url), "mia", "marketer", None)
    create_user(migrated_engine(url), "otto", "operator", None)
    return url


def host(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["prompts", *args])
    return result.exit_code, result.stdout, result.stderr


def test_edit_label_and_roll_back(env: str, tmp_path: Path) -> None:
    code, listing, _ = host("list")
    assert code == 0 and "pitch/zh" in listing and "production=v1, staging=v1" in listing
    code, body, _ = host("show", "pitch/zh")
    assert code == 0 and body.startswith("# 直播间话术")
    edited = tmp_path / "pitch.yaml"
    edited.write_text(body.replace("来啦！", "上车啦！"), encoding="utf-8")
    code, _, said = host(
        "edit", "pitch/zh", "--file", str(edited), "--note", "warmer", "--as", "mia"
    )
    assert code == 0 and "saved pitch/zh v2 (from v1)" in said
    code, diff, _ = host("diff", "pitch/zh", "1", "2")
    assert '+    - "{家人们|宝宝们|老铁们}看过来，{link}号链接{name}上车啦！"' in diff
    code, _, said = host("label", "pitch/zh", "production", "2", "--as", "mia")
    assert code == 0 and "pitch/zh: production -> v2 (was v1)" in said
    code, history, _ = host("list", "pitch/zh")
    assert "mia" in history and "warmer" in history
    code, _, said = host("label", "pitch/zh", "production", "--back", "--as", "mia")
    assert code == 0 and "production -> v1 (was v2)" in said


def test_errors_are_one_line_and_change_nothing(env: str, tmp_path: Path) -> None:
    code, body, _ = host("show", "pitch/zh")
    bad = tmp_path / "bad.yaml"
    bad.write_text(body.replace("来啦！", "全网最低价！"), encoding="utf-8")
    code, _, said = host("edit", "pitch/zh", "--file", str(bad))
    assert code == 1
    assert said.startswith("error: pitch/zh not saved: ") and "absolute claim '最低价'" in said
    assert len(said.strip().splitlines()) == 1
    code, _, said = host("label", "pitch/zh", "production", "1", "--as", "otto")
    assert code == 1 and "only an admin or a marketer may move production" in said
    code, _, said = host("label", "pitch/zh", "production", "1")
    assert code == 1 and "(cli:" in said
    code, _, said = host("edit", "pitch/zh")
    assert code == 1 and "set EDITOR (or pass --file FILE)" in said
    code, _, said = host("show", "pitch/jp")
    assert code == 1 and "no prompt item 'pitch/jp'" in said
    code, _, said = host("show", "pitch/zh", "7")
    assert code == 1 and "pitch/zh has no version 7" in said
    code, listing, _ = host("list", "pitch/zh")
    assert "v2" not in listing


def test_edit_opens_the_editor(env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "editor.sh"
    script.write_text("#!/bin/sh\nsed -i 's/来啦！/到啦！/' \"$1\"\n", encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    code, _, said = host("edit", "pitch/zh", "--note", "by editor")
    assert code == 0 and "saved pitch/zh v2" in said
    code, body, _ = host("show", "pitch/zh", "2")
    assert "{link}号链接{name}到啦！" in body
