"""Triage throughput and memory under a comment flood, on one core.

A hot room sends thousands of comments a second; triage must keep up on one core and its
memory must depend on the queue size, not on how long the flood lasts. The mix below is
what a busy live-selling room looks like: mostly repeated product questions, chit-chat,
"666" noise, likes and entries, some gifts and a little spam, from a few thousand viewers.

Run: python bench/triage.py [--burst 100000]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from machine import describe

from host.chat.events import Comment, CommentKind
from host.chat.triage import Triage
from host.reply.prompts import load_banned

ARRIVALS_PER_S = 10_000  # comments per second of session time during the burst
ANSWER_EVERY_S = 4.0  # the host takes an item this often (one spoken reply)
VIEWERS = 5_000

QUESTIONS = (
    "多少钱", "这个多少钱呀？？", "多少钱多少钱", "还有货吗", "有没有S码", "什么材质的",
    "能便宜点吗", "包邮吗", "how much is the jacket?", "is it in stock", "what sizes?",
    "2号链接多少钱", "3号还有吗", "退货怎么弄", "和上一款比哪个好",
)  # fmt: skip
CHAT = (
    "主播好", "晚上好家人们", "hello!", "hi everyone", "好看", "今天穿的真好看",
    "from Shanghai", "第一次来", "love this stream", "主播几岁了",
)  # fmt: skip
NOISE = ("666", "６６６６６", "哈哈哈哈", "+1", "111", "😍😍😍", "???", "lol")
SPAM = ("加微信领优惠", "buy followers at www.fans.xyz", "see https://t.co/abc")


def burst(count: int, seed: int = 7) -> Iterator[tuple[Comment, float]]:
    """`count` comments with their arrival time, generated lazily so the burst is never held."""
    rng = random.Random(seed)
    for n in range(count):
        now = n / ARRIVALS_PER_S
        user = f"u{rng.randrange(VIEWERS)}"
        roll = rng.random()
        kind: CommentKind = "chat"
        amount = None
        if roll < 0.35:
            text = rng.choice(QUESTIONS) + "!" * rng.randrange(3)
        elif roll < 0.55:
            text = rng.choice(CHAT)
        elif roll < 0.70:
            text = rng.choice(NOISE)
        elif roll < 0.80:
            kind, text = rng.choice(("like", "enter")), ""
        elif roll < 0.85:
            kind, text, amount = rng.choice(("gift", "superchat")), "送出 小心心", Decimal(5)
        elif roll < 0.90:
            text = rng.choice(SPAM)
        else:
            user, text = "u0", "快回答我多少钱"  # one viewer flooding the same line
        yield (
            Comment(
                platform="bench",
                room="r",
                message_id=f"m{n}",
                user_id=user,
                user_name=user.upper(),
                text=text,
                kind=kind,
                amount=amount,
                ts=now,
            ),
            now,
        )


def run(triage: Triage, comments: Iterator[tuple[Comment, float]]) -> int:
    """Offer every comment, popping one item per reply interval; returns how many were offered."""
    offered = 0
    next_pop = ANSWER_EVERY_S
    for comment, now in comments:
        if now >= next_pop:
            triage.pop(now)
            next_pop += ANSWER_EVERY_S
        triage.offer(comment, now)
        offered += 1
    return offered


def throughput(count: int) -> tuple[float, Triage]:
    comments = list(burst(count))  # generated before the clock starts
    triage = Triage(load_banned().words)
    gc.collect()
    start = time.perf_counter()
    run(triage, iter(comments))
    return count / (time.perf_counter() - start), triage


def peak_memory(count: int) -> int:
    """Peak bytes allocated while triage takes a lazily generated burst of `count` comments."""
    triage = Triage(load_banned().words)
    gc.collect()
    tracemalloc.start()
    try:
        run(triage, burst(count))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    rate, triage = throughput(args.burst)
    print(f"throughput: {rate:,.0f} comments/s through triage ({args.burst:,} comments, one core)")
    dropped = sum(triage.drops.values())
    print(
        f"dropped: {dropped:,} ({', '.join(f'{k} {v:,}' for k, v in triage.drops.most_common())})"
    )
    for count in (args.burst // 10, args.burst):
        print(f"peak memory, burst of {count:,}: {peak_memory(count) / 1024:,.0f} KiB "
              f"(queue size {triage.queue_size})")  # fmt: skip


if __name__ == "__main__":
    main()
