"""Which face the host wears: the avatar named in settings, or the illustrated host."""

from __future__ import annotations

from host.config import Settings
from host.face.avatars import load_avatar
from host.face.base import Animator
from host.face.builtin import IllustratedAnimator
from host.face.loop_animator import LoopAnimator
from host.face.photo import PhotoAnimator


def build_animator(settings: Settings) -> Animator:
    """Slow for a new loop avatar (it is converted to the program size once): call off-loop."""
    size = (settings.width, settings.height, settings.fps)
    if not settings.avatar:
        return IllustratedAnimator(*size)
    avatar = load_avatar(settings, settings.avatar)
    if avatar.manifest.kind == "loop":
        return LoopAnimator(avatar.folder, *size)
    return PhotoAnimator.from_avatar(avatar, *size)
