"""The render pool draws a session's speech ahead, frame for frame what the session would
draw itself; a pool that is slow, failing or killed leaves the frames to the session, and
the program misses none and starts none late.

The first tests drive `PooledAnimator` against the pool's own renderer in this process;
the slow ones deploy the pool with Ray Serve on a local two-node cluster and run a
realtime program for a few seconds in a Ray actor, as a clustered session runs.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

pytest.importorskip("ray", reason="the cluster extra is not installed (make setup-cluster)")

from host.cluster.render_pool import (
    Chunk,
    ChunkRenderer,
    Face,
    PooledAnimator,
    deploy,
    remove,
)
from host.config import Settings
from host.face.base import Animator, MouthPose, Side
from host.face.builtin import IllustratedAnimator
from host.face.host_motion import nods
from host.face.wear import build_animator
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import WallClock
from host.stream.program import Program
from host.voice.base import MOUTH_SHAPES
from tests.ray_cluster import RayCluster

W, H, FPS = 240, 416, 25
SENTENCE = [  # quiet stretches, then a wide syllable: nods, as in real speech
    MouthPose(0.9 if k % 14 in (7, 8, 9) else 0.2 + 0.1 * (k % 3), MOUTH_SHAPES[1 + k % 5])
    for k in range(47)
]
SIDES: list[Side | None] = [None, "left", "right"]  # one per sentence, in turn: the arms move


def backdrop() -> np.ndarray:
    image = np.zeros((H, W, 3), np.uint8)
    image[:, :, 1] = np.arange(W, dtype=np.uint8)[None, :]
    return image


class InProcess:
    """The pool's renderer called in this process (optionally slower, or failing)."""

    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.renderer, self.fail = ChunkRenderer(delay_s), fail

    def render(self, chunk: Chunk, timeout_s: float) -> np.ndarray:
        if self.fail:
            raise ConnectionError("pool unreachable")
        return self.renderer(chunk)


class Talker:
    """Speaks sentences back to back through an animator as the director does (`speak`,
    then `present` for the frame, then the frame), and keeps every frame it hands over."""

    def __init__(self, animator: Animator) -> None:
        self.animator = animator
        self.frames: list[np.ndarray] = []
        self._speech: Iterator[np.ndarray] | None = None
        self._said = 0

    async def next_frame(self, index: int) -> ProgramFrame:
        return ProgramFrame(self.image(index), np.zeros(48000 // FPS, np.int16), Overlay())

    def image(self, index: int) -> np.ndarray:
        if self._speech is None:
            self._speech = iter(self.animator.speak(SENTENCE, index))
        self.animator.present(SIDES[self._said % len(SIDES)], index)
        image = next(self._speech, None)
        if image is None:
            self._said += 1
            self._speech = None
            return self.image(index)
        self.frames.append(image)
        return image

    def walk(self, frames: int, pace_s: float = 0.0) -> None:
        for index in range(frames):
            self.image(index)
            time.sleep(pace_s)


def reference(frames: int) -> list[np.ndarray]:
    """What the session's own animator draws for the same program."""
    local = IllustratedAnimator(W, H, FPS)
    local.set_backdrop(backdrop())
    talker = Talker(local)
    talker.walk(frames)
    return talker.frames


def pooled(pool: Any, **options: Any) -> PooledAnimator:
    animator = PooledAnimator(IllustratedAnimator(W, H, FPS), pool, **options)
    animator.set_backdrop(backdrop())
    return animator


def test_a_chunk_from_the_pool_is_what_the_local_animator_draws() -> None:
    local = IllustratedAnimator(W, H, FPS)
    local.set_backdrop(backdrop())
    local.present("left", 3)
    speech = list(local.speak(SENTENCE, 5))
    track = nods(SENTENCE, FPS)
    chunk = Chunk(
        Face("female", W, H, FPS, 7),
        5 + 10,
        tuple(SENTENCE[10:20]),
        tuple(track[10:20]),
        local.gesture.state(),
        ("set", backdrop()),
    )
    frames = ChunkRenderer()(chunk)
    assert frames.shape == (10, H, W, 3)
    assert all(np.array_equal(frames[k], speech[10 + k]) for k in range(10))
    assert any(n > 0 for n in track[10:20])  # a nod inside the chunk: nods travel along


def test_pool_frames_that_arrive_in_time_are_used_and_match_the_local_ones() -> None:
    talking = pooled(InProcess(), chunk=10, ahead=3)
    talker = Talker(talking)
    talker.walk(120, pace_s=0.004)
    assert talking.stats.pooled_frames > 60, talking.stats
    assert talking.stats.pooled_frames + talking.stats.local_frames == 120
    assert all(np.array_equal(a, b) for a, b in zip(talker.frames, reference(120), strict=True))


def test_a_failing_pool_leaves_every_frame_to_the_session_and_is_left_alone_a_while() -> None:
    talking = pooled(InProcess(fail=True), chunk=10, ahead=2, retry_s=60)
    talker = Talker(talking)
    talker.walk(100, pace_s=0.001)
    stats = talking.stats
    assert stats.pooled_frames == 0 and stats.local_frames == 100
    assert stats.pauses == 1  # after MISSES_TO_PAUSE chunks; none asked after that but
    assert stats.chunks == stats.missed_chunks == 5  # the first sentence's, asked already
    assert all(np.array_equal(a, b) for a, b in zip(talker.frames, reference(100), strict=True))


def test_a_pool_that_draws_the_wrong_size_is_not_put_on_air() -> None:
    class Wrong:
        def render(self, chunk: Chunk, timeout_s: float) -> np.ndarray:
            return np.zeros((len(chunk.poses), H // 2, W, 3), np.uint8)

    talking = pooled(Wrong(), chunk=10, ahead=3)
    talker = Talker(talking)
    talker.walk(40, pace_s=0.003)
    assert talking.stats.pooled_frames == 0
    assert all(f.shape == (H, W, 3) for f in talker.frames)


def test_render_pool_outside_a_cluster_says_so_in_one_line(settings: Settings) -> None:
    from host.errors import HostError

    named = settings.model_copy(update={"render_pool": "faces", "width": W, "height": H})
    with pytest.raises(HostError, match="RENDER_POOL is for streams on a Ray cluster"):
        build_animator(named)
    with pytest.raises(HostError, match="unset AVATAR"):
        build_animator(named.model_copy(update={"avatar": "eileen"}))


# --- on a Ray cluster, through Serve --------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[RayCluster, Settings]]:
    import ray

    from host.cluster import placement

    running = RayCluster(secrets.token_hex(16), cpus=2).start()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        ray_auth_token=SecretStr(running.token),
        render_pool="faces",
        render_pool_timeout_s=1.0,
        render_pool_retry_s=2.0,
        width=W,
        height=H,
        fps=FPS,
        host_look="female",
    )
    try:
        placement.connect(running.address, settings)
        yield running, settings
    finally:
        ray.shutdown()
        running.stop()


def _talk(settings: Settings, seconds: float, kill_pool_after_s: float | None) -> dict[str, Any]:
    """In a Ray actor, as a clustered session: the animator `build_animator` makes for these
    settings talks through a realtime program; then its frames are checked against the
    local animator's."""
    talking = build_animator(settings)
    assert isinstance(talking, PooledAnimator)
    talking.set_backdrop(backdrop())
    killed: list[int] = []

    def kill() -> None:
        from ray import serve

        time.sleep(kill_pool_after_s or 0)
        pid = serve.get_app_handle(settings.render_pool or "").pid.remote().result()
        os.kill(pid, signal.SIGKILL)
        killed.append(talking.stats.pooled_frames)

    if kill_pool_after_s is not None:
        threading.Thread(target=kill, daemon=True).start()
    talker = Talker(talking)
    stats = asyncio.run(Program(settings, [], WallClock()).run(talker, seconds))
    talking.close()
    want = reference(len(talker.frames))
    trips = sorted(talking.stats.round_trips_ms)
    return {
        "frames": stats.frames,
        "late": stats.late_frames,
        "max_lateness_ms": round(stats.max_lateness_ms),
        "pooled": talking.stats.pooled_frames,
        "local": talking.stats.local_frames,
        "pauses": talking.stats.pauses,
        "pooled_before_kill": killed[0] if killed else None,
        "round_trip_ms_p50": round(trips[len(trips) // 2]) if trips else None,
        "mismatched": sum(
            not np.array_equal(a, b) for a, b in zip(talker.frames, want, strict=True)
        ),
    }


def talk(settings: Settings, seconds: float, kill_pool_after_s: float | None = None) -> dict:
    import ray

    remote = ray.remote(num_cpus=1)(_talk)
    return dict(ray.get(remote.remote(settings, seconds, kill_pool_after_s), timeout=120))


@pytest.mark.slow
def test_the_pool_draws_a_clustered_sessions_speech_as_the_session_would(
    cluster: tuple[RayCluster, Settings],
) -> None:
    _, settings = cluster
    deploy(settings)
    seen = talk(settings, 4.0)
    print("healthy pool:", seen)
    assert seen["frames"] == 100 and seen["late"] == 0, seen
    assert seen["mismatched"] == 0, seen
    assert seen["pooled"] > 60 and seen["pauses"] == 0, seen


@pytest.mark.slow
def test_a_slow_pool_leaves_the_frames_to_the_session_none_late(
    cluster: tuple[RayCluster, Settings],
) -> None:
    _, settings = cluster
    deploy(settings, delay_s=1.5)  # slower than the chunks' own length, past the timeout
    try:
        seen = talk(settings, 4.0)
    finally:
        deploy(settings)
    print("slow pool:", seen)
    assert seen["frames"] == 100 and seen["late"] == 0, seen
    assert seen["mismatched"] == 0, seen
    assert seen["pooled"] == 0 and seen["local"] == 100 and seen["pauses"] >= 1, seen


@pytest.mark.slow
def test_a_pool_killed_mid_run_does_not_stop_the_stream(
    cluster: tuple[RayCluster, Settings],
) -> None:
    _, settings = cluster
    deploy(settings)
    seen = talk(settings, 5.0, kill_pool_after_s=2.0)
    print("pool killed after 2 s:", seen)
    assert seen["frames"] == 125 and seen["late"] == 0, seen
    assert seen["mismatched"] == 0, seen
    assert seen["pooled_before_kill"] and seen["local"] > 0, seen
    remove(settings)
