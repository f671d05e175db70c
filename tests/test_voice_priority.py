"""TTS runs less urgently than the program's frames, worker threads of the engine included.

A sentence is written ahead of when it plays; a frame is due every 40 ms. When both want
the CPU (several sessions on one machine), the frame must win, so the router's threads,
and the threads onnxruntime starts for Piper while the router loads it, run at a higher
niceness than the rest of the process.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from host.voice.base import SpeechChunk
from host.voice.piper import Piper
from host.voice.router import VoiceRouter


def niceness() -> dict[int, int]:
    """Each thread of this process: its niceness (field 19 of /proc/self/task/TID/stat)."""
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:
            continue  # a thread that just ended
        fields = stat.rsplit(")", 1)[1].split()
        found[int(task.name)] = int(fields[16])
    return found


class Noting:
    """A voice that notes the niceness of the thread it speaks in."""

    name = "noting"
    languages = frozenset({"en"})

    def __init__(self) -> None:
        self.seen: list[int] = []

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        self.seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        yield SpeechChunk(np.zeros(2205, np.int16), 22050)


async def speak(router: VoiceRouter) -> None:
    async for _ in router.stream("Hello there.", "en"):
        pass


def test_sentences_are_synthesized_at_the_router_niceness() -> None:
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    voice = Noting()
    asyncio.run(speak(VoiceRouter({"en": [voice]}, nice=7)))
    assert voice.seen == [min(base + 7, 19)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base, "caller untouched"


def test_piper_worker_threads_started_while_warming_are_niced_too() -> None:
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    before = set(niceness())
    router = VoiceRouter({"en": [Piper()]}, nice=5)
    router.warm()
    started = {tid: nice for tid, nice in niceness().items() if tid not in before}
    assert started, "warming started the router's thread and onnxruntime's"
    assert set(started.values()) == {min(base + 5, 19)}, started
    assert niceness()[threading.get_native_id()] == base
