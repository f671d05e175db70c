"""Frames per second of each animator on one core, idle and speaking.

A 25 fps program needs the animator well above 25 fps on one core, since encoding and the
rest of the session share the machine. The photo animator runs on scikit-image's
public-domain astronaut photo (a benchmark input only, never a demo avatar).

    python bench/face.py [--seconds S] [--only built-in|photo|loop]
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np
from machine import pin_to_one_core

from host.face.avatar_art import LOOKS
from host.face.base import Animator
from host.face.builtin import IllustratedAnimator
from host.face.mouth import mouth_track

SIZES = ((720, 1280), (512, 512), (1280, 720))
FPS = 25


def _speech(seconds: float, rate: int = 48_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    return (envelope * np.sin(2 * np.pi * 180 * t) * 20_000).astype(np.int16)


def _rate(frames: int, seconds: float, cpu: float) -> str:
    """Wall-clock rate, and CPU per frame (what other jobs on a shared machine do not skew)."""
    wall = f"{frames / seconds:8.0f} fps ({1000 * seconds / frames:.2f} ms/frame)"
    return f"{wall}, {1000 * cpu / frames:.2f} ms CPU/frame"


def _photo_animator() -> Callable[[int, int], Animator]:
    from skimage import data

    from host.face.landmarks import detect_faces
    from host.face.photo import PhotoAnimator

    photo = data.astronaut()
    face = detect_faces(photo)[0]
    return lambda width, height: PhotoAnimator(photo, face, width, height)


def _loop_animator() -> Callable[[int, int], Animator]:
    """A loop avatar cut from 10 s of synthetic streamer footage (the astronaut, swaying)."""
    import math
    import tempfile
    from pathlib import Path

    import av
    from skimage import data

    from host.face.loop import build_loop
    from host.face.loop_animator import LoopAnimator

    folder = Path(tempfile.mkdtemp(prefix="bench-loop-"))
    image, (w, h) = data.astronaut(), (720, 960)
    with av.open(str(folder / "streamer.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for k in range(10 * FPS):
            t = k / FPS
            s = 1.6 + 0.03 * math.sin(2 * math.pi * t / 6.1)
            dx, dy = w / 2 - 256 * s + 8 * math.sin(2 * math.pi * t / 5.3), h / 2 - 256 * s
            frame = cv2.warpAffine(
                image, np.array([[s, 0, dx], [0, s, dy]]), (w, h), borderMode=cv2.BORDER_REFLECT
            ).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    build_loop(folder / "streamer.mp4", folder / "avatar", seconds=8.0)
    return lambda width, height: LoopAnimator(folder / "avatar", width, height, FPS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="program seconds per case")
    parser.add_argument(
        "--only", choices=("built-in", "photo", "loop"), help="measure one kind of animator"
    )
    args = parser.parse_args()
    print(pin_to_one_core())
    kinds: dict[str, Callable[[], list[tuple[str, Callable[[int, int], Animator]]]]] = {
        "built-in": lambda: [
            (f"built-in ({look})", partial(IllustratedAnimator, look=look)) for look in LOOKS
        ],
        "photo": lambda: [("photo", _photo_animator())],
        "loop": lambda: [("loop video", _loop_animator())],
    }
    animators = [a for kind, make in kinds.items() if args.only in (None, kind) for a in make()]
    for (name, build), (width, height) in itertools.product(animators, SIZES):
        started = time.perf_counter()
        anim = build(width, height)
        setup = time.perf_counter() - started
        n = int(args.seconds * FPS)
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            anim.idle(i)
        idle, idle_cpu = time.perf_counter() - started, time.process_time() - cpu
        anim.present("left", n)  # the built-in host points at the product while it talks
        started = time.perf_counter()
        poses = mouth_track(_speech(args.seconds), 48_000, FPS)
        track = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        for _ in anim.speak(poses, n):
            pass
        speak, speak_cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"{name} {width}x{height}: setup {setup:.2f} s")
        print(f"  idle      {_rate(n, idle, idle_cpu)}")
        print(f"  speaking  {_rate(len(poses), speak, speak_cpu)}")
        print(f"  (+ mouth track {1000 * track:.1f} ms for {args.seconds:g} s of speech)")


if __name__ == "__main__":
    main()
