"""CI runs every test: where CI is set, a test that would skip fails instead (conftest hook)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from host.config import REPO_ROOT

SKIPPING = """
import pytest

def test_needs_a_service():
    pytest.skip("PostgreSQL is not reachable")

@pytest.mark.skipif(True, reason="an extra is not installed")
def test_needs_an_extra():
    pass

def test_runs():
    pass
"""


def run_pytest(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """pytest on a file of skipping tests, with this suite's conftest as a plugin."""
    (tmp_path / "test_skipping.py").write_text(SKIPPING, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_under_ci_a_skip_is_a_failure(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed, 1 error" in result.stdout
    assert "skipped under CI, where every test must run: Skipped: PostgreSQL" in result.stdout


def test_on_a_developer_machine_a_skip_stays_a_skip(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped" in result.stdout
