"""Catalog import throughput (100k rows into SQLite) and retrieval latency over 10k products.

Run: python bench/catalog.py [--rows 100000] [--products 10000]
Aims (issue 3): 100k rows in under 30 s; retrieval p95 under 5 ms.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from host.catalog.facts import ProductFacts
from host.catalog.importer import import_file
from host.catalog.retrieval import ProductIndex
from host.db.engine import make_engine
from host.db.migrate import upgrade

NOUNS = [
    ("羽绒服", "down jacket"),
    ("牛仔裤", "jeans"),
    ("毛衣", "sweater"),
    ("保温杯", "thermos"),
    ("运动鞋", "sneakers"),
    ("面膜", "sheet mask"),
    ("围巾", "scarf"),
    ("双肩包", "backpack"),
    ("连衣裙", "dress"),
    ("蓝牙耳机", "earbuds"),
]
ADJECTIVES = [
    ("轻薄", "light"),
    ("加厚", "thick"),
    ("复古", "retro"),
    ("高腰", "high-waist"),
    ("纯棉", "cotton"),
    ("防水", "waterproof"),
    ("儿童", "kids"),
    ("男士", "men's"),
    ("女士", "women's"),
    ("大容量", "large"),
]
HEADER = ["货号", "商品名称", "英文名", "类目", "售价", "库存", "链接号", "颜色", "别名"]
COLORS = ["黑色", "白色", "红色", "雾霾蓝", "驼色", "灰色"]
QUERIES = [
    "3号链接多少钱",
    "link 12 price?",
    "how much is the retro down jacket",
    "加厚羽绒服还有吗",
    "waterproof backpak price",
    "儿童运动鞋有什么颜色",
    "红色连衣裙多少钱",
    "hello everyone",
    "cotton scarf",
    "大容量保温杯",
]


def product(n: int, rng: random.Random) -> ProductFacts:
    (adj_zh, adj_en), (noun_zh, noun_en) = rng.choice(ADJECTIVES), rng.choice(NOUNS)
    return ProductFacts(
        sku=f"B-{n:06d}",
        name=f"{adj_zh}{noun_zh} {n}",
        name_en=f"{adj_en.title()} {noun_en.title()} {n}",
        price=Decimal(rng.randint(900, 99900)) / 100,
        currency="CNY",
        stock=rng.randint(0, 500),
        link=n if n <= 30 else None,
        category=noun_zh,
        aliases=(noun_zh, noun_en),
        attributes={"color": rng.choice(COLORS)},
    )


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["货号", "商品名称", "英文名", "类目", "售价", "库存", "链接号", "颜色", "别名"]
        )
        for n in range(1, rows + 1):
            p = product(n, rng)
            writer.writerow(
                [p.sku, p.name, p.name_en, p.category, f"¥{p.price}", p.stock, p.link or "",
                 p.attributes["color"], "|".join(p.aliases)]
            )  # fmt: skip


def bench_import(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        write_csv(path, rows)
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        for label in ("first import", "re-import, unchanged"):
            start = time.perf_counter()
            report = import_file(engine, path, "bench")
            elapsed = time.perf_counter() - start
            assert not report.errors, report.errors[:3]
            print(
                f"import {label}: {rows} rows in {elapsed:.1f} s "
                f"({rows / elapsed:,.0f} rows/s; {path.stat().st_size / 1e6:.1f} MB CSV)"
            )
        engine.dispose()


def bench_search(products: int, runs: int) -> None:
    rng = random.Random(2)
    catalog = [product(n, rng) for n in range(1, products + 1)]
    start = time.perf_counter()
    index = ProductIndex(catalog)
    print(f"index build: {products} products in {time.perf_counter() - start:.2f} s")
    lineup = [p.sku for p in catalog if p.link is not None]
    for query in QUERIES:
        index.search(query, lineup)  # warm jieba and the fuzzy matcher
    timings = []
    for n in range(runs):
        query = QUERIES[n % len(QUERIES)]
        start = time.perf_counter()
        index.search(query, lineup)
        timings.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(timings, n=100)
    print(
        f"search over {products} products, {runs} queries: "
        f"p50 {cuts[49]:.2f} ms, p95 {cuts[94]:.2f} ms, max {max(timings):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    bench_search(args.products, args.queries)
    bench_import(args.rows)


if __name__ == "__main__":
    main()
