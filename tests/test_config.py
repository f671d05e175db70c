"""`.env.example` documents every setting with its default."""

from __future__ import annotations

import re

from host.config import REPO_ROOT, Settings


def _example() -> dict[str, str]:
    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    found = {}
    for m in re.finditer(r"^#? ?([A-Z][A-Z0-9_]+)=(.*)$", text, re.M):
        found[m.group(1)] = m.group(2)
    return found


def test_env_example_lists_every_setting_with_a_comment() -> None:
    example = _example()
    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        key = name.upper()
        assert key in example, f"{key} missing from .env.example"
        assert field.description, f"{name} has no description"
        assert f"# {field.description}\n" in text, f"{key} lacks its one-line comment"


def test_env_example_defaults_match_settings() -> None:
    example = _example()
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name in ("fps", "width", "height", "audio_rate", "voice_en", "voice_zh", "ai_label_text"):
        assert example[name.upper()] == str(getattr(defaults, name)), name


def test_environment_overrides_defaults(monkeypatch) -> None:
    monkeypatch.setenv("FPS", "30")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/x")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.fps == 30
    assert s.database_url.startswith("postgresql")
