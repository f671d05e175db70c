"""A loud room in realtime: how fast buying questions are answered, and what is let go.

A seeded comment stream (buying questions in many wordings, chit-chat, greetings, noise,
spam, likes, gifts, superchats, viewers repeating themselves) is replayed through the whole
offline session (`run_stream`: triage, catalog answerer, guard, Piper/espeak-ng, avatar,
program, MP4 + HLS encode, pitches on) at each rate, and per rate it prints: comment → first
frame p50/p95 for answered buying questions (merged askers counted at their own time),
the share of buying questions answered by name, drops by reason, queue age p95 (the oldest
waiting item, sampled every 0.25 s) and the latest any answer came.

    python bench/busy_room.py [--rates 10,30,120] [--duration 120] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from machine import describe

from host.catalog.store import ensure_demo_catalog
from host.config import Settings
from host.db.migrate import migrated_engine
from host.demo import demo_stream
from host.session.builder import Running, run_stream
from host.session.live import SessionResult
from host.session.report import percentiles

TAIL_S = 15.0  # session time after the last comment, so a late answer is still counted
VIEWERS = 5_000
# Products viewers ask about, as they type them: (link, Chinese, English); the first few
# are asked most (a room asks about what is on screen and what was just pitched).
PRODUCTS = [
    (1, "羽绒服", "down jacket"),
    (2, "牛仔裤", "jeans"),
    (4, "卫衣", "hoodie"),
    (7, "耳机", "earbuds"),
    (16, "空气炸锅", "air fryer"),
    (18, "瑜伽垫", "yoga mat"),
    (19, "跑鞋", "running shoes"),
    (3, "毛衣", "cashmere sweater"),
]
QUESTIONS_ZH = [
    "{zh}多少钱", "{link}号多少钱", "{link}号链接多少钱呀", "{zh}还有货吗", "{link}号还有吗",
    "{zh}有几个码", "{zh}什么材质", "{zh}有优惠吗",
]  # fmt: skip
QUESTIONS_EN = [
    "how much is the {en}?", "{en} price?", "link {link} price?", "is the {en} in stock?",
    "what sizes does the {en} come in?", "what is the {en} made of?", "any deal on the {en}?",
]  # fmt: skip
CHAT = [
    "love the music", "今天穿的真好看", "from Shanghai", "第一次来", "nice background",
    "主播几岁了", "watching from Toronto", "背景音乐叫什么", "好看", "the lighting is great",
]  # fmt: skip
# Display names as viewers pick them (a name spoken aloud costs air time, as on a real stream).
NAMES = [
    "小美", "Lily", "阿强", "Tom", "糖糖", "Mia", "大橘", "Ken", "果果", "Ava", "小林", "Leo",
    "王姐", "Coco", "小鹿", "Sam", "阿杰", "Nina", "豆豆", "Max", "晴天", "Zoe", "老李", "Ben",
]  # fmt: skip
GREETINGS = ["hello everyone", "主播好", "晚上好家人们", "hi host", "大家好"]
NOISE = ["666", "哈哈哈哈", "+1", "111", "😍😍😍", "???"]
SPAM = ["加微信领优惠", "buy followers at www.fans.xyz", "see https://t.co/abc"]
# (share of comments, class); the rest of each roll falls to the last class.
MIX = [
    (0.35, "buying"),
    (0.05, "repeat"),  # a viewer typing their question again
    (0.15, "chat"),
    (0.08, "greeting"),
    (0.12, "noise"),
    (0.05, "spam"),
    (0.10, "event"),  # likes and entries
    (0.06, "gift"),
    (0.04, "superchat"),
]


@dataclass
class Room:
    rows: list[dict[str, object]] = field(default_factory=list)
    cls: dict[str, str] = field(default_factory=dict)  # message id -> class
    ts: dict[str, float] = field(default_factory=dict)


def generate(rate_per_min: float, duration: float, seed: int) -> Room:
    rng = random.Random(seed)
    room = Room()
    asked: list[tuple[str, str]] = []  # (viewer, text) of buying questions, for repeats
    t, n = 2.0, 0
    weights = [1.0 / (rank + 1) for rank in range(len(PRODUCTS))]
    while True:
        t += rng.expovariate(rate_per_min / 60.0)
        if t > duration + 2.0:
            return room
        n += 1
        roll, acc, cls = rng.random(), 0.0, MIX[-1][1]
        for share, name in MIX:
            acc += share
            if roll < acc:
                cls = name
                break
        user = f"v{rng.randrange(VIEWERS)}"
        row: dict[str, object] = {"t": round(t, 3), "id": f"m{n}"}
        if cls == "repeat" and asked:
            user, text = rng.choice(asked[-5:])
            row["text"] = text
        elif cls in ("buying", "repeat"):
            cls = "buying"
            link, zh, en = rng.choices(PRODUCTS, weights)[0]
            english = rng.random() < 0.4
            template = rng.choice(QUESTIONS_EN if english else QUESTIONS_ZH)
            row["text"] = template.format(link=link, zh=zh, en=en)
            asked.append((user, str(row["text"])))
        elif cls == "event":
            row["kind"] = rng.choice(["like", "enter"])
        elif cls == "gift":
            row["kind"], row["text"] = "gift", "送出 玫瑰"
            if rng.random() < 0.7:
                row["amount"] = rng.choice([1, 1, 5, 10, 52, 100])
        elif cls == "superchat":
            row["kind"], row["amount"] = "superchat", rng.choice([30, 50, 100])
            row["text"] = rng.choice(["love this stream", "主播辛苦了", "is the hoodie in stock?"])
        else:
            pool = {"chat": CHAT, "greeting": GREETINGS, "noise": NOISE, "spam": SPAM}[cls]
            row["text"] = rng.choice(pool)
        row["user"] = NAMES[int(user[1:]) % len(NAMES)]
        row["user_id"] = user
        room.rows.append(row)
        room.cls[f"m{n}"] = "repeat" if cls == "repeat" else cls
        room.ts[f"m{n}"] = float(row["t"])  # type: ignore[arg-type]


async def run_room(room: Room, duration: float, work: Path) -> tuple[SessionResult, list[float]]:
    comments = work / "comments.jsonl"
    with comments.open("w", encoding="utf-8") as f:
        for row in room.rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    settings = Settings(database_url=f"sqlite:///{work / 'bench.db'}", var_dir=work)
    engine = migrated_engine(settings.database_url)
    ensure_demo_catalog(engine, settings)
    spec = demo_stream(settings, work / "out", comments, None)
    ages: list[float] = []
    samplers: list[asyncio.Task[None]] = []

    async def sample(running: Running) -> None:
        while True:
            ages.append(running.live.triage.oldest_wait(running.live.now()))
            await asyncio.sleep(0.25)

    def started(running: Running) -> None:
        samplers.append(asyncio.get_running_loop().create_task(sample(running)))

    try:
        result = await run_stream(
            spec,
            spec.settings_for(settings),
            engine,
            duration=duration + 2.0 + TAIL_S,
            realtime=True,
            on_start=started,
        )
    finally:
        for task in samplers:
            task.cancel()
        engine.dispose()
    return result, ages


def print_replies(room: Room, result: SessionResult) -> None:
    for record in result.records:
        received, out = record.stamps.get("received"), record.stamps.get("first_frame_out")
        late = f"{out - received:5.2f} s" if received is not None and out is not None else "   -   "
        print(
            f"  {room.ts[record.message_id]:6.1f} {late} {room.cls[record.message_id]:9} "
            f"{', '.join(record.askers)}: {record.comment} → {record.reply}"
        )


def report(rate: float, room: Room, result: SessionResult, ages: list[float]) -> None:
    heard: dict[str, float] = {}  # message id -> comment → first frame, seconds
    paid_ids = {mid for mid, cls in room.cls.items() if cls in ("gift", "superchat")}
    for record in result.records:
        out = record.stamps.get("first_frame_out")
        if out is None:
            continue
        for mid in (record.message_id, *record.merged):
            if mid in room.ts:
                heard[mid] = out - room.ts[mid]
    buying = [mid for mid, cls in room.cls.items() if cls == "buying"]
    answered = [heard[mid] for mid in buying if mid in heard]
    pct = percentiles(answered)
    unpaid_late = max((s for mid, s in heard.items() if mid not in paid_ids), default=0.0)
    paid_late = max((s for mid, s in heard.items() if mid in paid_ids), default=0.0)
    age = percentiles(ages)
    classes = Counter(room.cls.values())
    print(f"\n== {rate:g} comments/min: {len(room.rows)} comments ({dict(classes)})")
    if pct:
        print(
            f"buying questions: comment → first frame p50 {pct[0]:.2f} s, p95 {pct[1]:.2f} s"
            f" (n={len(answered)})"
        )
    share = len(answered) / len(buying) if buying else 0.0
    print(f"buying questions answered by name: {len(answered)}/{len(buying)} ({share:.0%})")
    print(
        f"replies {len(result.records)}, comments merged into them {result.merged}, "
        f"answers trimmed for a waiting question {result.trims}, "
        f"pitch sentences {len(result.pitches)}"
    )
    print("dropped: " + ", ".join(f"{r} {n}" for r, n in sorted(result.drops.items())))
    if age:
        print(f"queue age (oldest waiting): p50 {age[0]:.2f} s, p95 {age[1]:.2f} s")
    print(f"latest answer: {unpaid_late:.2f} s unpaid, {paid_late:.2f} s paid (gift, superchat)")
    stats = result.program
    print(
        f"program: {stats.frames} frames, {stats.late_frames} late "
        f"(max {stats.max_lateness_ms:.0f} ms), encode p95 {stats.encode_ms_p95:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,30,120", help="comments per minute, comma-separated")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of comments")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--replies", action="store_true", help="print every reply as well")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(f"realtime, {args.duration:g} s of comments per rate (+{TAIL_S:g} s), seed {args.seed}")
    for rate in (float(r) for r in args.rates.split(",")):
        room = generate(rate, args.duration, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            result, ages = asyncio.run(run_room(room, args.duration, Path(tmp)))
        report(rate, room, result, ages)
        if args.replies:
            print_replies(room, result)


if __name__ == "__main__":
    main()
