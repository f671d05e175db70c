"""Faults a night brings, measured on a real `host run` on PostgreSQL: a comment flood through
the websocket ingress, the database blocked, a table locked. Prints frames late (and the
worst), the program's length against the wall clock, and whether every comment was accounted
for (answered, merged or dropped with a reason) in the database afterwards.

    python bench/faults.py [--minutes 10] [--flood-at 60] [--flood-s 10] [--rate 2000]
                           [--block-at 180] [--block-s 15] [--lock-at 300] [--lock-s 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import yaml
from machine import describe
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from websockets.asyncio.client import connect

from host.db import models as db

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
TOKEN = "bench-token"
SUMMARY = re.compile(r"(\d+) comments, (\d+) replies, (\d+) frames \((\d+) late\)")
LATE = re.compile(r"started (\d+) ms late")
TEXTS = ["多少钱", "How much is the down jacket?", "666", "3号有货吗", "hello!", "link 5 price?"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def flood(port: int, at: float, seconds: float, rate: float, sent: list[int]) -> None:
    await asyncio.sleep(at)
    async with connect(
        f"ws://127.0.0.1:{port}/ws/ingress/faults",
        additional_headers={"Authorization": f"Bearer {TOKEN}"},
        max_queue=None,
    ) as ws:
        await ws.recv()  # ready
        start = time.monotonic()
        n = 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate)
            while n < due:
                text = TEXTS[n % len(TEXTS)]
                message = {"type": "comment", "id": f"f{n}", "user": f"v{n % 997}", "text": text}
                await ws.send(json.dumps(message, ensure_ascii=False))
                n += 1
            await asyncio.sleep(0.005)
        sent.append(n)
        drained = 0
        while drained < n:  # every ack read, so none is lost in the socket's buffers
            try:
                await asyncio.wait_for(ws.recv(), 30)
            except TimeoutError:
                break
            drained += 1


def outage(name: str, at: float, seconds: float, how: str) -> threading.Thread:
    def run() -> None:
        time.sleep(at)
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            if how == "block":
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
                time.sleep(seconds)
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                return
        with psycopg.connect(URL.format(name=name).replace("+psycopg", "")) as locker:
            locker.execute("LOCK TABLE comments, replies IN ACCESS EXCLUSIVE MODE")
            time.sleep(seconds)
            locker.rollback()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--flood-at", type=float, default=60.0)
    parser.add_argument("--flood-s", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--block-at", type=float, default=180.0)
    parser.add_argument("--block-s", type=float, default=15.0)
    parser.add_argument("--lock-at", type=float, default=300.0)
    parser.add_argument("--lock-s", type=float, default=15.0)
    args = parser.parse_args()

    name = f"livehost_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    port = free_port()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            stream = {
                "name": "faults",
                "merchant": "demo",
                "sources": [{"kind": "websocket", "token_env": "FAULTS_TOKEN"}],
                "sinks": [{"kind": "mp4", "path": str(work / "faults.mp4")}],
            }
            (work / "faults.yaml").write_text(yaml.safe_dump(stream))
            env = {
                **os.environ,
                "DATABASE_URL": URL.format(name=name),
                "VAR_DIR": str(work / "var"),
                "FAULTS_TOKEN": TOKEN,
                "COLUMNS": "200",
            }
            host = str(Path(sys.executable).with_name("host"))
            seconds = args.minutes * 60
            process = subprocess.Popen(
                [
                    host,
                    "run",
                    str(work / "faults.yaml"),
                    "--port",
                    str(port),
                    "--duration",
                    f"{seconds:g}",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            time.sleep(8)  # start-up: catalog import, voices warm
            started = time.monotonic()
            threads = []
            if args.block_s > 0:
                threads.append(outage(name, args.block_at, args.block_s, "block"))
            if args.lock_s > 0:
                threads.append(outage(name, args.lock_at, args.lock_s, "lock"))
            sent: list[int] = []
            if args.flood_s > 0:
                asyncio.run(flood(port, args.flood_at, args.flood_s, args.rate, sent))
            output, _ = process.communicate(timeout=seconds + 600)
            wall = time.monotonic() - started
            for thread in threads:
                thread.join()
        engine = create_engine(URL.format(name=name))
        with Session(engine) as s:
            comments = s.scalar(select(func.count(db.CommentRecord.id))) or 0
            decisions = dict(
                s.execute(
                    select(db.CommentRecord.reason, func.count()).group_by(db.CommentRecord.reason)
                ).all()
            )
            answered = s.scalar(
                select(func.count(db.ReplyRecord.id)).where(db.ReplyRecord.comment_id.is_not(None))
            )
        engine.dispose()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    found = SUMMARY.search(output)
    print(f"machine: {describe()}")
    print(
        f"run: {args.minutes:g} min realtime on PostgreSQL; flood {args.rate:g}/s for"
        f" {args.flood_s:g} s at +{args.flood_at:g} s; database blocked {args.block_s:g} s at"
        f" +{args.block_at:g} s; comments and replies locked {args.lock_s:g} s"
        f" at +{args.lock_at:g} s"
    )
    if not found:
        print(output[-3000:])
        return
    received, _, frames, late = map(int, found.groups())
    worst = max((int(m) for m in LATE.findall(output)), default=0)
    print(
        f"program: {frames} frames of {round(seconds * 25)}, {late} late"
        f" (worst reported {worst} ms), process wall {wall:.0f} s for {seconds:.0f} s of stream"
    )
    print(
        f"comments: {sum(sent)} flooded; {received} received by the session, {comments} in the"
        f" database by decision {decisions}; {answered} answered"
    )
    errors = [line for line in output.splitlines() if line.startswith(("ERROR", "Traceback"))]
    print(f"errors: {len(errors)} ERROR lines / tracebacks")
    for line in errors[:10]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
