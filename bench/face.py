"""Frames per second of the built-in animator on one core, idle and speaking.

A 25 fps program needs the animator well above 25 fps on one core, since encoding and the
rest of the session share the machine.

    python bench/face.py [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np
from machine import describe

from host.face.builtin import IllustratedAnimator
from host.face.mouth import mouth_track

SIZES = ((720, 1280), (512, 512), (1280, 720))


def _speech(seconds: float, rate: int = 48_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    return (envelope * np.sin(2 * np.pi * 180 * t) * 20_000).astype(np.int16)


def _rate(frames: int, seconds: float) -> str:
    return f"{frames / seconds:8.0f} fps ({1000 * seconds / frames:.2f} ms/frame)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="program seconds per case")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"machine: {describe()}; pinned to 1 core")
    for width, height in SIZES:
        started = time.perf_counter()
        anim = IllustratedAnimator(width, height)
        setup = time.perf_counter() - started
        n = int(args.seconds * anim.fps)
        started = time.perf_counter()
        for i in range(n):
            anim.idle(i)
        idle = time.perf_counter() - started
        started = time.perf_counter()
        poses = mouth_track(_speech(args.seconds), 48_000, anim.fps)
        track = time.perf_counter() - started
        started = time.perf_counter()
        for _ in anim.speak(poses, n):
            pass
        speak = time.perf_counter() - started
        print(f"{width}x{height}: setup {setup:.2f} s")
        print(f"  idle      {_rate(n, idle)}")
        print(f"  speaking  {_rate(len(poses), speak)}  (+ mouth track {1000 * track:.1f} ms)")


if __name__ == "__main__":
    main()
