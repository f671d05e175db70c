"""One line naming the machine, printed by every benchmark so no figure is quoted without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    model = platform.processor() or "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )


def pin_to_one_core() -> str:
    """Run this process (and OpenCV) on one core, as a stream's animator does; returns the
    header line every single-core benchmark prints."""
    import cv2

    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"machine: {describe()}; pinned to 1 core; load average {load} before the run"
