"""The one session builder: a stream file (and what a crash left) in, a running session out.

`host run`, `host serve` and `host demo` all come through `run_stream`; the demo is a stream
file written in code (replay source, MP4 + HLS out). Building is slow work done before the
clock starts (voices warm, avatar converted, first catalog snapshot), so a missing setting
or file fails here with one line, never mid-stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from host.catalog.snapshot import LiveCatalog
from host.chat.bus import CommentBus
from host.chat.events import Comment
from host.chat.mux import Feed, SourceMux
from host.chat.sources import Health
from host.chat.sources.douyin import DouyinWebhookSource
from host.chat.sources.registry import SOURCES, SourceContext
from host.chat.sources.websocket_ingress import IngressSource
from host.chat.topics import CatalogTopics
from host.chat.triage import Triage
from host.config import Settings
from host.db import models as db
from host.db.models import utcnow
from host.errors import HostError
from host.face.base import Animator
from host.face.sadtalker import SadTalkerFace
from host.face.wear import build_animator
from host.logs import session_var, stream_var
from host.promptlib.library import banned_in_force
from host.promptlib.onair import on_air_responder
from host.reply.guard import Guard
from host.reply.registry import build_responder
from host.session.audit import Audit, SpokenReply
from host.session.controls import Controls
from host.session.director import Director
from host.session.lease import LeaseKeeper, take
from host.session.live import LiveSession, SessionResult
from host.session.metrics import Metrics, Reading, SessionCollector
from host.session.pitching import PitchPlan
from host.session.resume import owner, recover
from host.session.spec import SinkSpec, StreamSpec
from host.stream.backdrop import lineup_set
from host.stream.clock import Clock, ProgramClock, WallClock
from host.stream.layout import Layout
from host.stream.music import MusicBed
from host.stream.overlays import OverlayCompositor
from host.stream.program import Program
from host.stream.sinks import Sink
from host.stream.sinks.hls import hls_sink
from host.stream.sinks.mp4 import mp4_sink
from host.stream.sinks.rtmp import RtmpSink, rtmp_sink
from host.voice.base import Speaker
from host.voice.process import VoiceProcess
from host.voice.router import build_router

log = logging.getLogger(__name__)


@dataclass
class Front:
    """What the web front in this process shares with sessions: its comment buses (one per
    kind of push it receives) and the metrics registry."""

    ingress: CommentBus[IngressSource] | None = None
    douyin: CommentBus[DouyinWebhookSource] | None = None
    metrics: Metrics | None = None


@dataclass
class Running:
    """A session while it runs, for the web front's status and the operator's controls."""

    spec: StreamSpec
    session_id: int
    live: LiveSession
    program: Program
    audit: Audit
    catalog: LiveCatalog
    mux: SourceMux
    lease: LeaseKeeper

    def status(self) -> dict[str, object]:
        stats = self.program.stats
        return {
            "stream": self.spec.name,
            "session": self.session_id,
            "frames": stats.frames,
            "late_frames": stats.late_frames,
            "comments": self.live.comment_count,
            "replies": len(self.live.records),
            "queue": len(self.live.triage),
            "sinks": {s.name: self.program.sink_up(s) for s in self.program.sinks},
            "sources": {
                f.kind: (f.source.health.state if f.source is not None else "starting")
                for f in self.mux.feeds
            },
            "restarts": dict(self.live.supervisor.restarts),
            "audit_pending": self.audit.counts.journal_pending,
        }

    def reading(self) -> Reading:
        stats = self.program.stats
        return Reading(
            frames=stats.frames,
            late_frames=stats.late_frames,
            max_lateness_s=stats.max_lateness_ms / 1000,
            queue_len=len(self.live.triage),
            queue_age_s=self.live.triage.oldest_wait(self.live.now()),
            sink_reconnects={
                s.name: max(0, s.stats.connects - 1)
                for s in self.program.sinks
                if isinstance(s, RtmpSink)
            },
            sink_up={s.name: self.program.sink_up(s) for s in self.program.sinks},
            restarts={
                **dict(self.live.supervisor.restarts),
                **{f"source:{f.kind}": f.restarts for f in self.mux.feeds},
            },
            audit_pending=self.audit.counts.journal_pending,
            audit_lost=self.audit.counts.lost,
            audit_db_failures=self.audit.counts.db_failures,
            catalog_failures=self.catalog.failures,
        )


async def run_stream(
    spec: StreamSpec,
    settings: Settings,
    engine: Engine,
    *,
    duration: float | None = None,
    realtime: bool = True,
    front: Front | None = None,
    replies_jsonl: Path | None = None,
    on_start: Callable[[Running], None] | None = None,
    on_exchange: Callable[[SpokenReply], None] | None = None,
    environ: dict[str, str] | None = None,
    source: Callable[[Clock], AsyncIterable[Comment]] | None = None,
    takeover: bool = False,
    standby: Callable[[], Awaitable[None]] | None = None,
    preview_dir: Path | None = None,
) -> SessionResult:
    """Run one stream until `duration` (None: until its sources end and it is quiet) or
    until `Running.live.request_stop()`. `settings` are the stream's own
    (`spec.settings_for`); `source` replaces the file's sources (for tools and tests that
    feed comments themselves); `preview_dir` adds an HLS sink there when the file has none
    (the console's preview). `takeover`: a cluster restarted this session, so its
    predecessor is taken over at once (the lease fences it) and the lease lapses when it
    cannot be renewed. `standby`: build everything that does not depend on the stream's
    state (catalog, voices, avatar), then wait for this before reading that state and
    going on air (a warm standby waits for the session on air to be lost)."""
    voices: Speaker = VoiceProcess(settings) if settings.tts_process else build_router(settings)
    try:
        environ = dict(os.environ) if environ is None else environ
        front = front or Front()
        recovered = None  # read now (a stream already on air fails at once), or after standing by
        if standby is None:
            recovered = await asyncio.to_thread(recover, engine, spec, settings, takeover=takeover)
        catalog = LiveCatalog(
            engine, spec.merchant, lineup=spec.lineup, refresh_s=settings.catalog_refresh_s
        )
        try:
            await asyncio.to_thread(catalog.load)
        except LookupError as error:
            raise HostError(f"stream {spec.name}: {error}") from None
        await asyncio.to_thread(voices.warm)
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
        compositor = await asyncio.to_thread(OverlayCompositor, settings)
        if recovered is None:
            assert standby is not None
            await standby()  # the catalog's own refresh catches what changed meanwhile
            recovered = await asyncio.to_thread(recover, engine, spec, settings, takeover=takeover)
        if recovered.current is not None and catalog.get(recovered.current) is not None:
            catalog.set_current(recovered.current)
        banned = await asyncio.to_thread(banned_in_force, engine, settings.prompts_dir)
        triage = Triage(
            banned.words,
            queue_size=settings.queue_size,
            viewer_cooldown_s=settings.viewer_cooldown_s,
            topics=CatalogTopics(catalog),
        )
        guard = Guard(banned.claims)
        responder = await asyncio.to_thread(
            on_air_responder, engine, settings, spec.prompts, build_responder(settings, guard)
        )
        pitches = PitchPlan.from_settings(settings, responder)
        if pitches is not None:
            pitches = pitches.resumed(recovered.pitch_slot)
        # built: the clock starts now, so a replayed comment's time counts from going on air
        clock: WallClock | ProgramClock = WallClock() if realtime else ProgramClock()
        ctx = SourceContext(
            settings=settings,
            clock=clock,
            stream=spec.name,
            ingress=front.ingress.source(spec.name) if front.ingress is not None else None,
            douyin=front.douyin.source(spec.name) if front.douyin is not None else None,
        )
        if source is not None:
            feeds = [Feed("custom", lambda: _Custom(source(clock)))]
        else:
            feeds = [_feed(s.kind, s.path, ctx) for s in spec.sources]
        for feed in feeds:
            feed.source = feed.make()  # a missing setting is named now, not after a backoff
        mux = SourceMux(feeds)
        buses = [b for b in (ctx.ingress, ctx.douyin) if b is not None]
        for bus in buses:
            bus.recorded(recovered.audited)
        epoch, on_air_since = await asyncio.to_thread(
            take, engine, spec.name, owner(), fresh=not recovered.interrupted
        )
        on_air_s = (utcnow() - on_air_since).total_seconds() if recovered.interrupted else 0.0
        sinks = [make_sink(sink, spec, settings, environ, on_air_s) for sink in spec.sinks]
        if preview_dir is not None and not any(s.kind == "hls" for s in spec.sinks):
            sinks.append(hls_sink(preview_dir, settings.hls_segment_seconds))
        program = Program(settings, sinks, clock, compositor)
        session_id = await asyncio.to_thread(open_session, engine, spec, settings, epoch)
        stream_var.set(spec.name)
        session_var.set(session_id)
        session: LiveSession
        loop = asyncio.get_running_loop()

        def fenced(reason: str) -> None:
            program.fence()
            loop.call_soon_threadsafe(session.request_stop)

        keeper = LeaseKeeper(
            engine,
            spec.name,
            epoch,
            session_id,
            renew_s=settings.lease_renew_s,
            lapse_s=settings.lease_lapse_s if takeover else None,
            on_lost=fenced,
        )
        audit = Audit(
            engine,
            session_id,
            settings.var_dir / "journal" / f"{spec.name}-{session_id}.jsonl",
            jsonl=replies_jsonl,
            journal_max_bytes=settings.audit_journal_max_mb * 1024 * 1024,
            on_written=_acknowledge(buses),
            on_fenced=keeper.lose,
        )
        director = Director(
            animator,
            catalog,
            settings.audio_rate,
            settings.fps,
            fast=not realtime,
            busy=lambda: session.busy(),
            music=music,
            showcase_side=Layout(
                settings.width,
                settings.height,
                settings.ai_label_position,
                platform=settings.platform,
            ).showcase_side,
            backdrop=lineup_set(settings),
        )
        session = LiveSession(
            source=mux,
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
            pitches=pitches,
            clips=animator if isinstance(animator, SadTalkerFace) else None,
            stream=spec.name,
            metrics=front.metrics,
            prompt_version=spec.prompt_version,
            pending=recovered.pending,
            on_exchange=on_exchange,
            controls=Controls(
                approve_timeout_s=settings.approve_timeout_s,
                timeout_action=settings.approve_timeout_action,
            ),
        )
        running = Running(spec, session_id, session, program, audit, catalog, mux, keeper)
        collector = None
        if front.metrics is not None:
            collector = SessionCollector(spec.name, running.reading)
            front.metrics.registry.register(collector)
        if on_start is not None:
            on_start(running)
        status = "failed"
        log.info(
            "stream %s on air: session %d, %d sources, sinks %s",
            spec.name,
            session_id,
            len(feeds),
            ", ".join(s.name for s in sinks),
        )
        keeper.start()
        try:
            result = await session.run(duration)
            status = "ended"
            log.info(
                "stream %s ended: %d comments, %d replies, %d frames (%d late)",
                spec.name,
                result.comments,
                len(result.records),
                result.program.frames,
                result.program.late_frames,
            )
            return result
        finally:
            if collector is not None and front.metrics is not None:
                front.metrics.registry.unregister(collector)
            await asyncio.to_thread(keeper.stop)
            await asyncio.to_thread(audit.close, status)
            _close(animator)

    finally:
        voices.close()  # the TTS process too


def _acknowledge(
    buses: list[IngressSource | DouyinWebhookSource],
) -> Callable[[list[str]], None] | None:
    """What the audit calls with the comments it wrote: a bus between processes lets them
    go (each bus only knows its own); None when nothing waits for that."""
    if not buses:
        return None

    def written(message_ids: list[str]) -> None:
        failed: Exception | None = None
        for bus in buses:  # one bus away must not keep the other's comments pending
            try:
                bus.acknowledge(message_ids)
            except Exception as error:
                failed = error
        if failed is not None:
            raise failed

    return written


class _Custom:
    """An async iterable of comments given by a caller, as a `Source`."""

    name = "custom"

    def __init__(self, comments: AsyncIterable[Comment]) -> None:
        self.health = Health(state="connected")
        self._comments = comments

    def __aiter__(self) -> AsyncIterator[Comment]:
        return aiter(self._comments)


def _feed(kind: str, path: Path | None, ctx: SourceContext) -> Feed:
    factory = SOURCES[kind]
    if kind == "replay" and path is not None:
        ctx = dataclasses.replace(ctx, comments=path)
    return Feed(kind, lambda: factory(ctx))


def make_sink(
    sink: SinkSpec,
    spec: StreamSpec,
    settings: Settings,
    environ: dict[str, str] | None,
    on_air_s: float = 0.0,
) -> Sink:
    """`on_air_s`: how long the stream has been on air, when this session continues one
    (the RTMP push goes on on its clock; a recording starts a new fragment)."""
    if sink.kind == "rtmp":
        return rtmp_sink(spec.rtmp_url(sink, environ), settings, start_s=on_air_s)
    if sink.kind == "mp4":
        assert sink.path is not None
        return mp4_sink(fresh_path(sink.path))
    assert sink.dir is not None
    return hls_sink(sink.dir, settings.hls_segment_seconds)


def fresh_path(path: Path) -> Path:
    """`path`, or `name.1.mp4`, `name.2.mp4`... when it exists: a restarted stream records a
    new part and never overwrites what an earlier run recorded."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
    return candidate


def open_session(engine: Engine, spec: StreamSpec, settings: Settings, epoch: int) -> int:
    with Session(engine) as s, s.begin():
        row = db.StreamSession(
            name=spec.name, settings=settings.stored(), owner=owner(), epoch=epoch
        )
        s.add(row)
        s.flush()
        return row.id


def _close(animator: Animator) -> None:
    close = getattr(animator, "close", None)  # a worker or a video decoder to release
    if close is not None:
        close()
