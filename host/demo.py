"""`host demo`: one offline session from the demo catalog and the demo comments.

Everything is an embedded default (SQLite under var/, the catalog answerer, Piper and
espeak-ng, the illustrated avatar, MP4 + HLS out), so it runs on a fresh machine with no
network and no API key; `rtmp` adds a push to an ingest, to test a platform key with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path

from host.catalog.store import DbCatalog, ensure_demo_catalog
from host.chat.events import Comment
from host.chat.replay import ReplaySource
from host.chat.triage import Triage
from host.config import Settings
from host.db.migrate import migrated_engine
from host.face.sadtalker import SadTalkerFace
from host.face.wear import build_animator
from host.reply.guard import Guard
from host.reply.prompts import load_banned
from host.reply.registry import build_responder
from host.session.audit import Audit
from host.session.director import Director
from host.session.live import LiveSession, SessionResult
from host.session.pitching import PitchPlan
from host.stream.clock import Clock, ProgramClock, WallClock
from host.stream.music import MusicBed
from host.stream.program import Program
from host.stream.sinks import Sink
from host.stream.sinks.hls import PLAYLIST, hls_sink
from host.stream.sinks.mp4 import mp4_sink
from host.stream.sinks.rtmp import rtmp_sink
from host.voice.router import build_router


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


async def run_demo(
    settings: Settings,
    out: Path,
    *,
    duration: float | None = None,
    realtime: bool = True,
    comments: Path | None = None,
    source: Callable[[Clock], AsyncIterable[Comment]] | None = None,
    rtmp: str | None = None,
) -> SessionResult:
    """`source` (given the session clock) replaces the replay of `comments`, e.g. to answer
    comments arriving through the websocket ingress."""
    paths = DemoPaths(out)
    out.mkdir(parents=True, exist_ok=True)
    engine = migrated_engine(settings.database_url)
    ensure_demo_catalog(engine, settings)
    catalog = DbCatalog(engine, settings.demo_merchant)

    clock: WallClock | ProgramClock = WallClock() if realtime else ProgramClock()
    voices = build_router(settings)
    await asyncio.to_thread(voices.warm)
    await asyncio.to_thread(catalog.search, "warm up the word segmenter")
    music = None
    if settings.music_path is not None:  # decoded now, so a bad file fails before the stream
        music = await asyncio.to_thread(
            MusicBed,
            settings.music_path,
            settings.audio_rate,
            settings.audio_rate // settings.fps,
            settings.music_level_db,
            settings.music_duck_db,
            settings.music_ramp_s,
        )
    animator = await asyncio.to_thread(build_animator, settings)
    sinks: list[Sink] = [
        mp4_sink(paths.mp4),
        hls_sink(paths.hls.parent, settings.hls_segment_seconds),
    ]
    if rtmp is not None:
        sinks.append(rtmp_sink(rtmp, settings))
    program = Program(settings, sinks, clock)
    banned = load_banned(settings.prompts_dir / "banned.yaml")
    triage = Triage(
        banned.words,
        queue_size=settings.queue_size,
        viewer_cooldown_s=settings.viewer_cooldown_s,
    )
    guard = Guard(banned.claims)
    responder = build_responder(settings, guard)
    session: LiveSession
    director = Director(
        animator,
        catalog,
        settings.audio_rate,
        settings.fps,
        fast=not realtime,
        busy=lambda: session.busy(),
        music=music,
    )
    with Audit(engine, paths.replies, name="demo", settings=settings) as audit:
        session = LiveSession(
            source=source(clock)
            if source is not None
            else ReplaySource(comments or settings.products_dir / "demo" / "comments.jsonl", clock),
            triage=triage,
            responder=responder,
            guard=guard,
            voices=voices,
            catalog=catalog,
            director=director,
            program=program,
            clock=clock,
            audit=audit,
            rate=settings.audio_rate,
            fps=settings.fps,
            pitches=PitchPlan.from_settings(settings, responder),
            clips=animator if isinstance(animator, SadTalkerFace) else None,
        )
        try:
            return await session.run(duration)
        finally:
            close = getattr(animator, "close", None)  # a worker or a video decoder to release
            if close is not None:
                close()
