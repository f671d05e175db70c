"""The host wears the avatar named in settings, or the illustrated host when none is."""

from __future__ import annotations

import pytest

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
