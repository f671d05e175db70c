"""What accounts cost per request: password hashing, and the gate's lookup of a bearer token
or session cookie, against a request the gate lets through untouched (/health).

Run: python bench/auth.py [--requests 500] [--hashes 20]
A real uvicorn on 127.0.0.1 and a SQLite file; requests one at a time, so the figures are
latencies (the gate's database lookup runs in a worker thread, off the event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import httpx
from machine import describe

from host.accounts import check_password, create_token, create_user
from host.config import Settings
from host.db.migrate import migrated_engine
from host.web.app import create_app
from host.web.server import serving

PASSWORD = "correct horse battery"


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered) * 1000:6.2f} ms · p95 {p95 * 1000:6.2f} ms"


def timed(call: object, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return samples


def requests(port: int, count: int, token: str) -> dict[str, list[float]]:
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base) as browser, httpx.Client(base_url=base) as plain:
        page = browser.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        browser.post(
            "/login", data={"name": "root", "password": PASSWORD, "csrf_token": csrf.group(1)}
        )
        bearer = {"Authorization": f"Bearer {token}"}
        plain.get("/health")
        return {
            "/health (open, no lookup)": timed(lambda: plain.get("/health"), count),
            "/api/me by bearer token": timed(lambda: plain.get("/api/me", headers=bearer), count),
            "/api/me by session cookie": timed(lambda: browser.get("/api/me"), count),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--hashes", type=int, default=20)
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        settings = Settings(_env_file=None, database_url=url, var_dir=Path(folder))  # type: ignore[call-arg]
        engine = migrated_engine(url)
        create_user(engine, "root", "admin", PASSWORD)
        token = create_token(engine, "bench", "root")
        print(f"argon2id sign-in check ({args.hashes}x each, interleaved so load hits all alike):")
        cases = {
            "right password": lambda: check_password(engine, "root", PASSWORD),
            "wrong password": lambda: check_password(engine, "root", "wrong password"),
            "unknown name": lambda: check_password(engine, "nobody", PASSWORD),
        }
        hashing: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.hashes):
            for name, case in cases.items():
                hashing[name] += timed(case, 1)
        for name, samples in hashing.items():
            print(f"  {name:28} {figures(samples)}")

        async def serve() -> dict[str, list[float]]:
            async with serving(create_app(settings, engine), "127.0.0.1", 0) as port:
                return await asyncio.to_thread(requests, port, args.requests, token)

        print(f"HTTP requests ({args.requests}x each, one at a time):")
        for name, samples in asyncio.run(serve()).items():
            print(f"  {name:28} {figures(samples)}")
        engine.dispose()


if __name__ == "__main__":
    main()
