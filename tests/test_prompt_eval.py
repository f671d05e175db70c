"""`host prompts eval`: figures on a small set whose right answers are known, an LLM backend
whose lines the guard stops, an LLM judge reported apart, and the report in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from host.catalog.store import DbCatalog
from host.cli import app
from host.config import REPO_ROOT, Settings
from host.db.migrate import upgrade_engine
from host.promptlib import library
from host.promptlib.evaluate import EvalCase, llm_judge, load_set, run_eval
from host.promptlib.report import write_report
from host.stream.typeset import font_path
from tests.llm_double import Script, running

SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CJK_FACE = "@font-face {{ font-family: 'Noto Sans CJK SC'; src: url('{url}'); }}"
CASES = [
    EvalCase("p1", "catalog", "zh", "羽绒服多少钱", "LH-001", ("399",)),
    EvalCase("p2", "catalog", "zh", "牛仔裤多少钱", "LH-002", ("159",)),
    EvalCase("p3", "catalog", "en", "how much is the down jacket", "LH-001", ("399",)),
    EvalCase("f1", "faq", "zh", "包邮吗", None, ("包邮",)),
    EvalCase("s1", "adversarial", "zh", "加微信领优惠", None, ()),
]
# Label "vague" says the sale price without the number: the two Chinese price cases lose it.
VAGUE = {
    '    - "{name}原价{list_price}，直播间只要{price}。"\n': '    - "{name}今天特别划算。"\n',
    '    - "{name}到手价{price}，原价{list_price}哦。"\n': '    - "{name}直播间有优惠哦。"\n',
}


@pytest.fixture
def lib(demo_engine: Engine) -> Engine:
    upgrade_engine(demo_engine)
    library.seed(demo_engine)
    body = library.version(demo_engine, "answers").body
    for old, new in VAGUE.items():
        assert old in body
        body = body.replace(old, new)
    saved = library.save_version(demo_engine, "answers", body, author="mia", note="no numbers")
    library.move_label(demo_engine, "answers", "vague", saved.number, who="mia", role="marketer")
    return demo_engine


def test_metrics_on_a_set_with_known_answers(lib: Engine, settings: Settings) -> None:
    report = run_eval(lib, settings, DbCatalog(lib, "demo"), CASES, ["production", "vague"])
    production, vague = (r.metrics for r in report.labels)
    assert production["answered_rate"] == 4 / 5  # the 加微信 spam is dropped by triage
    assert vague["answered_rate"] == 4 / 5
    assert production["facts_correct"] == 1.0
    assert vague["facts_correct"] == 2 / 4  # p1 and p2 lost their price
    assert production["language_match"] == vague["language_match"] == 1.0
    assert production["guard_violations"] == vague["guard_violations"] == {}
    assert production["latency_p95_ms"] >= production["latency_p50_ms"] > 0
    assert production["mean_chars"] > vague["mean_chars"]  # no numbers: shorter replies
    assert {row["id"] for row in report.differing} == {"p1", "p2"}
    assert all(row["similarity"] < 1 for row in report.differing)
    # every product pitched six times in each language: the scripts rotate their openings
    assert production["pitch_repeats"] == 0
    assert production["pitch_variety"] > 0.5
    assert report.labels[1].prompt_version.startswith("vague#")


def test_an_llm_backend_that_invents_prices_is_counted_by_guard_kind(
    lib: Engine, settings: Settings
) -> None:
    lie = "大家好！这件羽绒服今天只要99元，全网最低！"
    with running(Script(replies=[lie])) as double:
        llm = settings.model_copy(update={"openai_base_url": double.base_url})
        report = run_eval(
            lib,
            llm,
            DbCatalog(lib, "demo"),
            CASES[:3],
            ["production"],
            backend="llm",
            pitch_repeats=1,
        )
    metrics = report.labels[0].metrics
    assert set(metrics["guard_violations"]) == {"price", "absolute"}
    assert metrics["guard_violations"]["price"] == metrics["guard_violations"]["absolute"] > 0
    assert metrics["facts_correct"] == 1.0  # the catalog answerer stood in for every stopped line
    assert not [c.reply for c in report.labels[0].cases if re.search(r"(?<![0-9])99元", c.reply)]


def test_an_llm_judge_is_reported_apart(lib: Engine, settings: Settings) -> None:
    with running(Script(replies=["4 - right price, short and friendly."])) as double:
        judge = llm_judge(double.base_url, "judge", None)
        report = run_eval(
            lib,
            settings,
            DbCatalog(lib, "demo"),
            CASES[:2],
            ["production"],
            judge=judge,
            pitch_repeats=1,
        )
        asked = double.requests[0].messages
    assert report.judged
    assert report.labels[0].metrics["judge_mean"] == 4.0
    assert "羽绒服多少钱" in asked[-1]["content"] and "399" in asked[-1]["content"]


def test_the_report_renders_in_a_browser_offline(
    lib: Engine, settings: Settings, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no browser at {CHROMIUM} (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    cases = load_set(REPO_ROOT / "prompts" / "eval" / "comments.jsonl")
    report = run_eval(
        lib,
        settings,
        DbCatalog(lib, "demo"),
        cases,
        ["production", "vague"],
        set_name="comments.jsonl",
    )
    page_path, json_path = write_report(report, tmp_path / "report")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [r["label"] for r in data["labels"]] == ["production", "vague"]
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1700})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        assert page.locator("svg").count() == 3
        assert page.locator("h1").inner_text() == "Prompt eval: comments.jsonl"
        summary = page.locator("table").first.inner_text()
        assert "facts correct" in summary and "100.0%" in summary
        assert page.get_by_text("Lines that differ most").is_visible()
        assert requests == [page_path.as_uri()]  # nothing fetched beyond the page itself
        # a marketer's machine has a Chinese font; this one may not: lend it the bundled one
        page.add_style_tag(content=CJK_FACE.format(url=Path(font_path()).as_uri()))
        page.evaluate("document.fonts.ready")
        shot = tmp_path / "prompt-eval-report.png"
        page.screenshot(path=str(shot))
        browser.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("SAVE_SCREENSHOTS"):  # refresh the one in docs/
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / shot.name)


def test_cli_eval_prints_a_summary_and_writes_the_report(
    lib: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("COLUMNS", "160")
    sample = tmp_path / "set.jsonl"
    sample.write_text(
        "\n".join(json.dumps(c.__dict__, ensure_ascii=False) for c in CASES), encoding="utf-8"
    )
    result = CliRunner().invoke(
        app,
        [
            "prompts",
            "eval",
            "--set",
            str(sample),
            "--label",
            "production",
            "--label",
            "vague",
            "--report",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "facts correct" in result.stdout and "50.0%" in result.stdout
    assert (tmp_path / "out" / "report.html").is_file()
    typo = CliRunner().invoke(app, ["prompts", "eval", "--set", str(sample), "--label", "vauge"])
    assert typo.exit_code == 1 and "prompt label 'vauge' is on no item" in typo.output
    bad = CliRunner().invoke(app, ["prompts", "eval", "--set", "nope.jsonl", "--label", "x"])
    assert bad.exit_code == 1 and bad.output.startswith("error: eval set nope.jsonl")
