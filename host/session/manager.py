"""The streams one process runs: started from stream files, stopped, listed, watched.

`host run` uses it for its one stream, `host serve` for as many as the operator starts. It
owns what sessions share with the web front of the same process: the comment bus (ingress
and Douyin hand-over by stream name) and the metrics registry.

With `RAY_ADDRESS` set, `host serve` starts each stream on that Ray cluster instead
(`host/cluster/placement.py`) and follows it from here; its ingress then publishes to Redis
(`REDIS_URL`), where the stream's session reads, wherever it runs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import Engine

from host.chat.sources.douyin import DouyinHub
from host.chat.sources.websocket_ingress import IngressHub
from host.config import Settings
from host.errors import HostError
from host.session.builder import Front, Running, run_stream
from host.session.controls import Controls
from host.session.live import SessionResult
from host.session.metrics import Metrics
from host.session.spec import StreamSpec, load_stream
from host.stream.clock import WallClock
from host.stream.program import ProgramStats
from host.stream.sinks.rtmp import redact_url

log = logging.getLogger(__name__)

FOLLOW_S = 1.0  # how often host serve asks a stream on a cluster how it is


@dataclass
class Managed:
    spec: StreamSpec
    settings: Settings
    path: Path | None
    task: asyncio.Task[SessionResult]
    running: Running | None = None
    error: str | None = None
    remote: dict[str, Any] | None = None  # on a cluster: the actor's last status

    @property
    def state(self) -> str:
        if not self.task.done():
            if self.remote is not None:
                return str(self.remote["state"])
            return "on air" if self.running is not None else "starting"
        if self.task.cancelled():
            return "stopped"
        return "failed" if self.task.exception() is not None else "ended"


class StreamManager:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.registry = CollectorRegistry()
        self.douyin = DouyinHub(settings.douyin_max_skew_s)
        ingress = IngressHub(WallClock(), settings.ingress_queue_size)
        if settings.redis_url is not None:
            from host.chat.redis_bus import RedisBus, RedisDouyinHub  # the cluster extra

            ingress = RedisBus(settings.redis_url.get_secret_value(), WallClock())
            self.douyin = RedisDouyinHub(ingress, settings.douyin_max_skew_s)
        self.front = Front(
            ingress=ingress,
            douyin=self.douyin,
            metrics=Metrics(self.registry),
        )
        self.streams: dict[str, Managed] = {}

    def start(
        self,
        spec: StreamSpec,
        *,
        path: Path | None = None,
        duration: float | None = None,
        realtime: bool = True,
    ) -> Managed:
        """Start `spec` as a task of the running loop; its settings are checked first."""
        current = self.streams.get(spec.name)
        if current is not None and not current.task.done():
            raise HostError(f"stream {spec.name} is already running")
        settings = spec.settings_for(self.settings)
        preview = self.preview_dir(spec.name)
        shutil.rmtree(preview, ignore_errors=True)  # a last run's segments are not this one's
        managed: Managed

        def started(running: Running) -> None:
            managed.running = running

        task = asyncio.create_task(
            run_stream(
                spec,
                settings,
                self.engine,
                duration=duration,
                realtime=realtime,
                front=self.front,
                on_start=started,
                preview_dir=preview,
            )
            if self.settings.ray_address is None
            else self._on_cluster(spec, settings, duration, lambda: managed),
            name=f"stream-{spec.name}",
        )
        managed = Managed(spec, settings, path, task)
        task.add_done_callback(lambda t: self._ended(managed, t))
        secret = settings.douyin_webhook_secret
        if secret is not None and any(s.kind == "douyin" for s in spec.sources):
            self.douyin.secrets[spec.name] = secret  # the webhook route reads it
        self.streams[spec.name] = managed
        return managed

    def ingress_tokens(self) -> dict[str, SecretStr]:
        """Websocket ingress tokens: INGRESS_TOKENS and each running stream's own."""
        tokens = dict(self.settings.ingress_tokens)
        for name, managed in self.streams.items():
            if not managed.task.done() and name in managed.settings.ingress_tokens:
                tokens[name] = managed.settings.ingress_tokens[name]
        return tokens

    def start_file(self, path: Path, **options: Any) -> Managed:
        return self.start(load_stream(path), path=path, **options)

    def stop(self, name: str) -> Managed:
        """Ask the stream to end after the sentence on air (recordings are closed)."""
        managed = self.streams.get(name)
        if managed is None:
            raise KeyError(name)
        if managed.running is not None:
            managed.running.live.request_stop()
        elif managed.remote is not None:
            from host.cluster import placement

            placement.stop(name)
        elif not managed.task.done():
            managed.task.cancel()
        return managed

    def preview_dir(self, name: str) -> Path:
        """Where a stream's console preview (HLS) is written when its file has no HLS sink."""
        return self.settings.var_dir / "preview" / name

    def hls_dir(self, name: str) -> Path:
        """The folder of the stream's HLS playlist: its own HLS sink's, else the preview's."""
        managed = self.streams[name]
        own = next((s.dir for s in managed.spec.sinks if s.kind == "hls"), None)
        return own if own is not None else self.preview_dir(name)

    def running(self, name: str) -> Running:
        """The session of a stream on air; KeyError for an unknown stream, HostError when it
        is not on air (starting, or ended)."""
        managed = self.streams[name]
        if managed.running is None or managed.task.done():
            raise HostError(f"stream {name} is {managed.state}, not on air")
        return managed.running

    def controls(self, name: str) -> Controls:
        return self.running(name).live.controls

    def status(self, name: str) -> dict[str, Any]:
        """What the stream is doing, safe to show anyone who may see the stream (and /health):
        the file by name, not its folder; the error without the stream's secrets."""
        managed = self.streams[name]
        out: dict[str, Any] = {
            "stream": name,
            "state": managed.state,
            "file": managed.path.name if managed.path else None,
            "error": _shown(managed.error, managed.settings) if managed.error else None,
        }
        if managed.running is not None:
            out |= managed.running.status()
        if managed.remote is not None:
            out |= {k: v for k, v in managed.remote.items() if k not in out}
        return out

    def health(self) -> dict[str, Any]:
        streams = {name: self.status(name) for name in self.streams}
        degraded = any(
            s["state"] == "failed"
            or not all(s.get("sinks", {}).values())
            or any(v == "failed" for v in s.get("sources", {}).values())
            for s in streams.values()
        )
        return {"status": "degraded" if degraded else "ok", "streams": streams}

    async def stop_all(self) -> None:
        for name in list(self.streams):
            self.stop(name)
        await asyncio.gather(*(m.task for m in self.streams.values()), return_exceptions=True)

    async def _on_cluster(
        self,
        spec: StreamSpec,
        settings: Settings,
        duration: float | None,
        managed: Callable[[], Managed],
    ) -> SessionResult:
        """Place the stream on the cluster, then follow its actor until it is gone."""
        from host.cluster import placement

        address = self.settings.ray_address
        assert address is not None
        placement.check_settings(settings)
        await asyncio.to_thread(placement.connect, address, settings)
        await asyncio.to_thread(placement.place, spec, settings, duration=duration)
        last: dict[str, Any] = {}
        while (now := await asyncio.to_thread(placement.status, spec.name)) is not None:
            if now["state"] == "failed":
                await asyncio.to_thread(placement.remove, spec.name)
                raise HostError(now["error"] or f"stream {spec.name} failed")
            managed().remote = last = now
            await asyncio.sleep(FOLLOW_S)
        stats = ProgramStats(frames=int(last.get("frames", 0)))
        return SessionResult([], {}, int(last.get("comments", 0)), stats)

    def _ended(self, managed: Managed, task: asyncio.Task[SessionResult]) -> None:
        self.douyin.secrets.pop(managed.spec.name, None)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            managed.error = str(error) if isinstance(error, HostError) else repr(error)
            if not isinstance(error, HostError):
                log.error("stream %s failed", managed.spec.name, exc_info=error)


_URL = re.compile(r"rtmps?://\S+", re.IGNORECASE)


def _shown(text: str, settings: Settings) -> str:
    """`text` with every secret setting (API keys, tokens, ingress tokens) and every RTMP
    stream key replaced by ***: a failed stream's error may quote any of them."""
    values = [*vars(settings).values(), *settings.ingress_tokens.values()]
    secrets = {v.get_secret_value() for v in values if isinstance(v, SecretStr)} - {""}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _URL.sub(lambda match: redact_url(match.group()), text)
