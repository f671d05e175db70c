"""The render pool draws a session's speech ahead, frame for frame what the session would
draw itself; a pool that is slow, failing or killed leaves the frames to the session, and
the program misses none and starts none late.

The first tests drive `PooledAnimator` against the pool's own renderer in this process;
the slow ones deploy the pool with Ray Serve on a local two-node cluster and run a
realtime program for a few seconds in a Ray worker process, as a clustered session runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

pytest.importorskip("ray", reason="the cluster extra is not installed (make setup-cluster)")

from host.cli import app
from host.cluster.render_pool import Chunk, ChunkRenderer, Face, PooledAnimator, deploy, remove
from host.config import Settings
from host.errors import HostError
from host.face.builtin import IllustratedAnimator
from host.face.host_motion import nods
from host.face.wear import build_animator
from tests.ray_cluster import RayCluster
from tests.talking import SENTENCE, Talker, backdrop, reference, talk_remote

W, H, FPS = 240, 416, 25
SMALL = Settings(_env_file=None, width=W, height=H, fps=FPS, host_look="female")  # type: ignore[call-arg]


class InProcess:
    """The pool's renderer called in this process (or an unreachable pool)."""

    def __init__(self, fail: bool = False) -> None:
        self.renderer, self.fail = ChunkRenderer(), fail

    def render(self, chunk: Chunk, timeout_s: float) -> np.ndarray:
        if self.fail:
            raise ConnectionError("pool unreachable")
        return self.renderer(chunk)


def pooled(pool: Any, **options: Any) -> PooledAnimator:
    animator = PooledAnimator(IllustratedAnimator(W, H, FPS), pool, **options)
    animator.set_backdrop(backdrop(W, H))
    return animator


def walked(animator: PooledAnimator, frames: int, pace_s: float) -> list[np.ndarray]:
    talker = Talker(animator, SMALL.audio_rate, FPS)
    talker.walk(frames, pace_s)
    return talker.frames


def same(frames: list[np.ndarray]) -> bool:
    want = reference(SMALL, len(frames))
    return all(np.array_equal(a, b) for a, b in zip(frames, want, strict=True))


def test_a_chunk_from_the_pool_is_what_the_local_animator_draws() -> None:
    local = IllustratedAnimator(W, H, FPS)
    local.set_backdrop(backdrop(W, H))
    local.present("left", 3)
    speech = list(local.speak(SENTENCE, 5))
    track = nods(SENTENCE, FPS)
    chunk = Chunk(
        Face("female", W, H, FPS, 7),
        5 + 10,
        tuple(SENTENCE[10:20]),
        tuple(track[10:20]),
        local.gesture.state(),
        ("set", backdrop(W, H)),
    )
    frames = ChunkRenderer()(chunk)
    assert frames.shape == (10, H, W, 3)
    assert all(np.array_equal(frames[k], speech[10 + k]) for k in range(10))
    assert any(n > 0 for n in track[10:20])  # a nod inside the chunk: nods travel along


def test_pool_frames_that_arrive_in_time_are_used_and_match_the_local_ones() -> None:
    talking = pooled(InProcess(), chunk=10, ahead=3)
    frames = walked(talking, 120, pace_s=0.004)
    assert talking.stats.pooled_frames > 60, talking.stats
    assert talking.stats.pooled_frames + talking.stats.local_frames == 120
    assert same(frames)


def test_a_failing_pool_leaves_every_frame_to_the_session_and_is_left_alone_a_while() -> None:
    talking = pooled(InProcess(fail=True), chunk=10, ahead=2, retry_s=60)
    frames = walked(talking, 100, pace_s=0.001)
    stats = talking.stats
    assert stats.pooled_frames == 0 and stats.local_frames == 100
    assert stats.pauses == 1  # after MISSES_TO_PAUSE chunks; none asked after that but
    assert stats.chunks == stats.missed_chunks == 5  # the first sentence's, asked already
    assert same(frames)


def test_a_pool_that_draws_the_wrong_size_is_not_put_on_air() -> None:
    class Wrong:
        def render(self, chunk: Chunk, timeout_s: float) -> np.ndarray:
            return np.zeros((len(chunk.poses), H // 2, W, 3), np.uint8)

    talking = pooled(Wrong(), chunk=10, ahead=3)
    frames = walked(talking, 40, pace_s=0.003)
    assert talking.stats.pooled_frames == 0 and same(frames)


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({}, "RENDER_POOL is not set"),
        ({"RENDER_POOL": "faces"}, "no cluster named: pass --cluster"),
    ],
)
def test_host_pool_deploy_names_what_it_lacks_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], error: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name in ("RENDER_POOL", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["pool", "deploy"], env=env)
    assert result.exit_code == 1
    assert error in result.output and len(result.output.strip().splitlines()) == 1


def test_render_pool_outside_a_cluster_says_so_in_one_line(settings: Settings) -> None:
    named = settings.model_copy(update={"render_pool": "faces", "width": W, "height": H})
    with pytest.raises(HostError, match="RENDER_POOL is for streams on a Ray cluster"):
        build_animator(named)
    with pytest.raises(HostError, match="unset AVATAR"):
        build_animator(named.model_copy(update={"avatar": "eileen"}))


# --- on a Ray cluster, through Serve --------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[RayCluster, Settings]]:
    """A two-node cluster (one for all three tests: starting one costs seconds of CPU) and
    the settings of a small stream drawn by the pool `faces`."""
    import ray

    from host.cluster import placement

    running = RayCluster(secrets.token_hex(16), cpus=2).start()
    settings = SMALL.model_copy(
        update={
            "ray_auth_token": SecretStr(running.token),
            "render_pool": "faces",
            "render_pool_timeout_s": 1.0,
            "render_pool_retry_s": 2.0,
        }
    )
    try:
        placement.connect(running.address, settings)
        deploy(settings)  # here, not first under CliRunner: Serve's log handler keeps its stderr
        yield running, settings
    finally:
        ray.shutdown()
        running.stop()


def talk(settings: Settings, seconds: float, **options: Any) -> dict[str, Any]:
    import ray

    seen = dict(ray.get(talk_remote(settings, seconds, **options), timeout=120))
    trips = sorted(seen.pop("round_trips_ms"))
    seen["round_trip_ms_p50"] = round(trips[len(trips) // 2]) if trips else None
    return seen


def on_time(seen: dict[str, Any]) -> bool:
    """No frame waited on the pool: one that did would start late by the pool's timeout
    (1 s) or a chunk's delay. A frame or two a little late is the shared 2-core machine
    (a Ray cluster, the replica and the program on it), not the pool."""
    return seen["late"] <= 2 and seen["max_lateness_ms"] < 400


@pytest.fixture
def on_cluster(cluster: tuple[RayCluster, Settings]) -> Settings:
    return cluster[1]


@pytest.mark.slow
def test_the_pool_draws_a_clustered_sessions_speech_as_the_session_would(
    cluster: tuple[RayCluster, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, settings = cluster
    monkeypatch.chdir(tmp_path)  # no developer's .env
    env = {"RAY_AUTH_TOKEN": running.token, "RENDER_POOL": "faces", "RENDER_POOL_REPLICAS": "1"}
    deployed = CliRunner().invoke(app, ["pool", "deploy", "--cluster", running.address], env=env)
    assert deployed.exit_code == 0, deployed.output
    assert "render pool faces: 1 replica (1 CPU each)" in deployed.output
    seen = talk(settings, 4.0)
    print("healthy pool:", seen)
    assert seen["frames"] == 100 and on_time(seen), seen
    assert seen["mismatched"] == 0, seen
    assert seen["pooled"] > 60 and seen["pauses"] == 0, seen


@pytest.mark.slow
def test_a_slow_pool_leaves_the_frames_to_the_session_none_late(on_cluster: Settings) -> None:
    deploy(on_cluster, delay_s=1.5)  # each chunk slower than RENDER_POOL_TIMEOUT_S
    seen = talk(on_cluster, 4.0)
    print("slow pool:", seen)
    assert seen["frames"] == 100 and on_time(seen), seen
    assert seen["mismatched"] == 0, seen
    assert seen["pooled"] == 0 and seen["local"] == 100 and seen["pauses"] >= 1, seen


@pytest.mark.slow
def test_a_pool_killed_mid_run_does_not_stop_the_stream(on_cluster: Settings) -> None:
    deploy(on_cluster)
    seen = talk(on_cluster, 5.0, kill_pool_after_s=2.0)
    print("pool killed after 2 s:", seen)
    assert seen["frames"] == 125 and on_time(seen), seen
    assert seen["mismatched"] == 0, seen
    assert seen["pooled_before_kill"] and seen["local"] > 0, seen
    remove(on_cluster)
