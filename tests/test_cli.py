"""The command line: help everywhere, one-line errors, JSON from `host ask`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from host.cli import app
from host.db.engine import make_engine
from tests.accounts import auth_headers

runner = CliRunner()


@pytest.fixture(autouse=True)
def away_from_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads `.env` from the working directory; tests never read the developer's."""
    monkeypatch.chdir(tmp_path)


def test_the_cli_reads_dotenv_from_the_working_directory(env_db: Path, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FPS=abc\n", encoding="utf-8")
    result = runner.invoke(app, ["ask", "hi"])
    assert result.exit_code == 1
    assert "FPS='abc'" in result.output


COMMANDS = [
    [],
    ["demo"],
    ["ask"],
    ["db"],
    ["db", "upgrade"],
    ["catalog"],
    ["catalog", "import"],
    ["catalog", "export"],
    ["prompts"],
    ["prompts", "list"],
    ["prompts", "show"],
    ["prompts", "diff"],
    ["prompts", "edit"],
    ["prompts", "label"],
    ["prompts", "eval"],
    ["prompts", "ab"],
    ["voice"],
    ["voice", "create"],
    ["voice", "test"],
    ["user"],
    ["user", "add"],
    ["token"],
    ["token", "create"],
    ["pool"],
    ["pool", "deploy"],
    ["pool", "remove"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "host")
def test_every_command_has_help(cmd: list[str]) -> None:
    result = runner.invoke(app, [*cmd, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.fixture
def env_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    return db


def test_db_upgrade_creates_the_schema(env_db: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert env_db.exists()


def test_ask_json_quotes_the_catalog_price(env_db: Path) -> None:
    result = runner.invoke(app, ["ask", "how much is the down jacket?", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) >= {"reply", "intent", "products", "backend", "guard", "latency_ms"}
    assert body["products"] == ["LH-001"]
    assert "399" in body["reply"]
    assert body["guard"] == {"ok": True, "violations": []}
    assert body["backend"] == "catalog"


def test_ask_answers_chinese_in_chinese(env_db: Path) -> None:
    result = runner.invoke(app, ["ask", "3号链接多少钱", "--json"])
    body = json.loads(result.stdout)
    assert body["products"] == ["LH-003"]
    assert "499" in body["reply"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["reply"])


def test_ask_reports_spam_as_not_answered(env_db: Path) -> None:
    result = runner.invoke(app, ["ask", "cheap followers at http://spam.example.com", "--json"])
    body = json.loads(result.stdout)
    assert body["dropped"]
    assert body["reply"] == ""


def test_bad_duration_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--duration", "-3", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "duration" in result.output
    assert "Traceback" not in result.output


def test_catalog_import_reports_row_and_column_and_imports_nothing(
    env_db: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,price\nA-1,Mug,¥39\nA-2,Cup,-5\n", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "import", str(bad), "--merchant", "shop"])
    assert result.exit_code == 1
    assert "row 3" in result.output and "price" in result.output
    listed = runner.invoke(app, ["catalog", "list", "--merchant", "shop"])
    assert listed.exit_code == 1
    assert "no products" in listed.output


def test_catalog_import_then_list_and_show(env_db: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("商品名称,sku,售价,库存,链接号\n陶瓷杯,A-1,¥39.90,12,1\n", encoding="utf-8")
    dry = runner.invoke(app, ["catalog", "import", str(good), "--merchant", "shop", "--dry-run"])
    assert dry.exit_code == 0 and "would import" in dry.output
    assert runner.invoke(app, ["catalog", "list", "--merchant", "shop"]).exit_code == 1
    result = runner.invoke(app, ["catalog", "import", str(good), "--merchant", "shop"])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    listed = runner.invoke(app, ["catalog", "list", "--merchant", "shop"])
    assert "A-1" in listed.output and "39.90" in listed.output
    shown = json.loads(runner.invoke(app, ["catalog", "show", "A-1", "--merchant", "shop"]).stdout)
    assert shown["price"] == "39.90" and shown["stock"] == 12 and shown["link"] == 1


def test_import_of_a_missing_file_is_a_one_line_error(env_db: Path) -> None:
    result = runner.invoke(app, ["catalog", "import", "nope.csv", "--merchant", "shop"])
    assert result.exit_code == 1
    assert "no such file" in result.output


def host_in_subprocess(
    args: list[str], cwd: Path, env: dict[str, str], before: str = ""
) -> subprocess.CompletedProcess[str]:
    """`host ARGS` in a fresh interpreter (after the Python in `before`), cwd without a .env."""
    code = f"{before}\nfrom host.cli import app\napp({args!r}, prog_name='host')"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{cwd / 'cli.db'}", **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


# (environment, command, what stops Python from importing the `llm` extra, the line's start)
USER_ERRORS = {
    "bad-number": ({"FPS": "abc"}, ["ask", "hi"], "", "error: FPS='abc': "),
    "database-down": (
        {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"},
        ["ask", "hi"],
        "",
        "error: the database at DATABASE_URL cannot be used: ",
    ),
    "unknown-voice": (
        {"VOICE_EN": "nope"},
        ["demo", "--duration", "1", "--fast"],
        "",
        "error: VOICE_EN=nope: unknown voice",
    ),
    "llm-extra-missing": (
        {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
        ["ask", "hi"],
        "import sys; sys.modules['langchain_openai'] = None  # as if not installed",
        "error: OPENAI_BASE_URL, OPENAI_API_KEY or RESPONDER=llm needs the 'llm' extra",
    ),
}


@pytest.mark.parametrize("case", USER_ERRORS)
def test_user_errors_are_one_line_naming_the_setting_and_exit_non_zero(
    case: str, tmp_path: Path
) -> None:
    env, args, before, start = USER_ERRORS[case]
    if args[0] == "demo":
        args = [*args, "--out", str(tmp_path / "out")]
    result = host_in_subprocess(args, tmp_path, env, before)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()  # the demo prints its banner on stderr first
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], result.stderr
    assert lines[-1].startswith(start), result.stderr
    assert "Traceback" not in result.stderr


def test_the_missing_extra_line_says_how_to_install_it(tmp_path: Path) -> None:
    _, args, before, _ = USER_ERRORS["llm-extra-missing"]
    result = host_in_subprocess(args, tmp_path, {"OPENAI_BASE_URL": "http://x/v1"}, before)
    assert "pip install -e '.[llm]'" in result.stderr


def test_serve_answers_health_and_the_catalog_api(env_db: Path, tmp_path: Path) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "serve", "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "host serve did not start"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        product = f"http://127.0.0.1:{port}/api/merchants/nobody/products/X-1"
        assert httpx.get(product).status_code == 401
        missing = httpx.get(product, headers=auth_headers(make_engine(f"sqlite:///{env_db}")))
        assert missing.status_code == 404
    finally:
        proc.terminate()
        proc.wait(10)
