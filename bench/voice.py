"""Time to first audio (warm) and real-time factor of each voice backend on this machine.

Run: python bench/voice.py
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from host.voice.base import Voice
from host.voice.espeak import Espeak
from host.voice.piper import Piper

SENTENCES = {
    "en": {
        "short": "Hi Lily,",
        "long": (
            "The lightweight down jacket is three hundred ninety nine yuan today, down from "
            "six hundred ninety nine, and we still have one hundred twenty eight in stock."
        ),
    },
    "zh": {
        "short": "欢迎莉莉，",
        "long": (
            "这件轻薄羽绒服今天直播间只要三百九十九元，原价六百九十九元，现在还有一百二十八件库存。"
        ),
    },
}
REPEATS = 5


def measure(voice: Voice, text: str, language: str) -> tuple[float, float, float]:
    """Median (first-audio seconds, total seconds, audio seconds) over a few warm runs."""
    first, total, audio = [], [], []
    for _ in range(REPEATS):
        start = time.perf_counter()
        spoken = 0.0
        first_at = None
        for chunk in voice.synthesize(text, language):
            if first_at is None:
                first_at = time.perf_counter() - start
            spoken += chunk.duration
        total.append(time.perf_counter() - start)
        first.append(first_at if first_at is not None else float("nan"))
        audio.append(spoken)
    return statistics.median(first), statistics.median(total), statistics.median(audio)


def main() -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"Python {platform.python_version()}"
    )
    print(f"{'backend':8} {'lang':4} {'text':5} {'audio s':>8} {'first audio ms':>15} {'RTF':>6}")
    backends: list[tuple[Piper | Espeak, list[str]]] = [(Piper(), ["en"]), (Espeak(), ["zh", "en"])]
    for voice, languages in backends:
        load_start = time.perf_counter()
        voice.warm()
        print(f"{voice.name}: load {time.perf_counter() - load_start:.2f} s")
        for language in languages:
            for label, text in SENTENCES[language].items():
                list(voice.synthesize(text, language))  # warm the path for this language
                first, total, audio = measure(voice, text, language)
                print(
                    f"{voice.name:8} {language:4} {label:5} {audio:8.2f} {first * 1000:15.0f} "
                    f"{total / audio:6.3f}"
                )


if __name__ == "__main__":
    main()
