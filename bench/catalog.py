"""Catalog import throughput (100k rows into SQLite) and retrieval latency over 10k products.

Run: python bench/catalog.py [--rows 100000] [--products 10000] [--queries 2000]
Aims (issue 3): 100k rows in under 30 s; retrieval p95 under 5 ms.

Search runs over two catalogs: a varied one (brands, many product types in categories,
colours, sizes, materials), closer to a merchant's, and the uniform one the import uses
(10 adjectives x 10 nouns, so every word is shared by a thousand products): the worst case.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from machine import describe

from host.catalog.facts import ProductFacts
from host.catalog.importer import import_file
from host.catalog.retrieval import ProductIndex
from host.db.migrate import migrated_engine

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


CATEGORIES = {
    ("外套", "outerwear"): [
        ("羽绒服", "down jacket"),
        ("风衣", "trench coat"),
        ("棉服", "padded coat"),
        ("夹克", "jacket"),
        ("大衣", "wool coat"),
        ("冲锋衣", "shell jacket"),
    ],
    ("上衣", "tops"): [
        ("毛衣", "sweater"),
        ("卫衣", "hoodie"),
        ("衬衫", "shirt"),
        ("T恤", "t-shirt"),
        ("针织开衫", "cardigan"),
        ("打底衫", "base layer"),
    ],
    ("裤子", "trousers"): [
        ("牛仔裤", "jeans"),
        ("阔腿裤", "wide-leg trousers"),
        ("运动裤", "joggers"),
        ("西裤", "suit trousers"),
        ("短裤", "shorts"),
    ],
    ("鞋靴", "shoes"): [
        ("运动鞋", "sneakers"),
        ("跑鞋", "running shoes"),
        ("马丁靴", "boots"),
        ("拖鞋", "slippers"),
        ("帆布鞋", "canvas shoes"),
    ],
    ("箱包", "bags"): [
        ("双肩包", "backpack"),
        ("托特包", "tote bag"),
        ("斜挎包", "crossbody bag"),
        ("行李箱", "suitcase"),
        ("钱包", "wallet"),
    ],
    ("美妆", "beauty"): [
        ("面膜", "sheet mask"),
        ("口红", "lipstick"),
        ("精华液", "serum"),
        ("洗面奶", "cleanser"),
        ("防晒霜", "sunscreen"),
        ("粉底液", "foundation"),
    ],
    ("家居", "home"): [
        ("保温杯", "thermos"),
        ("四件套", "bedding set"),
        ("乳胶枕", "latex pillow"),
        ("香薰蜡烛", "scented candle"),
        ("收纳盒", "storage box"),
        ("毛巾", "towel"),
    ],
    ("数码", "electronics"): [
        ("蓝牙耳机", "earbuds"),
        ("充电宝", "power bank"),
        ("智能手环", "fitness band"),
        ("数据线", "charging cable"),
        ("蓝牙音箱", "speaker"),
    ],
    ("食品", "food"): [
        ("坚果礼盒", "nut gift box"),
        ("咖啡豆", "coffee beans"),
        ("绿茶", "green tea"),
        ("牛肉干", "beef jerky"),
        ("燕麦片", "oatmeal"),
    ],
    ("家电", "appliances"): [
        ("空气炸锅", "air fryer"),
        ("榨汁杯", "blender"),
        ("电饭煲", "rice cooker"),
        ("吹风机", "hair dryer"),
        ("加湿器", "humidifier"),
    ],
}
BRANDS = [
    ("云朵", "Cloudy"),
    ("北极", "Arctic"),
    ("山茶", "Camellia"),
    ("青木", "Aoki"),
    ("知夏", "Summerly"),
    ("森屿", "Forest Isle"),
    ("暖阳", "Sunny"),
    ("朴素", "Plainly"),
    ("星河", "Galaxy"),
    ("野趣", "Wildfun"),
    ("小满", "Xiaoman"),
    ("元气", "Genki"),
]
VARIED_ADJECTIVES = [
    *ADJECTIVES,
    ("超轻", "ultralight"), ("宽松", "loose"), ("修身", "slim"), ("百搭", "classic"),
    ("便携", "portable"), ("无线", "wireless"), ("有机", "organic"), ("保湿", "hydrating"),
    ("降噪", "noise-cancelling"), ("速干", "quick-dry"), ("真丝", "silk"), ("羊毛", "wool"),
    ("抗菌", "antibacterial"), ("智能", "smart"), ("迷你", "mini"), ("经典", "classic"),
    ("新款", "new"), ("加绒", "fleece"), ("透气", "breathable"), ("磨砂", "matte"),
]  # fmt: skip
VARIED_COLORS = [*COLORS, "米白", "藏青", "酒红", "墨绿", "卡其", "浅粉", "奶油黄", "燕麦色"]
SIZES = ["S", "M", "L", "XL", "均码", "36", "38", "40", "500ml", "标准"]
MATERIALS = ["纯棉", "涤纶", "羊毛", "真皮", "不锈钢", "硅胶", "尼龙", "亚麻"]
VARIED_QUERIES = [
    *QUERIES,
    "云朵超轻羽绒服多少钱",
    "arctic wireless earbuds price",
    "do you have the galaxy power bnak",
    "墨绿色的托特包还有吗",
    "organic green tea how much",
    "5号链接有XL吗",
    "空气炸锅几升的",
    "is the slim trench coat waterproof",
]


def varied_product(n: int, rng: random.Random) -> ProductFacts:
    (category_zh, category_en), nouns = rng.choice(list(CATEGORIES.items()))
    (noun_zh, noun_en), (brand_zh, brand_en) = rng.choice(nouns), rng.choice(BRANDS)
    (a_zh, a_en), (b_zh, b_en) = rng.sample(VARIED_ADJECTIVES, 2)
    return ProductFacts(
        sku=f"V-{n:06d}",
        name=f"{brand_zh}{a_zh}{b_zh}{noun_zh}",
        name_en=f"{brand_en} {a_en.title()} {b_en.title()} {noun_en.title()}",
        price=Decimal(rng.randint(900, 99900)) / 100,
        currency="CNY",
        stock=rng.randint(0, 500),
        link=n if n <= 30 else None,
        category=f"{category_zh} {category_en}",
        aliases=(f"{a_zh}{noun_zh}", noun_en),
        attributes={
            "color": "/".join(rng.sample(VARIED_COLORS, 3)),
            "size": rng.choice(SIZES),
            "material": rng.choice(MATERIALS),
        },
    )


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
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
        engine = migrated_engine(url)
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
    for label, make, queries in (
        ("varied", varied_product, VARIED_QUERIES),
        ("uniform", product, QUERIES),
    ):
        rng = random.Random(2)
        catalog = [make(n, rng) for n in range(1, products + 1)]
        start = time.perf_counter()
        index = ProductIndex(catalog)
        built = time.perf_counter() - start
        print(f"{label} catalog, index build: {products} products in {built:.2f} s")
        lineup = [p.sku for p in catalog if p.link is not None]
        for query in queries:
            index.search(query, lineup)  # warm jieba and the fuzzy matcher
        timings = []
        for n in range(runs):
            query = queries[n % len(queries)]
            start = time.perf_counter()
            index.search(query, lineup)
            timings.append((time.perf_counter() - start) * 1000)
        cuts = statistics.quantiles(timings, n=100)
        print(
            f"{label} catalog, search over {products} products, {runs} queries: "
            f"p50 {cuts[49]:.2f} ms, p95 {cuts[94]:.2f} ms, max {max(timings):.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    bench_search(args.products, args.queries)
    bench_import(args.rows)


if __name__ == "__main__":
    main()
