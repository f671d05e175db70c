"""Which face the host wears: the avatar named in settings, or the illustrated host."""

from __future__ import annotations

from host.config import Settings
from host.errors import HostError
from host.face.avatars import load_avatar
from host.face.base import Animator
from host.face.builtin import IllustratedAnimator
from host.face.loop_animator import LoopAnimator
from host.face.photo import PhotoAnimator
from host.face.sadtalker import SadTalkerClient, SadTalkerFace


def build_animator(settings: Settings) -> Animator:
    """Slow for a new loop avatar (it is converted to the program size once): call off-loop.

    With SADTALKER_DIR set, SadTalker draws what can be rendered ahead from the avatar's
    photo, and the avatar's own animator speaks the rest.
    """
    size = (settings.width, settings.height, settings.fps)
    if not settings.avatar:
        if settings.sadtalker_dir is not None:
            raise HostError("SadTalker needs a photo of a face: set AVATAR to a photo avatar")
        return IllustratedAnimator(*size)
    avatar = load_avatar(settings, settings.avatar)
    if avatar.manifest.kind == "loop":
        animator: Animator = LoopAnimator(avatar.folder, *size)
    else:
        animator = PhotoAnimator.from_avatar(avatar, *size)
    if settings.sadtalker_dir is None:
        return animator
    client = SadTalkerClient.from_settings(settings)
    client.install.check()  # a missing checkpoint is named now, not mid-stream
    return SadTalkerFace(
        client, animator, avatar.folder / "source.png", settings.var_dir / "sadtalker-clips"
    )
