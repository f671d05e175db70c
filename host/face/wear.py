"""Which face the host wears: the avatar named in settings, or the illustrated host that
looks like the voice sounds."""

from __future__ import annotations

from host.config import Settings
from host.errors import HostError
from host.face.avatar_art import LookName
from host.face.avatars import load_avatar
from host.face.base import Animator
from host.face.builtin import IllustratedAnimator
from host.face.loop_animator import LoopAnimator
from host.face.photo import PhotoAnimator
from host.face.sadtalker import SadTalkerClient, SadTalkerFace
from host.voice.registry import voice_gender


def build_animator(settings: Settings) -> Animator:
    """Slow for a new loop avatar (it is converted to the program size once): call off-loop.

    With SADTALKER_DIR set, SadTalker draws what can be rendered ahead from the avatar's
    photo, and the avatar's own animator speaks the rest. With RENDER_POOL set (a stream on
    a cluster), the pool draws the built-in host's speech, the session whatever it misses.
    """
    size = (settings.width, settings.height, settings.fps)
    if settings.render_pool is not None and (settings.avatar or settings.sadtalker_dir):
        raise HostError("RENDER_POOL draws the built-in host: unset AVATAR and SADTALKER_DIR")
    if not settings.avatar:
        if settings.sadtalker_dir is not None:
            raise HostError("SadTalker needs a photo of a face: set AVATAR to a photo avatar")
        builtin = IllustratedAnimator(*size, look=builtin_look(settings))
        if settings.render_pool is None:
            return builtin
        from host.cluster.render_pool import pooled  # Ray, only where a pool is named

        return pooled(builtin, settings)
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


def builtin_look(settings: Settings) -> LookName:
    """HOST_LOOK, or with auto the gender both voices are known to have (female otherwise)."""
    if settings.host_look != "auto":
        return settings.host_look
    genders = {g for g in (voice_gender(settings, "en"), voice_gender(settings, "zh")) if g}
    return genders.pop() if len(genders) == 1 else "female"
