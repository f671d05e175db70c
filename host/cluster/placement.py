"""Putting streams on a Ray cluster, finding them and stopping them, from any machine.

A stream is the detached actor `stream:NAME` in the cluster's namespace, with its warm
standby `standby:NAME` on another node (`CLUSTER_STANDBY`), so whichever process placed it
(a `host run --cluster` terminal, `host serve`) may go away and the stream stays on air;
Ray restarts either `CLUSTER_MAX_RESTARTS` times. Ray's token authentication is
always on: the token comes from `RAY_AUTH_TOKEN` (the setting, which is also the variable
Ray itself reads), and nothing is placed on a cluster without one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import zlib
from collections.abc import Callable
from typing import Any

import ray
from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from host.cluster.actor import ROLES, StreamActor, actor_names
from host.config import Settings
from host.db.engine import sqlite_file
from host.errors import HostError
from host.session.spec import StreamSpec

PREFIX = ROLES[0]  # + stream name: the actor's name
CONNECT_TRIES = 3  # a busy head's client server sometimes fails to start a client's server

log = logging.getLogger(__name__)


def check_settings(settings: Settings) -> None:
    """What a stream on a cluster needs beyond a stream on one machine, named before any
    connection is tried."""
    if settings.ray_auth_token is None:
        raise HostError("RAY_AUTH_TOKEN is not set: the token the Ray cluster was started with")
    if settings.redis_url is None:
        raise HostError("REDIS_URL is not set: a stream on a cluster reads its comments from Redis")
    if sqlite_file(settings.database_url) is not None:
        raise HostError(
            "DATABASE_URL is a SQLite file: a stream on a cluster needs a database every node"
            " reaches (postgresql+psycopg://...)"
        )


def connect(address: str, settings: Settings) -> None:
    """Join the cluster at `address` (`ray://HOST:PORT` through its client server, or
    `HOST:PORT` from one of its nodes) with its token; once per process."""
    if settings.ray_auth_token is None:
        raise HostError("RAY_AUTH_TOKEN is not set: the token the Ray cluster was started with")
    if ray.is_initialized():
        return
    os.environ["RAY_AUTH_MODE"] = "token"  # Ray reads both from the environment only,
    os.environ["RAY_AUTH_TOKEN"] = settings.ray_auth_token.get_secret_value()
    Config.initialize("")  # and caches them when imported: read them again
    AuthenticationTokenLoader.instance().reset_cache()
    for attempt in range(1, CONNECT_TRIES + 1):
        try:
            ray.init(
                address=address,
                namespace=settings.cluster_namespace,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
            return
        except (ConnectionError, RuntimeError, ValueError) as error:
            ray.shutdown()
            lines = [line for line in str(error).splitlines() if line.strip()]
            reason = lines[-1] if lines else type(error).__name__
            log.warning("joining %s failed (try %d): %s", address, attempt, str(error)[:2000])
            if "Initialization failure" not in str(error):
                break  # unreachable, refused, wrong token: trying again will not help
    raise HostError(f"cannot join the Ray cluster at {address}: {reason}")


def place(
    spec: StreamSpec,
    settings: Settings,
    *,
    duration: float | None = None,
    environ: dict[str, str] | None = None,
    node: str | None = None,
) -> str:
    """Start `spec` as its detached actor, and its standby on another node; `node` (a Ray
    node id) is preferred, not required, so a restart after that node is lost goes
    anywhere. The actor's name."""
    check_settings(settings)
    names = actor_names(spec.name)
    for name in names:
        try:
            ray.get_actor(name)
        except ValueError:
            continue
        raise HostError(f"stream {spec.name} is already on the cluster; stop it first")
    environ = dict(os.environ) if environ is None else environ
    wanted = {s.url_env for s in spec.sinks if s.url_env is not None}  # only the ingest URLs
    environ = {k: v for k, v in environ.items() if k in wanted}
    if settings.cluster_standby:
        node = node or _other_node(spec.name, None)  # so the standby can go elsewhere
    roles = [(names[0], node, False)]
    if settings.cluster_standby:
        roles.append((names[1], _other_node(spec.name, node), True))
    for name, where, standby in roles:
        strategy: Any = (
            "DEFAULT" if where is None else NodeAffinitySchedulingStrategy(where, soft=True)
        )
        actor = ray.remote(StreamActor).options(
            name=name,
            lifetime="detached",
            max_restarts=settings.cluster_max_restarts,
            max_task_retries=-1,
            num_cpus=1 / len(roles),  # a stream takes one CPU, on air and standing by
            scheduling_strategy=strategy,
        )
        actor.remote(spec, settings, environ, duration, standby)
    return names[0]


def _other_node(stream: str, node: str | None) -> str | None:
    """A live node that runs work other than `node`, spread over them by stream name; None
    (anywhere) on a one-node cluster."""
    nodes = sorted(
        str(n["NodeID"]) for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0
    )
    others = [n for n in nodes if n != node]
    return others[zlib.crc32(stream.encode()) % len(others)] if others else None


def status(stream: str, timeout_s: float = 10.0) -> dict[str, Any] | None:
    """The stream's status as the actor on air reports it (or, while none is, the first
    found), with `standby` the other's state; None when no actor of the stream exists (it
    ended, or was never placed)."""
    found: list[dict[str, Any]] = []
    for name in actor_names(stream):
        try:
            actor = ray.get_actor(name)
            found.append(dict(ray.get(actor.status.remote(), timeout=timeout_s)))
        except (ValueError, ray.exceptions.RayActorError):
            continue
        except ray.exceptions.GetTimeoutError:  # Ray is restarting it: it answers once up
            found.append({"stream": stream, "state": "restarting", "node": "", "pid": None})
    if not found:
        return None
    found.sort(key=lambda s: s["state"] != "on air")
    return found[0] | {"standby": found[1]["state"] if len(found) > 1 else None}


def stop(stream: str) -> bool:
    """Ask the stream to end after the sentence on air, its standby at once (first, so it
    does not take over); False if it is not on the cluster."""
    actors: list[tuple[bool, Any]] = []  # (on air, its actor)
    for name in actor_names(stream):
        with contextlib.suppress(ValueError, ray.exceptions.RayActorError):
            actor = ray.get_actor(name)
            now: dict[str, Any] = dict(ray.get(actor.status.remote()))
            actors.append((now["state"] == "on air", actor))
    for _on_air, actor in sorted(actors, key=lambda found: found[0]):
        with contextlib.suppress(ray.exceptions.RayActorError):  # ended meanwhile
            ray.get(actor.stop.remote())
    return bool(actors)


def remove(stream: str) -> None:
    """Remove the stream's actors without a restart (one that failed to start stays, so
    its error can be read, until this)."""
    for name in actor_names(stream):
        with contextlib.suppress(ValueError):
            ray.kill(ray.get_actor(name), no_restart=True)


def streams() -> list[str]:
    """Names of the streams on the cluster (in this namespace)."""
    return sorted(
        n.removeprefix(PREFIX) for n in ray.util.list_named_actors() if n.startswith(PREFIX)
    )


def wait_ended(stream: str, timeout_s: float) -> None:
    """Until the stream's actor is gone; HostError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while status(stream) is not None:
        if time.monotonic() > deadline:
            raise HostError(f"stream {stream} did not end within {timeout_s:.0f} s")
        time.sleep(0.5)


def run_on_cluster(
    spec: StreamSpec,
    settings: Settings,
    address: str,
    duration: float | None,
    say: Callable[[str], None],
) -> None:
    """`host run --cluster`: place the stream, then report it (on air, where, each restart)
    until it ends; Ctrl-C asks it to end after the sentence on air, as `host run` does.
    Losing this process loses nothing: the stream stays on the cluster."""
    check_settings(settings)
    connect(address, settings)
    place(spec, settings, duration=duration)
    seen: tuple[Any, ...] = ()
    try:
        while (now := status(spec.name)) is not None:
            if now["state"] == "failed":
                remove(spec.name)
                raise HostError(now["error"] or f"stream {spec.name} failed")
            shown = (now["state"], now["node"], now["pid"])
            if shown != seen:
                seen = shown
                say(f"{spec.name}: {now['state']} on node {now['node'][:12]} (pid {now['pid']})")
            time.sleep(1.0)
    except KeyboardInterrupt:
        say(f"{spec.name}: ending after the sentence on air")
        stop(spec.name)
        wait_ended(spec.name, 60)
    say(f"{spec.name}: ended")
