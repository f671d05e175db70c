"""The host wears the avatar named in settings, or the illustrated host when none is."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from skimage import data

from host.config import Settings
from host.db.engine import make_engine
from host.db.migrate import upgrade
from host.errors import HostError
from host.face.avatars import create_avatar
from host.face.builtin import IllustratedAnimator
from host.face.photo import PhotoAnimator
from host.face.wear import build_animator


def test_no_avatar_setting_means_the_illustrated_host(settings: Settings) -> None:
    assert isinstance(build_animator(settings), IllustratedAnimator)


def test_a_created_photo_avatar_is_worn_at_the_program_size(
    settings: Settings, tmp_path: Path
) -> None:
    upgrade(settings.database_url)
    photo = tmp_path / "face.png"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    create_avatar(settings, make_engine(settings.database_url), photo, "eileen", "test fixture")
    small = settings.model_copy(update={"avatar": "eileen", "width": 360, "height": 640})
    animator = build_animator(small)
    assert isinstance(animator, PhotoAnimator)
    assert animator.idle(0).shape == (640, 360, 3)


def test_an_unknown_avatar_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(HostError, match="nobody"):
        build_animator(settings.model_copy(update={"avatar": "nobody"}))
