"""`host demo`: `host run` on a stream written in code, from the demo catalog and comments.

Everything is an embedded default (SQLite under var/, the catalog answerer, Piper and
espeak-ng, the illustrated avatar, MP4 + HLS out), so it runs on a fresh machine with no
network and no API key; an RTMP URL (from the environment) adds a push to an ingest, to test
a platform key with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path

from host.catalog.store import ensure_demo_catalog
from host.chat.events import Comment
from host.config import Settings
from host.db.migrate import migrated_engine
from host.session.audit import SpokenReply
from host.session.builder import run_stream
from host.session.live import SessionResult
from host.session.spec import SinkSpec, SourceSpec, StreamSpec
from host.stream.clock import Clock
from host.stream.sinks.hls import PLAYLIST


@dataclass(frozen=True)
class DemoPaths:
    out: Path

    @property
    def mp4(self) -> Path:
        return self.out / "session.mp4"

    @property
    def hls(self) -> Path:
        return self.out / "hls" / PLAYLIST

    @property
    def replies(self) -> Path:
        return self.out / "replies.jsonl"


def demo_stream(
    settings: Settings, out: Path, comments: Path | None, rtmp_env: str | None
) -> StreamSpec:
    paths = DemoPaths(out)
    sinks = [SinkSpec(kind="mp4", path=paths.mp4), SinkSpec(kind="hls", dir=paths.hls.parent)]
    if rtmp_env is not None:
        sinks.append(SinkSpec(kind="rtmp", url_env=rtmp_env))
    return StreamSpec(
        name="demo",
        merchant=settings.demo_merchant,
        sources=[SourceSpec(kind="replay", path=comments)],
        sinks=sinks,
    )


async def run_demo(
    settings: Settings,
    out: Path,
    *,
    duration: float | None = None,
    realtime: bool = True,
    comments: Path | None = None,
    source: Callable[[Clock], AsyncIterable[Comment]] | None = None,
    rtmp_env: str | None = None,
    on_exchange: Callable[[SpokenReply], None] | None = None,
) -> SessionResult:
    """`source` (given the session clock) replaces the replay of `comments`, e.g. to answer
    comments arriving through the websocket ingress."""
    paths = DemoPaths(out)
    out.mkdir(parents=True, exist_ok=True)
    paths.mp4.unlink(missing_ok=True)  # the demo's own folder: each run records afresh
    engine = migrated_engine(settings.database_url)
    try:
        ensure_demo_catalog(engine, settings)
        spec = demo_stream(settings, out, comments, rtmp_env)
        return await run_stream(
            spec,
            spec.settings_for(settings),
            engine,
            duration=duration,
            realtime=realtime,
            replies_jsonl=paths.replies,
            source=source,
            on_exchange=on_exchange,
        )
    finally:
        engine.dispose()
