"""The host wears the avatar named in settings, or the illustrated host when none is."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from host.commands.avatar import avatar_app
from host.config import Settings
from host.errors import HostError
from host.face.builtin import IllustratedAnimator
from host.face.photo import PhotoAnimator
from host.face.wear import build_animator


def test_no_avatar_setting_means_the_illustrated_host(settings: Settings) -> None:
    assert isinstance(build_animator(settings), IllustratedAnimator)


def test_a_created_photo_avatar_is_worn_at_the_program_size(
    settings: Settings, photo_avatar: str
) -> None:
    small = settings.model_copy(update={"avatar": photo_avatar, "width": 360, "height": 640})
    animator = build_animator(small)
    assert isinstance(animator, PhotoAnimator)
    assert animator.idle(0).shape == (640, 360, 3)


def test_an_unknown_avatar_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(HostError, match="nobody"):
        build_animator(settings.model_copy(update={"avatar": "nobody"}))


def test_avatar_list_shows_the_built_in_hosts_and_which_is_on_air(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI reads .env from where it runs: never the developer's
    env = {"VAR_DIR": str(settings.var_dir), "DATABASE_URL": settings.database_url}
    listed = CliRunner().invoke(avatar_app, ["list"], env={**env, "HOST_LOOK": "female"})
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line for line in listed.output.splitlines()}
    assert "built-in" in rows["female"] and rows["female"].endswith("on air")
    assert "built-in" in rows["male"] and "on air" not in rows["male"]
    assert "no created avatars" in listed.output
    worn = CliRunner().invoke(avatar_app, ["list"], env={**env, "AVATAR": "eileen"})
    assert "on air" not in worn.output  # a created avatar is worn instead
