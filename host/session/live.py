"""One live session, written as its stages: source → triage → responder → guard → voice →
(director → program → sinks). Each stage is a task; they meet at queues, never call upstream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from host.catalog.facts import CatalogView, facts_for
from host.chat.events import Comment, Triaged
from host.chat.triage import Triage
from host.reply.events import Responder, Sentence
from host.reply.guard import Guard
from host.session.audit import Audit, SpokenReply
from host.session.director import Director
from host.session.pitching import PitchPlan
from host.session.speech import ClipSource, Segment, speak
from host.stream.base import Overlay
from host.stream.clock import Clock
from host.stream.program import Program, ProgramStats
from host.trace import Trace
from host.voice.router import VoiceRouter

log = logging.getLogger(__name__)

TAIL_S = 1.0  # idle time kept after the last reply when a session ends on its own


@dataclass
class SessionResult:
    records: list[SpokenReply]
    drops: dict[str, int]
    comments: int
    program: ProgramStats
    blocked: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    pitches: list[tuple[float, str]] = field(default_factory=list)  # (session time, line)


@dataclass
class Said:
    """What one pass of speaking produced: the sentences spoken and the guard's objections."""

    spoken: list[Sentence] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    last: Segment | None = None
    times: list[float] = field(default_factory=list)  # session time each sentence was queued


class LiveSession:
    def __init__(
        self,
        *,
        source: AsyncIterable[Comment],
        triage: Triage,
        responder: Responder,
        guard: Guard,
        voices: VoiceRouter,
        catalog: CatalogView,
        director: Director,
        program: Program,
        clock: Clock,
        audit: Audit,
        rate: int,
        fps: int,
        pitches: PitchPlan | None = None,
        clips: ClipSource | None = None,
    ) -> None:
        self._source = source
        self._triage = triage
        self._responder = responder
        self._guard = guard
        self._voices = voices
        self._catalog = catalog
        self._director = director
        self._program = program
        self._clock = clock
        self._audit = audit
        self._rate, self._fps = rate, fps
        self._pitches = pitches
        self._clips = clips
        self._speech_end: Segment | None = None  # the last segment queued
        self._work = asyncio.Event()
        self._replying = False
        self._source_done = False
        self._comments = 0
        self._unwritten: dict[asyncio.Task[None], SpokenReply] = {}
        self.records: list[SpokenReply] = []
        self.blocked: list[tuple[str, tuple[str, ...]]] = []
        self.pitched: list[tuple[float, str]] = []

    def busy(self) -> bool:
        """Work is in flight that will become a segment (fast mode waits for it)."""
        return self._replying or len(self._triage) > 0 or not self._director.segments.empty()

    async def run(self, duration: float | None) -> SessionResult:
        tasks = [
            asyncio.create_task(self._intake(), name="intake"),
            asyncio.create_task(self._reply_loop(), name="reply"),
        ]
        if duration is None:
            tasks.append(asyncio.create_task(self._stop_when_drained(), name="drain"))
        try:
            stats = await self._program.run(self._director, duration or 1e9)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task, record in list(self._unwritten.items()):
                task.cancel()
                self._audit.reply(record)  # cut off mid-speech: still on the record
        return SessionResult(
            records=self.records,
            drops=dict(self._triage.drops),
            comments=self._comments,
            program=stats,
            blocked=self.blocked,
            pitches=self.pitched,
        )

    async def _intake(self) -> None:
        async for comment in self._source:
            self._comments += 1
            decision = self._triage.offer(comment, self._clock.now())
            self._audit.comment(comment, decision)
            if decision.kept:
                self._work.set()
        self._source_done = True

    async def _stop_when_drained(self) -> None:
        while not (self._source_done and not self.busy() and not self._director.speaking):
            await asyncio.sleep(0.05)
        await self._clock.sleep_until(self._clock.now() + TAIL_S)
        self._program.stop()

    async def _reply_loop(self) -> None:
        while True:
            await self._director.wait_for_room()
            item = self._triage.pop(self._clock.now())
            if item is None:
                self._work.clear()
                if not await self._wait_for_work():
                    await self._guarded_turn(self._pitch())
                continue
            await self._guarded_turn(self._reply(item))

    async def _guarded_turn(self, turn: Awaitable[None]) -> None:
        self._replying = True
        try:
            await turn
        except Exception:  # one bad reply or pitch must never end the stream
            log.exception("reply turn failed")
        finally:
            self._replying = False

    async def _wait_for_work(self) -> bool:
        """True when a comment was queued, False when the host was quiet long enough to pitch.

        Quiet time starts when the last line has been spoken, not when it was queued, so a
        long pitch is never followed at once by the next one.
        """
        if self._pitches is None:
            await self._work.wait()
            return True
        if self._speech_end is not None and not await self._sooner(self._speech_end.done.wait()):
            return True
        quiet_until = self._clock.now() + self._pitches.idle_s
        return not await self._sooner(self._clock.sleep_until(quiet_until))

    async def _sooner(self, other: Coroutine[Any, Any, Any]) -> bool:
        """Wait for `other` or for queued work; True if `other` came first."""
        work = asyncio.create_task(self._work.wait())
        wait = asyncio.create_task(other)
        done, pending = await asyncio.wait({work, wait}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return work not in done

    async def _pitch(self) -> None:
        """Pitch a lineup product; a queued comment cuts in at the next sentence boundary."""
        assert self._pitches is not None
        product = self._pitches.product(self._catalog, self._clock.now())
        if product is None:
            await self._work.wait()
            return
        sentences = self._pitches.pitcher.pitch_sentences(
            product, self._pitches.language, self._catalog
        )
        said = await self._say(sentences, None, None, preemptible=True)
        self._audit.pitch(said.spoken, said.violations)
        self.pitched.extend(zip(said.times, (s.text for s in said.spoken), strict=True))

    async def _reply(self, item: Triaged) -> None:
        comment = (", ".join(item.askers), item.comment.text)
        said = await self._say(
            self._responder.respond(item, self._catalog), comment, item.trace, preemptible=False
        )
        if not said.spoken:
            return
        record = SpokenReply.from_reply(item, said.spoken, said.violations)
        self.records.append(record)
        task = asyncio.create_task(self._write_when_spoken(record, said.last))
        self._unwritten[task] = record

    async def _say(
        self,
        sentences: AsyncIterator[Sentence],
        comment: tuple[str, str] | None,
        trace: Trace | None,
        *,
        preemptible: bool,
    ) -> Said:
        """Guard and speak each sentence as it comes; the guard here is the last line of defence."""
        said = Said()
        try:
            async for sentence in sentences:
                await self._director.wait_for_room()
                if preemptible and len(self._triage) > 0:
                    break
                for rejection in sentence.rejected:  # stopped and replaced upstream
                    said.violations.extend(rejection.violations)
                    self.blocked.append((rejection.text, rejection.violations))
                products = facts_for(self._catalog, sentence.skus)
                verdict = self._guard.check(sentence.text, products, self._catalog.policy().texts())
                if not verdict.ok:
                    said.violations.extend(verdict.violations)
                    self.blocked.append((sentence.text, verdict.violations))
                    log.warning(
                        "guard blocked %r: %s", sentence.text, "; ".join(verdict.violations)
                    )
                    continue
                first = not said.spoken
                if first and trace is not None:
                    trace.stamp("reply_ready", self._clock.now())
                overlay = Overlay(
                    caption=sentence.text,
                    comment=comment,
                    product=products[0] if products else self._catalog.current(),
                )
                said.last = await speak(
                    sentence.text,
                    sentence.language,
                    self._voices,
                    self._clock,
                    self._rate,
                    self._fps,
                    overlay,
                    trace if first else None,
                    clips=self._clips,
                    live=not preemptible,  # pitches can wait for a slow renderer; replies not
                )
                await self._director.segments.put(said.last)
                self._speech_end = said.last
                said.times.append(self._clock.now())
                said.spoken.append(sentence)
        finally:
            aclose = getattr(sentences, "aclose", None)
            if aclose is not None:
                await aclose()
        return said

    async def _write_when_spoken(self, record: SpokenReply, last: Segment | None) -> None:
        if last is not None:
            await last.done.wait()
        self._audit.reply(record)
        self._unwritten.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
