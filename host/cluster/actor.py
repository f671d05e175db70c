"""One stream's session as a Ray actor, and its warm standby.

Ray runs `__init__` again in a new process whenever the actor is restarted (a SIGKILL, a
lost node), and nothing else: so `__init__` starts the session, always as a takeover of
whatever ran before (`run_stream(takeover=True)`), in a thread with its own event loop, so
the program clock never shares a loop with Ray's calls. Comments come from Redis
(`REDIS_URL`), since the web front that receives them is in another process.

A restart pays for importing `host` and building a session (voices, avatar, catalog)
after the loss, seconds a viewer sees. So each stream has two actors, `stream:NAME` and
`standby:NAME`, on different nodes when there are two: both build a session, one goes on
air, the other waits on the lease (`host/session/lease.py`, `Standby`) and takes over the
moment it goes unrenewed. Whichever of them Ray restarts comes back as the standby, and a
session fenced by its successor ends its process so that it comes back the same way.

A stream that ends (its duration, an operator's stop) removes both actors without a
restart; one that cannot start (a bad setting) says why in its status; a crash inside the
session ends the process, and Ray restarts it as after a kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from typing import Any

import ray

from host.chat.redis_bus import RedisBus, RedisDouyinHub
from host.config import Settings
from host.db.engine import make_engine
from host.errors import HostError
from host.session.builder import Front, Running, run_stream
from host.session.lease import Standby, StreamOver
from host.session.spec import StreamSpec
from host.stream.clock import WallClock

log = logging.getLogger(__name__)

ROLES = ("stream:", "standby:")  # + stream name: its actor on air first, and its standby


def actor_names(stream: str) -> list[str]:
    return [role + stream for role in ROLES]


class StreamActor:
    def __init__(
        self,
        spec: StreamSpec,
        settings: Settings,
        environ: dict[str, str],
        duration: float | None,
        standby: bool = False,
    ) -> None:
        self._spec, self._settings, self._environ = spec, settings, environ
        self._duration = duration
        restarted = ray.get_runtime_context().was_current_actor_reconstructed
        self._standby: Standby | None = None
        self._waits, self._armed = standby or restarted, restarted
        self._running: Running | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: asyncio.Task[Any] | None = None
        self._stop_asked = False
        self._state = "starting"
        self._error: str | None = None
        self._started_at = time.time()  # this process's start: a restart's cost shows here
        self._on_air_at: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"stream-{spec.name}", daemon=True)
        self._thread.start()

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stream": self._spec.name,
            "state": self._state,
            "error": self._error,
            "node": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "started_at": self._started_at,
            "on_air_at": self._on_air_at,
        }
        if self._running is not None:
            out |= self._running.status()
        return out

    def stop(self) -> None:
        """End after the sentence on air, as `host run` does on SIGTERM; a standby ends."""
        self._stop_asked = True  # still building or taking over: seen when that is done
        running, waiting, loop = self._running, self._waiting, self._loop
        if loop is None:
            return
        if waiting is not None:
            loop.call_soon_threadsafe(waiting.cancel)
        elif running is not None:
            loop.call_soon_threadsafe(running.live.request_stop)

    def _run(self) -> None:
        context = ray.get_runtime_context()
        try:
            asyncio.run(self._session())
        except StreamOver:  # a standby of a stream that ended: only this actor goes
            ray.kill(context.current_actor, no_restart=True)
            return
        except HostError as error:  # stays, so whoever placed it reads why (placement.remove)
            self._state, self._error = "failed", str(error)
            log.error("stream %s cannot run: %s", self._spec.name, error)
            return
        except BaseException:
            log.exception("stream %s crashed; Ray restarts it", self._spec.name)
            os._exit(1)  # the process, not just this thread: Ray restarts the actor
        if self._running is not None and self._running.lease.lost is not None:
            log.warning("stream %s: a successor took over; standing by", self._spec.name)
            os._exit(1)  # Ray restarts this actor, which then waits as the standby
        self._state = "ended"
        for name in actor_names(self._spec.name):  # its standby too: the stream is over
            if name != context.get_actor_name():
                with contextlib.suppress(ValueError):
                    ray.kill(ray.get_actor(name), no_restart=True)
        ray.kill(context.current_actor, no_restart=True)

    async def _wait_turn(self) -> None:
        assert self._standby is not None
        if self._stop_asked:
            raise StreamOver(f"stream {self._spec.name} stopped")
        self._state, self._waiting = "standby", asyncio.current_task()
        try:
            await self._standby.wait()
        except asyncio.CancelledError:  # stop(): a standby has nothing to finish
            raise StreamOver(f"stream {self._spec.name} stopped") from None
        self._waiting, self._state = None, "taking over"

    async def _session(self) -> None:
        settings = self._settings
        engine = make_engine(settings.database_url)
        front = Front()
        if self._waits:
            self._standby = Standby(
                engine, self._spec.name, after_s=settings.standby_after_s, armed=self._armed
            )
        if settings.redis_url is not None:
            front.ingress = RedisBus(settings.redis_url.get_secret_value(), WallClock())
            front.douyin = RedisDouyinHub(front.ingress, settings.douyin_max_skew_s)
        self._loop = asyncio.get_running_loop()

        def started(running: Running) -> None:
            self._running = running
            self._state = "on air"
            self._on_air_at = time.time()
            if self._stop_asked:  # asked while it was being built or taking over
                running.live.request_stop()

        try:
            await run_stream(
                self._spec,
                settings,
                engine,
                duration=self._duration,
                front=front,
                on_start=started,
                environ=self._environ,
                takeover=True,
                standby=self._wait_turn if self._standby is not None else None,
            )
        finally:
            engine.dispose()
