"""Soak: one realtime session under a steady comment load, watched for what a night would show.

Runs `host run`'s session builder (catalog answerer, Piper/espeak-ng, illustrated host,
720x1280 program into MP4 + HLS, the audit writer on SQLite) with the default settings
(idle pitches on), feeds comments at a steady rate, and prints the process's memory every
`--every` seconds, then late frames, reply latency p50/p95, supervisor restarts, audit
losses and ERROR log lines. Memory growth is measured from the end of the warm-up.

    python bench/soak.py [--minutes 30] [--rate 0.2] [--every 60] [--warmup 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from machine import describe

from host.catalog.store import ensure_demo_catalog
from host.chat.events import Comment
from host.config import Settings
from host.db.migrate import migrated_engine
from host.session.builder import Running, run_stream
from host.session.report import latency_lines
from host.session.spec import SinkSpec, SourceSpec, StreamSpec
from host.stream.clock import Clock

COMMENTS = [
    ("Lily", "how much is the down jacket?"),
    ("小美", "3号链接多少钱"),
    ("Tom", "is the hoodie in stock?"),
    ("阿强", "耳机还有货吗"),
    ("walker", "666"),
    ("Mia", "what sizes do the jeans come in?"),
    ("小红", "面膜多少钱一盒"),
    ("spam88", "cheap followers at www.get-fans.xyz"),
    ("Ken", "price of the air fryer please"),
    ("王姐", "龙井茶多少钱"),
    ("Ava", "hello everyone!"),
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


async def soak(minutes: float, rate: float, every: float, warmup_min: float) -> None:
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=f"sqlite:///{work / 'soak.db'}", var_dir=work / "var"
        )
        engine = migrated_engine(settings.database_url)
        ensure_demo_catalog(engine, settings)
        spec = StreamSpec(
            name="soak",
            merchant=settings.demo_merchant,
            sources=[SourceSpec(kind="replay")],
            sinks=[
                SinkSpec(kind="mp4", path=work / "soak.mp4"),
                SinkSpec(kind="hls", dir=work / "hls"),
            ],
        )

        def load(clock: Clock) -> AsyncIterator[Comment]:
            async def comments() -> AsyncIterator[Comment]:
                for n in itertools.count():
                    await clock.sleep_until(1.0 + n / rate)
                    user, text = COMMENTS[n % len(COMMENTS)]
                    yield Comment(
                        "soak", "soak", f"s{n}", f"{user}{n % 50}", user, text, ts=clock.now()
                    )

            return comments()

        samples: list[tuple[float, float]] = []
        running: list[Running] = []

        async def watch() -> None:
            start = time.monotonic()
            while True:
                t = (time.monotonic() - start) / 60
                samples.append((t, rss_mb()))
                stats = running[0].program.stats if running else None
                late = f"{stats.late_frames} late of {stats.frames}" if stats else ""
                print(f"  {t:5.1f} min  RSS {samples[-1][1]:7.1f} MB  {late}", flush=True)
                await asyncio.sleep(every)

        watcher = asyncio.create_task(watch())
        result = await run_stream(
            spec,
            spec.settings_for(settings),
            engine,
            duration=minutes * 60,
            source=load,
            on_start=running.append,
        )
        watcher.cancel()
        samples.append((minutes, rss_mb()))
        audit = running[0].audit.counts
        engine.dispose()

    stats = result.program
    after_warmup = [mb for t, mb in samples if t >= warmup_min] or [samples[-1][1]]
    growth = (samples[-1][1] - after_warmup[0]) / after_warmup[0] * 100
    print(f"machine: {describe()}")
    print(f"soak: {minutes:g} min realtime, {rate:g} comments/s, default settings (pitches on)")
    peak = max(mb for _, mb in samples)
    print(
        f"memory: {after_warmup[0]:.0f} MB after {warmup_min:g} min warm-up → "
        f"{samples[-1][1]:.0f} MB at the end ({growth:+.1f}%), peak {peak:.0f} MB"
    )
    print(
        f"program: {stats.frames} frames of {round(minutes * 60 * 25)}, {stats.late_frames} late "
        f"(max {stats.max_lateness_ms:.0f} ms), sinks failed: {stats.sink_errors or 'none'}"
    )
    print(
        f"comments: {result.comments} in, {len(result.records)} answered, {result.merged} merged, "
        f"{sum(result.drops.values())} dropped {dict(result.drops)}"
    )
    for line in latency_lines(result.records):
        print(line)
    print(
        f"errors: {len(errors.lines)} ERROR log lines, restarts {result.restarts or 'none'}, "
        f"audit lost {audit.lost}, rejected {audit.rejected}, written {audit.written}"
    )
    for line in errors.lines[:10]:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--rate", type=float, default=0.2, help="comments per second (a mix: questions, noise)"
    )
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=3.0, help="minutes before growth counts")
    args = parser.parse_args()
    asyncio.run(soak(args.minutes, args.rate, args.every, args.warmup))


if __name__ == "__main__":
    main()
