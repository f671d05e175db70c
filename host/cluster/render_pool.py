"""The render pool: a talking-head model behind a Ray Serve deployment, so one GPU box draws
the speech of streams whose sessions run on CPU boxes.

A session asks for a sentence a chunk of `RENDER_POOL_CHUNK` frames at a time, up to
`RENDER_POOL_AHEAD` chunks ahead of the frame on air (a call per frame costs more in
round trips than the frame itself: per-frame calls fell behind at four streams where
chunked ones held 25 fps). The calls run in the session's own threads; the frame path only
looks whether a chunk has come back. A frame whose chunk is not back when it is due is
drawn by the session's local animator, which draws exactly what the pool would (same look,
seed, gesture and set), so a slow, busy or lost pool costs CPU on the session's box, never
a late or missing frame, and a mixed sentence shows no seam.

The built-in illustrated host stands in for the GPU model (`ChunkRenderer` draws with it);
a model in its place renders the same `Chunk` on `num_gpus` replicas. Idle frames are
always drawn locally: a pool earns its keep on speech.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from host.config import Settings
from host.errors import HostError
from host.face.avatar_art import LookName
from host.face.base import MouthPose, Side
from host.face.builtin import IllustratedAnimator
from host.face.host_motion import GestureState, nods

log = logging.getLogger(__name__)

MISSES_TO_PAUSE = 3  # chunks in a row that came back too late before the session draws alone
FACES_KEPT = 16  # animators a replica keeps drawn (a look, size and set each, a few MB each)
ROUND_TRIPS_KEPT = 1000  # chunk round trips kept for percentiles


@dataclass(frozen=True)
class Face:
    """Everything that decides how the host looks, so a replica draws what the session would."""

    look: LookName
    width: int
    height: int
    fps: int
    seed: int


@dataclass(frozen=True)
class Chunk:
    """A few consecutive frames of one sentence. `nods` are the sentence's own (they depend
    on the whole mouth track); `backdrop` is the set as (key, the image or its Ray object)."""

    face: Face
    start_frame: int
    poses: tuple[MouthPose, ...]
    nods: tuple[float, ...]
    gesture: GestureState
    backdrop: tuple[str, Any] | None = None


class ChunkRenderer:
    """A replica of the pool: draws chunks for any number of streams and looks, one chunk at
    a time (Serve calls it from several threads; a cached animator's gesture is per chunk),
    as a model's forward pass would; more throughput is more replicas.

    `delay_s` makes every chunk that much slower: an overloaded GPU, for tests and bench.
    """

    def __init__(self, delay_s: float = 0.0) -> None:
        self._delay_s = delay_s
        self._faces: OrderedDict[tuple[Face, str | None], IllustratedAnimator] = OrderedDict()
        self._drawing = threading.Lock()

    def __call__(self, chunk: Chunk) -> np.ndarray:
        with self._drawing:
            if self._delay_s:
                time.sleep(self._delay_s)
            animator = self._animator(chunk.face, chunk.backdrop)
            animator.gesture.restore(chunk.gesture)
            f = chunk.face
            frames = np.empty((len(chunk.poses), f.height, f.width, 3), np.uint8)
            for i, (pose, nod) in enumerate(zip(chunk.poses, chunk.nods, strict=True)):
                frames[i] = animator.speaking(chunk.start_frame + i, pose, nod)
            return frames

    def pid(self) -> int:
        """This replica's process (tests kill it)."""
        return os.getpid()

    def _animator(self, face: Face, backdrop: tuple[str, Any] | None) -> IllustratedAnimator:
        key = (face, backdrop[0] if backdrop is not None else None)
        if key in self._faces:
            self._faces.move_to_end(key)
            return self._faces[key]
        animator = IllustratedAnimator(face.width, face.height, face.fps, face.seed, face.look)
        if backdrop is not None:
            image = backdrop[1]
            if not isinstance(image, np.ndarray):  # a Ray object: fetched once per set
                import ray

                image = ray.get(image)
            animator.set_backdrop(image)
        self._faces[key] = animator
        if len(self._faces) > FACES_KEPT:
            self._faces.popitem(last=False)
        return animator


class ChunkPool(Protocol):
    """Where chunks are drawn: `render` blocks (in a session's pool thread) until the frames
    are back, or raises; never called on the frame path."""

    def render(self, chunk: Chunk, timeout_s: float) -> np.ndarray: ...


class ServePool:
    """The pool deployed as the Serve app `app` on the cluster this process is part of."""

    def __init__(self, app: str) -> None:
        self.app = app
        self._handle: Any = None
        self._set: tuple[str, Any] | None = None  # the set behind the host, put in Ray once

    def render(self, chunk: Chunk, timeout_s: float) -> np.ndarray:
        from ray import serve

        if self._handle is None:  # looked up again after a failure: the app may be redeployed
            self._handle = serve.get_app_handle(self.app)
        response = self._handle.remote(replace(chunk, backdrop=self._put(chunk.backdrop)))
        try:
            return np.asarray(response.result(timeout_s=timeout_s))
        except TimeoutError:
            with contextlib.suppress(Exception):  # best effort: the replica may be gone
                response.cancel()
            raise
        except Exception:
            self._handle = None
            raise

    def _put(self, backdrop: tuple[str, Any] | None) -> tuple[str, Any] | None:
        """The set as a Ray object: sent to the object store once, fetched once per replica."""
        import ray

        if backdrop is None:
            return None
        kept = self._set
        if kept is None or kept[0] != backdrop[0]:
            kept = self._set = (backdrop[0], ray.put(backdrop[1]))
        return kept


@dataclass
class PoolStats:
    pooled_frames: int = 0  # speech frames the pool drew in time
    local_frames: int = 0  # speech frames drawn here: the pool was late, failed, or paused
    chunks: int = 0  # asked
    missed_chunks: int = 0  # none of their frames came in time
    pauses: int = 0
    round_trips_ms: deque[float] = field(default_factory=lambda: deque(maxlen=ROUND_TRIPS_KEPT))


class PooledAnimator:
    """`Animator` over the built-in host whose speech the pool draws ahead, frame for frame
    the same as `local` would; `local` draws idle frames and every frame the pool missed."""

    def __init__(
        self,
        local: IllustratedAnimator,
        pool: ChunkPool,
        *,
        chunk: int = 10,
        ahead: int = 3,
        timeout_s: float = 2.0,
        retry_s: float = 5.0,
    ) -> None:
        self.width, self.height = local.width, local.height
        self.stats = PoolStats()
        self._local, self._pool = local, pool
        self._face = Face(local.look, local.width, local.height, local.fps, local.seed)
        self._chunk, self._ahead = chunk, ahead
        self._timeout_s, self._retry_s = timeout_s, retry_s
        self._threads = ThreadPoolExecutor(ahead, "render-pool")
        self._sets = (f"{uuid.uuid4().hex}-{n}" for n in itertools.count())
        self._backdrop: tuple[str, np.ndarray] | None = None
        self._misses = 0
        self._paused_until = 0.0

    def idle(self, frame_index: int) -> np.ndarray:
        return self._local.idle(frame_index)

    def present(self, side: Side | None, frame_index: int) -> None:
        self._local.present(side, frame_index)

    def set_backdrop(self, image: np.ndarray) -> bool:
        drawn = self._local.set_backdrop(image)
        self._backdrop = (next(self._sets), image)
        return drawn

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    def warm(self) -> None:
        """One frame asked of the pool before the clock starts: the first call imports Ray
        Serve's client and starts its router, which held the GIL for frames when it was
        left to the first sentence on air. A pool that does not answer is only noted: the
        session draws alone until it does."""
        chunk = Chunk(self._face, 0, (MouthPose(0.0),), (0.0,), self._local.gesture.state())
        try:
            self._ask(chunk)
        except Exception as error:
            log.warning(
                "render pool not answering (%s: %s); drawing here until it does",
                type(error).__name__,
                error,
            )
        self.stats.round_trips_ms.clear()  # the figures are of the stream's own calls

    def speak(self, poses: Sequence[MouthPose], start_frame: int) -> Iterator[np.ndarray]:
        """Runs from the sentence's first frame (after its `present`): chunks are asked with
        the gesture and set of that moment, and a frame is the pool's only while both hold."""
        track = nods(poses, self._local.fps)
        gesture, backdrop = self._local.gesture.state(), self._backdrop
        asked: dict[int, Future[np.ndarray]] = {}  # first frame of a chunk -> its frames
        used: set[int] = set()  # chunks that delivered a frame in time
        next_chunk = 0

        def chunk_at(k: int) -> Chunk:
            end = min(k + self._chunk, len(poses))
            poses_, nods_ = tuple(poses[k:end]), tuple(track[k:end])
            return Chunk(self._face, start_frame + k, poses_, nods_, gesture, backdrop)

        try:
            for i, pose in enumerate(poses):
                first = i - i % self._chunk  # of the chunk frame i is in
                next_chunk = max(next_chunk, first)  # after a pause: what is not yet due
                while next_chunk < min(len(poses), i + self._chunk * self._ahead) and (
                    time.monotonic() >= self._paused_until
                ):
                    asked[next_chunk] = self._threads.submit(self._ask, chunk_at(next_chunk))
                    next_chunk += self._chunk
                frame = None
                same = self._backdrop is backdrop and self._local.gesture.state() == gesture
                if (done := asked.get(first)) is not None and done.done() and same:
                    with contextlib.suppress(Exception):
                        frame = done.result()[i - first]
                        used.add(first)
                if frame is None:
                    self.stats.local_frames += 1
                    frame = self._local.speaking(start_frame + i, pose, track[i])
                else:
                    self.stats.pooled_frames += 1
                if i - first == self._chunk - 1 or i == len(poses) - 1:  # its last frame
                    self._settle(asked.pop(first, None), first in used)
                yield frame
        finally:  # a sentence cut short: what is still queued is not asked for
            for waiting in asked.values():
                waiting.cancel()

    def _ask(self, chunk: Chunk) -> np.ndarray:
        """In a pool thread: one chunk's round trip. Frames of any other shape are refused
        here, so a wrong pool cannot break the program's frame check."""
        t0 = time.perf_counter()
        try:
            frames = self._pool.render(chunk, self._timeout_s)
        finally:
            self.stats.round_trips_ms.append((time.perf_counter() - t0) * 1000)
        wanted = (len(chunk.poses), self.height, self.width, 3)
        if frames.shape != wanted or frames.dtype != np.uint8:
            raise ValueError(f"the pool drew {frames.dtype} {frames.shape}, not uint8 {wanted}")
        return frames

    def _settle(self, asked: Future[np.ndarray] | None, delivered: bool) -> None:
        """A chunk's frames are all on air: count it, and after MISSES_TO_PAUSE chunks in a
        row that delivered nothing, draw alone for RENDER_POOL_RETRY_S (a struggling pool is
        not sent more work it cannot finish in time)."""
        if asked is None:
            return  # not asked: the pool was paused
        self.stats.chunks += 1
        if delivered:
            self._misses = 0
            return
        self.stats.missed_chunks += 1
        asked.cancel()  # still queued here: no use asking for frames already on air
        self._misses += 1
        if self._misses >= MISSES_TO_PAUSE:
            self._misses = 0
            self.stats.pauses += 1
            self._paused_until = time.monotonic() + self._retry_s
            failed = asked.exception() if asked.done() and not asked.cancelled() else None
            log.warning(
                "render pool: %d chunks in a row too late%s; drawing here for %.0f s",
                MISSES_TO_PAUSE,
                f" ({type(failed).__name__}: {failed})" if failed is not None else "",
                self._retry_s,
            )


def pooled(local: IllustratedAnimator, settings: Settings) -> PooledAnimator:
    """The session's animator when RENDER_POOL names a pool: needs this process to be part
    of the Ray cluster (a stream placed with `host run --cluster` or `host serve`)."""
    import ray

    if not ray.is_initialized():
        raise HostError(
            "RENDER_POOL is for streams on a Ray cluster: run with --cluster ray://HOST:PORT"
            " (or unset RENDER_POOL)"
        )
    assert settings.render_pool is not None
    pool = ServePool(settings.render_pool)
    animator = PooledAnimator(
        local,
        pool,
        chunk=settings.render_pool_chunk,
        ahead=settings.render_pool_ahead,
        timeout_s=settings.render_pool_timeout_s,
        retry_s=settings.render_pool_retry_s,
    )
    animator.warm()
    return animator


def deploy(settings: Settings, *, delay_s: float = 0.0) -> None:
    """Start (or update) the pool as the Serve app RENDER_POOL on the connected cluster:
    RENDER_POOL_REPLICAS replicas with RENDER_POOL_GPUS each, reached through deployment
    handles only (Serve's HTTP proxy stays off: nothing new listens)."""
    from ray import serve

    if settings.render_pool is None:
        raise HostError("RENDER_POOL is not set: the name the render pool is deployed under")
    serve.start(proxy_location="Disabled")
    options: dict[str, Any] = {"num_cpus": 1}
    if settings.render_pool_gpus:
        options["num_gpus"] = settings.render_pool_gpus
    deployment = serve.deployment(
        name="render", num_replicas=settings.render_pool_replicas, ray_actor_options=options
    )(ChunkRenderer)
    serve.run(deployment.bind(delay_s), name=settings.render_pool, route_prefix=None)


def remove(settings: Settings) -> None:
    from ray import serve

    if settings.render_pool is None:
        raise HostError("RENDER_POOL is not set: the name the render pool is deployed under")
    serve.delete(settings.render_pool)
