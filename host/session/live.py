"""One live session, written as its stages: source → triage → responder → guard → voice →
(director → program → sinks). Each stage is a supervised task; they meet at queues, never
call upstream.

The program clock runs in the foreground and never waits on a stage: intake and the reply
loop are restarted by the `Supervisor` when they fail or stall, and the catalog is a memory
snapshot (`LiveCatalog`) that a background task refreshes. One bad comment costs only itself:
it is counted as `malformed` and intake goes on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from host.catalog.facts import facts_for
from host.catalog.snapshot import LiveCatalog
from host.chat.events import Comment, Decision, Triaged
from host.chat.mux import SourceMux
from host.chat.storable import storable
from host.chat.triage import Triage
from host.reply.events import Responder, Sentence, prompt_version_of
from host.reply.guard import Guard
from host.session.audit import Audit, SpokenReply
from host.session.controls import OPERATOR_PRIORITY, Controls, OperatorLine
from host.session.director import Director
from host.session.metrics import Metrics
from host.session.pitching import PitchPlan
from host.session.speech import ClipSource, Segment, speak
from host.session.supervisor import Supervisor
from host.stream.base import Overlay
from host.stream.clock import Clock
from host.stream.onair import OnAirComment, on_air
from host.stream.program import Program, ProgramStats
from host.trace import Trace
from host.voice.base import Speaker

log = logging.getLogger(__name__)

TAIL_S = 1.0  # idle time kept after the last reply when a session ends on its own
REPLY_STALL_S = 60.0  # a reply turn with no sentence for this long is stuck: restart the loop
PITCH_PRIORITY = 0.0  # below every comment: any question cuts into a pitch
CUT_MARGIN = 10.0  # a reply gives way only to a more urgent kind, not to a bigger crowd
BRIDGE_INTENT = "bridge"
# Sentences that say no fact: an answer's optional tail starts after its first other one.
NO_FACT_INTENTS = frozenset({"greeting", "thanks", BRIDGE_INTENT})
BRIDGES = {  # said first when a question cuts into a pitch midway, so the turn sounds meant
    "zh": ("好，先回答一下{name}的问题。", "好，先回答一下弹幕的问题。"),
    "en": ("Quick one from {name} first.", "Quick question from chat first."),
}
CHECKPOINT_S = 5.0  # how often the resumable state is saved (and at every product change)


@dataclass
class SessionResult:
    records: list[SpokenReply]
    drops: dict[str, int]
    comments: int
    program: ProgramStats
    merged: int = 0  # comments answered inside another's reply
    cuts: int = 0  # lines cut midway on air because a more urgent comment was waiting
    trims: int = 0  # answers that left out their optional rest for a waiting comment
    restarts: dict[str, int] = field(default_factory=dict)
    blocked: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    pitches: list[tuple[float, str]] = field(default_factory=list)  # (session time, line)


@dataclass
class Said:
    """What one turn of speaking produced: the sentences queued with their segments, and the
    guard's objections. What went on air is known only once the segments have played."""

    spoken: list[Sentence] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # session time each sentence was queued
    stopped_early: bool = False  # the rest after the answer's fact was not written

    @property
    def last(self) -> Segment | None:
        return self.segments[-1] if self.segments else None

    @property
    def cut(self) -> bool:
        return any(seg.cut for seg in self.segments)

    @property
    def trimmed(self) -> bool:
        """The answer left out its optional rest for a waiting comment."""
        return self.stopped_early or any(seg.optional and seg.cut for seg in self.segments)

    def on_air(self) -> list[Sentence]:
        """The sentences that went on air (a cut turn's later ones never started)."""
        return [s for s, seg in zip(self.spoken, self.segments, strict=True) if seg.started]


@dataclass
class _Turn:
    """The reply or pitch being written and spoken, and the priority it gives way below."""

    task: asyncio.Task[None]
    priority: float


class LiveSession:
    def __init__(
        self,
        *,
        source: SourceMux,
        triage: Triage,
        responder: Responder,
        guard: Guard,
        voices: Speaker,
        catalog: LiveCatalog,
        director: Director,
        program: Program,
        clock: Clock,
        audit: Audit,
        rate: int,
        fps: int,
        pitches: PitchPlan | None = None,
        clips: ClipSource | None = None,
        stream: str = "demo",
        metrics: Metrics | None = None,
        prompt_version: str | None = None,
        pending: list[Comment] | None = None,
        on_exchange: Callable[[SpokenReply], None] | None = None,
        controls: Controls | None = None,
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
        self.controls = controls or Controls()
        self.controls.bind(self._work)
        self._replying = False
        self._source_done = False
        self._comments = 0
        self._unwritten: dict[asyncio.Task[None], Callable[[bool], None]] = {}
        self._turn: _Turn | None = None
        self._bridge_due = False  # a pitch was cut midway: the next answer opens with a bridge
        self._stream = stream
        self._metrics = metrics
        self._prompt_version = prompt_version
        self._pending = list(pending or [])  # unanswered before a crash: offered first
        self._on_exchange = on_exchange
        self._stopping = False
        self._stop_asked = asyncio.Event()
        self.supervisor = Supervisor()
        self.malformed = 0
        self.merged = 0
        self.preempted = 0  # replies cut by a more urgent comment before a word went on air
        self.cuts = 0  # lines cut midway on air by a more urgent comment
        self.trims = 0  # answers that left out their optional rest for a waiting comment
        self._dropped_seen: Counter[str] = Counter()
        self.records: list[SpokenReply] = []
        self.blocked: list[tuple[str, tuple[str, ...]]] = []
        self.pitched: list[tuple[float, str]] = []

    @property
    def triage(self) -> Triage:
        return self._triage

    @property
    def comment_count(self) -> int:
        return self._comments

    def now(self) -> float:
        return self._clock.now()

    @property
    def speaking(self) -> bool:
        return self._director.speaking

    def busy(self) -> bool:
        """Work is in flight that will become a segment (fast mode waits for it)."""
        return self._replying or len(self._triage) > 0 or not self._director.segments.empty()

    def request_stop(self) -> None:
        """End after the sentence on air: no new line starts, the program stops once quiet."""
        self._stopping = True
        self._stop_asked.set()
        self._work.set()

    async def run(self, duration: float | None) -> SessionResult:
        sup = self.supervisor
        sup.add("intake", self._intake)
        self._reply_stage = sup.add(
            "reply", self._reply_loop, stall_s=REPLY_STALL_S, has_work=lambda: self._replying
        )
        sup.add("catalog", self._catalog.keep_fresh)
        sup.add("checkpoint", self._checkpoints)
        sup.add("stop", self._stop_when_asked)
        if duration is None:
            sup.add("drain", self._stop_when_drained)
        sup.start_watchdog()
        try:
            stats = await self._program.run(self._director, duration or 1e9)
        finally:
            await sup.stop()
            for task, write in list(self._unwritten.items()):
                task.cancel()
                write(True)  # cut off mid-speech by the end: still on the record
            self._audit.checkpoint(self.state())
        return SessionResult(
            records=self.records,
            drops=dict(self._triage.drops)
            | ({"malformed": self.malformed} if self.malformed else {})
            | ({"preempted": self.preempted} if self.preempted else {}),
            comments=self._comments,
            program=stats,
            blocked=self.blocked,
            pitches=self.pitched,
            merged=self.merged,
            cuts=self.cuts,
            trims=self.trims,
            restarts=dict(sup.restarts),
        )

    def state(self) -> dict[str, Any]:
        """The resumable state (a checkpoint): what a restarted stream continues from."""
        current = self._catalog.current()
        return {
            "current": current.sku if current is not None else None,
            "pitch_slot": self._pitches.slot(self._clock.now()) if self._pitches else 0,
            "comments": self._comments,
            "replies": len(self.records),
            "saved_at": time.time(),
        }

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_S)
            self._audit.checkpoint(self.state())

    async def _intake(self) -> None:
        while self._pending:
            self._take(self._pending.pop(0))
        await self._source.run(self._take)
        self._source_done = True

    def _take(self, comment: Comment) -> None:
        """One comment through triage into the audit; a comment that breaks either is
        counted as malformed and dropped, and intake goes on with the next."""
        self._comments += 1
        try:
            comment = storable(comment)
            if self.controls.blocks(comment):
                decision = Decision(kept=False, reason="blocked")
            else:
                decision = self._triage.offer(comment, self._clock.now())
            self._audit.comment(comment, decision)
        except Exception as error:
            self.malformed += 1
            log.warning("malformed comment dropped (%s: %s)", type(error).__name__, error)
            if self._metrics is not None:
                self._metrics.dropped.labels(self._stream, "malformed").inc()
            return
        if self._metrics is not None:
            self._metrics.comments.labels(self._stream, comment.platform).inc()
            if not decision.kept:
                self._metrics.dropped.labels(self._stream, decision.reason).inc()
        if decision.reason == "merged":
            self.merged += 1
        if decision.kept:
            self._work.set()
            self._give_way()
        self._audit_dropped()

    def _audit_dropped(self) -> None:
        """Queued comments triage let go (stale, or pushed out of a full queue): on the record."""
        for comment, reason in self._triage.take_dropped():
            self._audit.dropped(comment, reason)
            if self._metrics is not None:
                self._metrics.dropped.labels(self._stream, reason).inc()

    def skip(self) -> bool:
        """The operator skips the line on air: it ends at the next pause between words and
        the rest of its turn is dropped (audited as cut). True when a line was on air."""
        cut = self._director.cut(math.inf)
        if self._turn is not None:
            self._turn.task.cancel()
        return cut

    def _give_way(self) -> None:
        """Cut the lines the most urgent waiting comment outranks, so it is taken at once:
        every pitch, and replies of a less urgent kind (CUT_MARGIN).

        The director ends the line on air at the next pause between words and drops what
        is queued behind it; the turn still writing lower lines is cancelled. A pitch cut
        midway makes the next answer open with a bridge. A comment ranked near the answer
        on air is not worth cutting its fact, but it is worth more than what the answer says
        after it (a second fact, the promotion, an alternative): that rest ends or is dropped.
        """
        best = self._triage.best_priority()
        if best is None:
            return
        below = max(best - CUT_MARGIN, PITCH_PRIORITY + 1)
        playing = self._director.playing_priority
        if self._director.cut(below):
            self.cuts += 1
            self._bridge_due = playing == PITCH_PRIORITY
            if self._metrics is not None:
                self._metrics.cuts.labels(self._stream).inc()
        turn = self._turn
        if turn is not None and turn.priority < below:
            turn.task.cancel()
        self._director.drop_optional(best + CUT_MARGIN)

    def _waiting_for(self, priority: float) -> bool:
        """A comment waits that ranks near a line of `priority`: it is answered before the
        optional rest of that line's answer (the promotion, an alternative) is said."""
        best = self._triage.best_priority()
        return best is not None and best >= priority - CUT_MARGIN

    async def _stop_when_asked(self) -> None:
        """After `request_stop`: let the line on air finish, then end the program."""
        await self._stop_asked.wait()  # not `_work`: that stays set while comments wait
        while self._replying or self._director.speaking or not self._director.segments.empty():
            await asyncio.sleep(0.05)
        self._program.stop()

    async def _stop_when_drained(self) -> None:
        while not (self._source_done and not self.busy() and not self._director.speaking):
            await asyncio.sleep(0.05)
        await self._clock.sleep_until(self._clock.now() + TAIL_S)
        self._program.stop()

    async def _reply_loop(self) -> None:
        while not self._stopping:
            await self._director.wait_for_room()
            if self._stopping:
                return
            await self._director.wait_until_ending()  # choose as late as the line on air allows
            await self._catalog.refresh()  # the freshest prices this reply can have
            line = self.controls.next_line()
            if line is not None:
                await self._run_turn(self._operator_line(line), OPERATOR_PRIORITY)
                continue
            if self.controls.paused:  # comments still queue; a typed line still goes
                self._work.clear()
                await self._work.wait()
                continue
            item = self._triage.pop(self._clock.now())
            self._audit_dropped()
            if item is None:
                self._work.clear()
                quiet = not await self._wait_for_work()
                if quiet and not self._triage.loud(self._clock.now()):  # loud: no pitches
                    await self._run_turn(self._pitch(), PITCH_PRIORITY)
                continue
            await self._run_turn(self._reply(item), item.priority)

    async def _run_turn(self, turn: Coroutine[Any, Any, None], priority: float) -> None:
        """Write and speak one reply or pitch as a task a more urgent comment may cancel."""
        self._replying = True
        task = asyncio.create_task(turn)
        self._turn = _Turn(task, priority)
        try:
            await asyncio.wait({task})
        finally:
            task.cancel()  # a no-op once done; ends the turn if this loop itself is stopped
            self._turn = None
            self._replying = False
        if not task.cancelled() and task.exception() is not None:
            # one bad reply or pitch must never end the stream
            log.error("reply turn failed", exc_info=task.exception())

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
        """Pitch a lineup product; a queued comment cuts into it at the next word."""
        assert self._pitches is not None
        product = self._pitches.product(self._catalog, self._clock.now())
        if product is None:  # nothing to pitch (no lineup, or all sold out) until someone asks
            self._replying = False
            await self._work.wait()
            return
        sentences = self._pitches.pitcher.pitch_sentences(
            product, self._pitches.language, self._catalog
        )
        said = Said()
        try:
            await self._say(sentences, None, None, said, priority=PITCH_PRIORITY)
        finally:
            self._when_spoken(said, functools.partial(self._write_pitch, said))

    def _write_pitch(self, said: Said, ended: bool) -> None:
        spoken = said.on_air()
        self._audit.pitch(spoken, said.violations, cut=said.cut or ended)
        if spoken and self._metrics is not None:
            self._metrics.pitches.labels(self._stream).inc()
        times = [t for t, seg in zip(said.times, said.segments, strict=True) if seg.started]
        self.pitched.extend(zip(times, (s.text for s in spoken), strict=True))

    async def _operator_line(self, line: OperatorLine) -> None:
        """A line typed in the console: guarded and spoken like a reply, audited with who."""
        said = Said()
        try:
            sentences = _listed(line.sentences(self._catalog))
            await self._say(sentences, None, None, said, priority=OPERATOR_PRIORITY)
        finally:
            self._when_spoken(said, functools.partial(self._write_line, said, line.who))

    def _write_line(self, said: Said, who: str, ended: bool) -> None:
        cut = said.cut or ended
        self._audit.line(said.on_air(), said.violations, intent="takeover", by=who, cut=cut)

    async def _reply(self, item: Triaged) -> None:
        comment = on_air(item)  # None for a comment triage flagged: answered, never shown
        sentences = self.controls.reply_for(item, self._responder, self._catalog)
        if self._bridge_due and item.comment.kind == "chat":
            sentences = _bridged(_bridge(item), sentences)
        self._bridge_due = False
        said = Said()
        try:
            await self._say(sentences, comment, item.trace, said, priority=item.priority)
        finally:
            self._when_spoken(said, functools.partial(self._write_reply, item, said))

    def _when_spoken(self, said: Said, write: Callable[[bool], None]) -> None:
        """Write the turn's record once its last segment has played or been cut; a session
        that ends first writes it at the end."""
        if not said.segments:
            return
        task = asyncio.create_task(self._write_when_spoken(said, write))
        self._unwritten[task] = write

    async def _write_when_spoken(self, said: Said, write: Callable[[bool], None]) -> None:
        assert said.last is not None
        await said.last.done.wait()
        self._unwritten.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
        write(False)

    def _write_reply(self, item: Triaged, said: Said, ended: bool) -> None:
        """The reply as it went on air; one the session's end cut off is kept whole (and
        marked cut), one a more urgent comment dropped before it started is counted."""
        spoken = said.on_air() or (said.spoken if ended else [])
        if not spoken:
            self.preempted += 1
            if self._metrics is not None:
                self._metrics.dropped.labels(self._stream, "preempted").inc()
            return
        self.trims += said.trimmed
        record = SpokenReply.from_reply(item, spoken, said.violations)
        record.prompt_version = prompt_version_of(spoken) or self._prompt_version
        record.approved_by = self.controls.approved_by(item.comment.message_id)
        self.records.append(record)
        self._audit.reply(record, cut=ended or said.cut)
        log.info(
            "replied to %s (%s) by %s: %s",
            record.message_id,
            ", ".join(record.askers),
            record.backend,
            record.reply,
        )
        if self._metrics is not None:
            self._metrics.replies.labels(self._stream, record.backend).inc()
            received = record.stamps.get("received")
            if received is not None:
                for stage, t in record.stamps.items():
                    if stage != "received":
                        self._metrics.latency.labels(self._stream, stage).observe(t - received)
        if self._on_exchange is not None:
            self._on_exchange(record)

    async def _say(
        self,
        sentences: AsyncIterator[Sentence],
        comment: OnAirComment | None,
        trace: Trace | None,
        said: Said,
        *,
        priority: float,
    ) -> None:
        """Guard and speak each sentence as it comes; the guard here is the last line of defence.

        The trace's first frame is the turn's first line (a bridge, when there is one); the
        answer's own first frame and readiness are stamped on its first real sentence.
        """
        answered = fact_given = False
        try:
            async for sentence in sentences:
                self._reply_stage.progress()
                await self._director.wait_for_room()
                if self._stopping:
                    break
                if fact_given and self._waiting_for(priority):
                    said.stopped_early = True
                    break
                for rejection in sentence.rejected:  # stopped and replaced upstream
                    said.violations.extend(rejection.violations)
                    self.blocked.append((rejection.text, rejection.violations))
                products = facts_for(self._catalog, sentence.skus)
                verdict = self._guard.check(sentence.text, products, self._catalog.policy().texts())
                if not verdict.ok:
                    if self._metrics is not None:
                        self._metrics.guard_stops.labels(self._stream).inc()
                    said.violations.extend(verdict.violations)
                    self.blocked.append((sentence.text, verdict.violations))
                    log.warning(
                        "guard blocked %r: %s", sentence.text, "; ".join(verdict.violations)
                    )
                    continue
                stages: tuple[str, ...] = ()
                if not said.spoken:
                    stages += ("first_frame_out",)
                if not answered and sentence.intent != BRIDGE_INTENT:
                    answered = True
                    stages += ("answer_frame_out",)
                    if trace is not None:
                        trace.stamp("reply_ready", self._clock.now())
                overlay = Overlay(
                    caption=sentence.text,
                    comment=comment,
                    product=products[0] if products else self._catalog.current(),
                    showcase=bool(products),
                )
                segment = await speak(
                    sentence.text,
                    sentence.language,
                    self._voices,
                    self._clock,
                    self._rate,
                    self._fps,
                    overlay,
                    trace if stages else None,
                    clips=self._clips,
                    live=priority > PITCH_PRIORITY,  # pitches can wait for a slow renderer
                    priority=priority,
                    stages=stages,
                )
                segment.optional = fact_given
                fact_given = fact_given or sentence.intent not in NO_FACT_INTENTS
                await self._director.segments.put(segment)
                self._speech_end = segment
                said.segments.append(segment)
                said.times.append(self._clock.now())
                said.spoken.append(sentence)
        finally:
            await _close(sentences)


def _bridge(item: Triaged) -> Sentence:
    """The bridge into an answer that cut a pitch: names the asker unless the comment is
    kept off screen (a flagged comment's author is not read out either)."""
    named, anonymous = BRIDGES[item.language]
    text = anonymous if item.injection else named.format(name=item.askers[0])
    return Sentence(text, item.language, BRIDGE_INTENT, (), "bridge", 0, False)


async def _bridged(bridge: Sentence, answer: AsyncIterator[Sentence]) -> AsyncIterator[Sentence]:
    """The bridge first, while the answer's first sentence is already being written."""
    first = asyncio.ensure_future(anext(answer))
    try:
        yield bridge
        try:
            yield await first
        except StopAsyncIteration:
            return
        async for sentence in answer:
            yield sentence
    finally:
        first.cancel()
        await asyncio.wait({first})  # the answer must be idle before it can be closed
        if not first.cancelled():
            first.exception()  # retrieved here, so an error the turn saw is not logged twice
        await _close(answer)


async def _listed(sentences: list[Sentence]) -> AsyncIterator[Sentence]:
    for sentence in sentences:
        yield sentence


async def _close(sentences: AsyncIterator[Sentence]) -> None:
    """Close a responder's generator now, so a cut turn stops its writer at once."""
    aclose = getattr(sentences, "aclose", None)
    if aclose is not None:
        await aclose()
