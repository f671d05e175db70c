"""One stream's session as a Ray actor.

Ray runs `__init__` again in a new process whenever the actor is restarted (a SIGKILL, a
lost node), and nothing else: so `__init__` starts the session, always as a takeover of
whatever ran before (`run_stream(takeover=True)`), in a thread with its own event loop, so
the program clock never shares a loop with Ray's calls. Comments come from Redis
(`REDIS_URL`), since the web front that receives them is in another process.

A stream that ends (its duration, an operator's stop) removes its own actor without a
restart; one that cannot start (a bad setting) says why in its status; a crash inside the
session ends the process, and Ray restarts it as after a kill.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

import ray

from host.chat.redis_bus import RedisBus
from host.config import Settings
from host.db.engine import make_engine
from host.errors import HostError
from host.session.builder import Front, Running, run_stream
from host.session.spec import StreamSpec
from host.stream.clock import WallClock

log = logging.getLogger(__name__)


class StreamActor:
    def __init__(
        self,
        spec: StreamSpec,
        settings: Settings,
        environ: dict[str, str],
        duration: float | None,
    ) -> None:
        self._spec, self._settings, self._environ = spec, settings, environ
        self._duration = duration
        self._running: Running | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
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
        """End after the sentence on air, as `host run` does on SIGTERM."""
        running, loop = self._running, self._loop
        if running is not None and loop is not None:
            loop.call_soon_threadsafe(running.live.request_stop)

    def _run(self) -> None:
        try:
            asyncio.run(self._session())
            self._state = "ended"
        except HostError as error:  # stays, so whoever placed it reads why (placement.remove)
            self._state, self._error = "failed", str(error)
            log.error("stream %s cannot run: %s", self._spec.name, error)
            return
        except BaseException:
            log.exception("stream %s crashed; Ray restarts it", self._spec.name)
            os._exit(1)  # the process, not just this thread: Ray restarts the actor
        ray.kill(ray.get_runtime_context().current_actor, no_restart=True)

    async def _session(self) -> None:
        settings = self._settings
        engine = make_engine(settings.database_url)
        front = Front()
        if settings.redis_url is not None:
            front.ingress = RedisBus(settings.redis_url.get_secret_value(), WallClock())
        self._loop = asyncio.get_running_loop()

        def started(running: Running) -> None:
            self._running = running
            self._state = "on air"
            self._on_air_at = time.time()

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
            )
        finally:
            engine.dispose()
