"""Streams on a cluster: failover time, the Redis comment bus, and what Ray costs a session.

    PYTHONPATH=. python bench/cluster.py [--kills 10] [--node-kills 3] [--seconds 20]
                                         [--renew 0.25] [--after 1.0]
                                         [--only failover|bus|cost|pool]

- failover: a head and a worker node on this machine (as `tests/ray_cluster.py` starts
  them: token auth, dashboard off, 200 ms health checks); one 240x416 stream pushing to a
  test RTMP receiver, with its warm standby on the other node (lease renewed every
  `--renew` s, taken over after `--after` s). The actor on air is SIGKILLed `--kills` times
  (each time once the standby is built again), then its node is killed `--node-kills` times
  (the stream placed on a fresh worker node each time). Figure: kill to the first packet of
  the new push at the receiver, p50 / p95 / max.
- bus: a Redis server with a password; a publisher process sends comments through the web
  front's `RedisIngress.offer` at 1k and 5k per second (and as fast as it can), a session's
  consumer group reads and acknowledges them. Figures: delivered per second, latency from
  offer to the session's iterator p50 / p95 / max.
- cost: the same stream (replayed demo comments, RTMP out) run by `host run` on this machine
  and as a Ray actor; CPU and memory of the session's process (with its RTMP sender), and
  of the Ray daemons of an idle node, over `--seconds`.
- pool: the render pool (`host pool deploy`: one CPU replica drawing the built-in host) and
  1 to 4 talking sessions (`tests/talking.py`: speech only, a realtime 25 fps program each,
  in Ray worker processes) for `--seconds`, asking chunks of 10 frames, then 4 asking one
  frame per call. Figures: chunk round trip p50 / p95, the share of speech frames the pool
  drew in time (the rest drawn by the session itself), late frames.

Needs PostgreSQL on 127.0.0.1 and redis-server on PATH. Prints the machine first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's host and tests, installed or not

import psutil  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402
from machine import describe  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from host.catalog.store import ensure_demo_catalog  # noqa: E402
from host.chat.redis_bus import RedisBus  # noqa: E402
from host.chat.sources.websocket_ingress import IngressComment  # noqa: E402
from host.cluster import placement, render_pool  # noqa: E402
from host.config import REPO_ROOT, Settings  # noqa: E402
from host.db.migrate import migrated_engine  # noqa: E402
from host.session.spec import StreamSpec  # noqa: E402
from host.stream.clock import WallClock  # noqa: E402
from tests.host_run import free_port  # noqa: E402
from tests.ray_cluster import RayCluster, wait_for  # noqa: E402
from tests.talking import talk_remote  # noqa: E402

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
RECEIVER = ROOT / "tests" / "rtmp_receiver.py"


def percentiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered):.2f}  p95 {p95:.2f}  max {ordered[-1]:.2f}"
        f"  (n={len(ordered)})"
    )


class Receiver:
    def __init__(self, out: Path) -> None:
        self.port, self.out = free_port(), out
        self.process = subprocess.Popen(
            [sys.executable, str(RECEIVER), str(self.port), str(out), "--again"]
        )
        self.url = f"rtmp://127.0.0.1:{self.port}/live/key"

    def first_at(self, push: int) -> float | None:
        packets = self.out / str(push) / "packets.jsonl"
        if not packets.exists():
            return None
        with packets.open() as lines:
            line = lines.readline()
        return json.loads(line)["at"] if line.endswith("\n") else None

    def pushes(self) -> int:
        return len(list(self.out.glob("*/packets.jsonl")))


class Redis:
    """A redis-server with a password on a free port."""

    def __init__(self, work: Path) -> None:
        port, password = free_port(), secrets.token_hex(16)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass",
             password, "--save", "", "--appendonly", "no", "--dir", str(work)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"redis://:{password}@127.0.0.1:{port}/0"
        wait_for(self._up, 10, "redis-server up")

    def _up(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url).ping())
        except redis.ConnectionError:
            return False


def spec(name: str, source: str) -> StreamSpec:
    return StreamSpec.model_validate(
        {
            "name": name,
            "merchant": "demo",
            "sources": [{"kind": source}],
            "sinks": [{"kind": "rtmp", "url_env": "INGEST"}],
        }
    )


def settings_for(
    db_url: str, redis_url: str, token: str, work: Path, renew_s: float, after_s: float
) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        var_dir=work / "var",
        products_dir=REPO_ROOT / "products",
        redis_url=SecretStr(redis_url),
        ray_auth_token=SecretStr(token),
        width=240,
        height=416,
        idle_pitch_s=0,
        lease_renew_s=renew_s,
        standby_after_s=after_s,
        ingress_tokens={"fail": SecretStr("t")},
    )


def failover(base: Settings, cluster: RayCluster, work: Path, kills: int, node_kills: int) -> None:
    times: dict[str, list[float]] = {"actor SIGKILL": [], "node killed": []}
    for round_ in range(node_kills + 1):
        receiver = Receiver(work / f"failover-{round_}")
        worker = cluster.node_id("worker")
        stream = spec("fail", "websocket")
        placement.place(
            stream, stream.settings_for(base, {}), environ={"INGEST": receiver.url}, node=worker
        )
        push = 0
        wait_for(lambda r=receiver, p=push: r.first_at(p), 120, "on air")
        for _ in range(kills if round_ == 0 else 1):
            wait_for(lambda: (placement.status("fail") or {}).get("standby") == "standby", 120,
                     "a built standby")  # fmt: skip
            time.sleep(3)
            now = placement.status("fail")
            assert now is not None and now["state"] == "on air"
            killed_at = time.time()
            if round_ == 0:
                os.kill(now["pid"], signal.SIGKILL)
            else:
                cluster.kill_node(worker)
            push += 1
            back = wait_for(lambda r=receiver, p=push: r.first_at(p), 120, "back on air")
            kind = "actor SIGKILL" if round_ == 0 else "node killed"
            times[kind].append(back - killed_at)
            print(f"  {kind}: back on air after {back - killed_at:.2f} s", flush=True)
        placement.stop("fail")
        placement.wait_ended("fail", 60)
        receiver.process.kill()
        if round_ > 0:
            cluster.add_worker()
    for kind, values in times.items():
        print(f"failover, {kind}: kill to first packet of the new push, s: {percentiles(values)}")


def _publish(url: str, rate: float, seconds: float, count: multiprocessing.Value) -> None:
    source = RedisBus(url, WallClock()).source("bench")
    start, n = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < seconds:
        if rate and n > elapsed * rate:
            time.sleep(0.0005)
            continue
        comment = IngressComment(id=f"{rate}-{n}", user="viewer", text="how much?")
        comment.__pydantic_extra__["sent"] = time.time()  # type: ignore[index]
        source.offer(comment)
        n += 1
    count.value = n


async def _consume(
    url: str, expected: multiprocessing.Value, done: multiprocessing.Event
) -> list[float]:
    session = RedisBus(url, WallClock()).source("bench")
    latencies: list[float] = []
    written: list[str] = []
    comments = aiter(session)
    got = 0
    while not (done.is_set() and got >= expected.value):
        try:
            comment = await asyncio.wait_for(anext(comments), 2.0)
        except TimeoutError:
            continue
        latencies.append(time.time() - comment.raw["sent"])
        written.append(comment.message_id)
        if len(written) >= 100:  # as the audit writer does: one XACK per written batch
            await asyncio.to_thread(session.acknowledge, written.copy())
            written.clear()
        got += 1
    session.acknowledge(written)
    return latencies


async def _consume_while(
    url: str,
    publisher: multiprocessing.Process,
    count: multiprocessing.Value,
    done: multiprocessing.Event,
) -> list[float]:
    task = asyncio.create_task(_consume(url, count, done))
    await asyncio.to_thread(publisher.join)
    done.set()
    return await task


def bus(url: str) -> None:
    for rate, seconds in ((1000.0, 10.0), (5000.0, 10.0), (0.0, 5.0)):
        redis.Redis.from_url(url).delete("livehost:comments:bench")
        count, done = multiprocessing.Value("i", 10**9), multiprocessing.Event()
        publisher = multiprocessing.Process(target=_publish, args=(url, rate, seconds, count))
        start = time.perf_counter()
        publisher.start()

        latencies = asyncio.run(_consume_while(url, publisher, count, done))
        wall = time.perf_counter() - start
        label = f"{rate:,.0f}/s" if rate else "as fast as one front sends"
        ms = [x * 1000 for x in latencies]
        print(
            f"bus at {label}: {len(latencies):,} sent and delivered in {wall:.1f} s"
            f" ({len(latencies) / seconds:,.0f}/s offered); latency ms {percentiles(ms)}"
        )


def _usage(processes: list[psutil.Process], seconds: float) -> tuple[float, float]:
    """CPU (% of one core) and memory (MB, RSS summed) of these processes and their children
    over `seconds`."""

    def tree() -> list[psutil.Process]:
        found = []
        for p in processes:
            with contextlib.suppress(psutil.Error):
                found += [p, *p.children(recursive=True)]
        return found

    def cpu(ps: list[psutil.Process]) -> float:
        total = 0.0
        for p in ps:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    before = tree()
    start, used = time.monotonic(), cpu(before)
    time.sleep(seconds)
    after = tree()
    cpu_pct = (cpu(after) - used) / (time.monotonic() - start) * 100
    rss = 0
    for p in after:
        with contextlib.suppress(psutil.Error):
            rss += p.memory_info().rss
    return cpu_pct, rss / 1e6


def cost(base: Settings, cluster: RayCluster, work: Path, seconds: float) -> None:
    daemons = cluster.processes()
    cpu, mem = _usage(daemons, seconds)
    print(f"ray daemons of the two idle nodes: {cpu:.1f}% of a core, {mem:.0f} MB")
    receiver = Receiver(work / "cost-actor")
    stream = spec("cost", "replay")
    placement.place(stream, stream.settings_for(base, {}), environ={"INGEST": receiver.url})
    wait_for(lambda: receiver.first_at(0), 120, "actor on air")
    wait_for(lambda: (placement.status("cost") or {}).get("standby") == "standby", 120, "standby")
    now = placement.status("cost")
    assert now is not None
    cpu_a, mem_a = _usage([psutil.Process(now["pid"])], seconds)
    import ray

    standby = ray.get(ray.get_actor("standby:cost").status.remote())
    cpu_s, mem_s = _usage([psutil.Process(standby["pid"])], seconds)
    placement.stop("cost")
    placement.wait_ended("cost", 60)
    receiver.process.kill()

    receiver = Receiver(work / "cost-local")
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": base.database_url,
        "VAR_DIR": str(work / "var-local"),
        "WIDTH": "240",
        "HEIGHT": "416",
        "IDLE_PITCH_S": "0",
        "INGEST": receiver.url,
    }
    (work / "cost.yaml").write_text(
        "name: cost-local\nmerchant: demo\nsources: [{kind: replay}]\n"
        "sinks: [{kind: rtmp, url_env: INGEST}]\n"
    )
    host = subprocess.Popen(
        [str(Path(sys.executable).with_name("host")), "run", str(work / "cost.yaml"),
         "--port", str(free_port())],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(lambda: receiver.first_at(0), 120, "host run on air")
    cpu_l, mem_l = _usage([psutil.Process(host.pid)], seconds)
    host.send_signal(signal.SIGTERM)
    host.wait(60)
    receiver.process.kill()
    print(f"one session in host run: {cpu_l:.1f}% of a core, {mem_l:.0f} MB")
    print(f"the same session as a Ray actor: {cpu_a:.1f}% of a core, {mem_a:.0f} MB")
    print(f"Ray adds per session: {cpu_a - cpu_l:+.1f}% of a core, {mem_a - mem_l:+.0f} MB")
    print(f"its warm standby (built, waiting): {cpu_s:.1f}% of a core, {mem_s:.0f} MB")


def pool(base: Settings, seconds: float) -> None:
    import ray

    for streams, chunk in ((1, 10), (2, 10), (3, 10), (4, 10), (4, 1)):
        settings = base.model_copy(
            update={"render_pool": "bench-faces", "render_pool_chunk": chunk}
        )
        render_pool.deploy(settings)  # afresh: no queue left from the run before
        seen = ray.get([talk_remote(settings, seconds, check=False) for _ in range(streams)])
        render_pool.remove(settings)
        trips = [t for s in seen for t in s["round_trips_ms"]]
        pooled, local = sum(s["pooled"] for s in seen), sum(s["local"] for s in seen)
        late, frames = sum(s["late"] for s in seen), sum(s["frames"] for s in seen)
        print(
            f"render pool, {streams} stream(s) {base.width}x{base.height} at {base.fps} fps,"
            f" {chunk} frame(s) per call: round trip ms {percentiles(trips)};"
            f" speech frames from the pool {pooled / max(1, pooled + local):.0%}"
            f" ({local} drawn by the session); late frames {late} of {frames}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--node-kills", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--renew", type=float, default=0.25, help="LEASE_RENEW_S")
    parser.add_argument("--after", type=float, default=1.0, help="STANDBY_AFTER_S")
    parser.add_argument("--only", choices=["failover", "bus", "cost", "pool"])
    args = parser.parse_args()
    print(describe())
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    server = Redis(work)
    name = f"livehost_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        if args.only in (None, "bus"):
            bus(server.url)
        if args.only == "bus":
            return
        token = secrets.token_hex(16)
        base = settings_for(URL.format(name=name), server.url, token, work, args.renew, args.after)
        engine = migrated_engine(base.database_url)
        ensure_demo_catalog(engine, base)
        engine.dispose()
        cluster = RayCluster(token).start()
        os.environ["RAY_AUTH_MODE"], os.environ["RAY_AUTH_TOKEN"] = "token", token
        placement.connect(cluster.address, base)
        try:
            if args.only in (None, "failover"):
                failover(base, cluster, work, args.kills, args.node_kills)
            if args.only in (None, "cost"):
                cost(base, cluster, work, args.seconds)
            if args.only in (None, "pool"):
                pool(base, args.seconds)
        finally:
            import ray

            ray.shutdown()
            cluster.stop()
    finally:
        server.process.terminate()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
