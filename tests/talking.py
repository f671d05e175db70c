"""A session that only talks, for the render pool's test and bench: sentences back to back
through an animator, in turn about nothing, the product on the left, on the right (so the
arms move), over a set of its own (so the set travels to the pool).

`talk_remote` runs it as a clustered session runs: in a Ray worker process, with the animator
`build_animator` makes for the settings (the pool when RENDER_POOL names one), through a
realtime program.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from host.config import Settings
from host.face.base import Animator, MouthPose, Side
from host.face.builtin import IllustratedAnimator
from host.face.wear import build_animator, builtin_look
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import WallClock
from host.stream.program import Program
from host.voice.base import MOUTH_SHAPES

SENTENCE = [  # quiet stretches, then a wide syllable: nods, as in real speech
    MouthPose(0.9 if k % 14 in (7, 8, 9) else 0.2 + 0.1 * (k % 3), MOUTH_SHAPES[1 + k % 5])
    for k in range(47)
]
SIDES: list[Side | None] = [None, "left", "right"]  # one per sentence, in turn


def backdrop(width: int, height: int) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :, 1] = (np.arange(width) % 256).astype(np.uint8)[None, :]
    return image


class Talker:
    """Speaks as the director does (`speak`, then `present` for the frame, then the frame);
    with `keep`, keeps every frame it hands over."""

    def __init__(self, animator: Animator, rate: int, fps: int, keep: bool = True) -> None:
        self.animator = animator
        self.frames: list[np.ndarray] = []
        self._keep = keep
        self._silence = np.zeros(rate // fps, np.int16)
        self._speech: Iterator[np.ndarray] | None = None
        self._said = 0

    async def next_frame(self, index: int) -> ProgramFrame:
        return ProgramFrame(self.image(index), self._silence, Overlay())

    def image(self, index: int) -> np.ndarray:
        if self._speech is None:
            self._speech = iter(self.animator.speak(SENTENCE, index))
        self.animator.present(SIDES[self._said % len(SIDES)], index)
        image = next(self._speech, None)
        if image is None:
            self._said += 1
            self._speech = None
            return self.image(index)
        if self._keep:
            self.frames.append(image)
        return image

    def walk(self, frames: int, pace_s: float = 0.0) -> None:
        for index in range(frames):
            self.image(index)
            time.sleep(pace_s)


def reference(settings: Settings, frames: int) -> list[np.ndarray]:
    """What the session's own animator draws for the same program."""
    local = IllustratedAnimator(
        settings.width, settings.height, settings.fps, look=builtin_look(settings)
    )
    local.set_backdrop(backdrop(settings.width, settings.height))
    talker = Talker(local, settings.audio_rate, settings.fps)
    talker.walk(frames)
    return talker.frames


def talk(
    settings: Settings, seconds: float, kill_pool_after_s: float | None = None, check: bool = True
) -> dict[str, Any]:
    """A realtime program of `seconds`; what it and the pool did. `kill_pool_after_s`:
    SIGKILL the pool's replica then. `check`: compare every frame with `reference`."""
    from host.cluster.render_pool import PooledAnimator

    talking = build_animator(settings)
    assert isinstance(talking, PooledAnimator)
    talking.set_backdrop(backdrop(settings.width, settings.height))
    killed: list[int] = []

    def kill() -> None:
        from ray import serve

        time.sleep(kill_pool_after_s or 0)
        pid = serve.get_app_handle(settings.render_pool or "").pid.remote().result()
        os.kill(pid, signal.SIGKILL)
        killed.append(talking.stats.pooled_frames)

    if kill_pool_after_s is not None:
        threading.Thread(target=kill, daemon=True).start()
    talker = Talker(talking, settings.audio_rate, settings.fps, keep=check)
    stats = asyncio.run(Program(settings, [], WallClock()).run(talker, seconds))
    talking.close()
    mismatched = None
    if check:
        want = reference(settings, len(talker.frames))
        mismatched = sum(not np.array_equal(a, b) for a, b in zip(talker.frames, want, strict=True))
    return {
        "frames": stats.frames,
        "late": stats.late_frames,
        "max_lateness_ms": round(stats.max_lateness_ms),
        "pooled": talking.stats.pooled_frames,
        "local": talking.stats.local_frames,
        "chunks": talking.stats.chunks,
        "missed_chunks": talking.stats.missed_chunks,
        "pauses": talking.stats.pauses,
        "pooled_before_kill": killed[0] if killed else None,
        "round_trips_ms": list(talking.stats.round_trips_ms),
        "mismatched": mismatched,
    }


def talk_remote(settings: Settings, seconds: float, **options: Any) -> Any:
    """`talk` in a Ray worker process (one CPU), as a clustered session: its ObjectRef."""
    import ray

    return ray.remote(num_cpus=1)(talk).remote(settings, seconds, **options)
