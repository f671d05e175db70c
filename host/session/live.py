"""One live session, written as its stages: source → triage → responder → guard → voice →
(director → program → sinks). Each stage is a task; they meet at queues, never call upstream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field

from host.catalog.facts import CatalogView, ProductFacts
from host.chat.events import Comment, Triaged
from host.chat.triage import Triage
from host.reply.events import Responder, Sentence
from host.reply.guard import Guard
from host.session.audit import Audit, SpokenReply
from host.session.director import Director
from host.session.speech import Segment, speak
from host.stream.base import Overlay
from host.stream.clock import Clock
from host.stream.program import Program, ProgramStats
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
        self._work = asyncio.Event()
        self._replying = False
        self._source_done = False
        self._comments = 0
        self._unwritten: dict[asyncio.Task[None], SpokenReply] = {}
        self.records: list[SpokenReply] = []
        self.blocked: list[tuple[str, tuple[str, ...]]] = []

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
                await self._work.wait()
                continue
            self._replying = True
            try:
                await self._reply(item)
            except Exception:  # one bad reply must never end the stream
                log.exception("reply failed for %r", item.text)
            finally:
                self._replying = False

    async def _reply(self, item: Triaged) -> None:
        spoken: list[Sentence] = []
        violations: list[str] = []
        last: Segment | None = None
        async for sentence in self._responder.respond(item, self._catalog):
            await self._director.wait_for_room()
            products = self._facts(sentence.skus)
            verdict = self._guard.check(sentence.text, products)
            if not verdict.ok:
                violations.extend(verdict.violations)
                self.blocked.append((sentence.text, verdict.violations))
                log.warning("guard blocked %r: %s", sentence.text, "; ".join(verdict.violations))
                continue
            first = not spoken
            if first:
                item.trace.stamp("reply_ready", self._clock.now())
            overlay = Overlay(
                caption=sentence.text,
                comment=(", ".join(item.askers), item.comment.text),
                product=products[0] if products else self._catalog.current(),
            )
            last = await speak(
                sentence.text,
                sentence.language,
                self._voices,
                self._clock,
                self._rate,
                self._fps,
                overlay,
                item.trace if first else None,
            )
            await self._director.segments.put(last)
            spoken.append(sentence)
        if not spoken:
            return
        record = SpokenReply.from_reply(item, spoken, violations)
        self.records.append(record)
        task = asyncio.create_task(self._write_when_spoken(record, last))
        self._unwritten[task] = record

    async def _write_when_spoken(self, record: SpokenReply, last: Segment | None) -> None:
        if last is not None:
            await last.done.wait()
        self._audit.reply(record)
        self._unwritten.pop(asyncio.current_task(), None)  # type: ignore[arg-type]

    def _facts(self, skus: Sequence[str]) -> list[ProductFacts]:
        found = (self._catalog.get(sku) for sku in skus)
        return [p for p in found if p is not None]
