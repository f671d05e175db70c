"""Comment-to-first-audio and comment-to-first-frame latency of a quiet room, in realtime.

Replays questions spaced far enough apart that no other comment is waiting when each
arrives, through the full offline session with the default settings (idle pitches on;
triage, catalog answerer, guard, Piper/espeak-ng, illustrated avatar, program, MP4 + HLS
encode), and prints p50/p95 per stage and how many pitches the questions cut into.
first_frame_out is the host's first frame for the question (a bridge when it cut a pitch
midway), answer_frame_out the answer's own.

    python bench/latency.py [--questions N] [--gap SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from machine import describe

from host.config import Settings
from host.demo import run_demo
from host.session.report import latency_lines, stage_latencies

QUESTIONS = [
    ("Lily", "how much is the down jacket?"),
    ("小美", "3号链接多少钱"),
    ("Tom", "is the hoodie in stock?"),
    ("阿强", "耳机还有货吗"),
    ("Mia", "what sizes do the jeans come in?"),
    ("Ken", "price of the air fryer please"),
    ("小红", "面膜多少钱一盒"),
    ("Ava", "is the yoga mat non slip? how much"),
    ("Leo", "link 12 price?"),
    ("王姐", "龙井茶多少钱"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument(
        "--gap", type=float, default=15.0, help="seconds between questions (longer than a reply)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        comments = work / "comments.jsonl"
        with comments.open("w", encoding="utf-8") as f:
            for i in range(args.questions):
                user, text = QUESTIONS[i % len(QUESTIONS)]
                row = {"t": 2.0 + i * args.gap, "user": f"{user}{i}", "text": text, "id": f"q{i}"}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        settings = Settings(database_url=f"sqlite:///{work / 'bench.db'}", var_dir=work)
        result = asyncio.run(run_demo(settings, work / "out", realtime=True, comments=comments))

    print(f"machine: {describe()}")
    print(f"replies: {len(result.records)} of {args.questions} questions, realtime, pitches on")
    print(f"pitch interruptions: {result.cuts} lines cut midway, {len(result.pitches)} pitch lines")
    stats = result.program
    print(
        f"program: {stats.frames} frames, {stats.late_frames} late "
        f"(max {stats.max_lateness_ms:.0f} ms), encode p95 {stats.encode_ms_p95:.1f} ms"
    )
    for line in latency_lines(result.records):
        print(line)
    each = stage_latencies(result.records)["first_frame_out"]
    print("first_frame_out per question, in order (ms):", " ".join(f"{v * 1000:.0f}" for v in each))


if __name__ == "__main__":
    main()
