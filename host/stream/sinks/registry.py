"""Sinks by name, so settings and the command line can pick them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from host.config import Settings
from host.stream.sinks import Sink
from host.stream.sinks.hls import hls_sink
from host.stream.sinks.mp4 import mp4_sink
from host.stream.sinks.rtmp import rtmp_sink

SINKS: dict[str, Callable[[str, Settings], Sink]] = {
    "mp4": lambda target, settings: mp4_sink(Path(target)),
    "hls": lambda target, settings: hls_sink(Path(target), settings.hls_segment_seconds),
    "rtmp": rtmp_sink,
}


def make_sink(kind: str, target: str, settings: Settings) -> Sink:
    """A sink of a registered kind writing to `target` (a file, directory or URL)."""
    try:
        factory = SINKS[kind]
    except KeyError:
        raise ValueError(f"unknown sink {kind!r}; known: {', '.join(sorted(SINKS))}") from None
    return factory(target, settings)
