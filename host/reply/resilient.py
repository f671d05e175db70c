"""The responder a session uses when an LLM is configured: fast, grounded and never silent.

The LLM writes the reply, but it must show its first sentence within a deadline, its
lines must pass the guard, and a failing endpoint is skipped for a while (circuit breaker).
When any of that goes wrong the catalog answerer, which is always right and always fast,
speaks instead, picking up after what was already said. A guard violation gets one
regeneration with the reason before the catalog answerer takes over. Comments that only
touch store policy (FAQ), ask whether the host is a real person (it is an AI, and says
so in words no model chooses) or look like prompt injection skip the LLM altogether.

Once the viewer is hearing the LLM's reply, every later sentence has its own deadline and
the reply a budget for all its waiting on the LLM (time spent speaking is not counted, so a
long reply from a healthy model is never cut). A socket timeout cannot do this: a stuck
server that sends keepalives resets it for ever. When either runs out the reply ends with a
short closing line rather than the catalog answer, which would restart what the viewer is
already hearing; it counts as a failure for the breaker.

The guard runs here so a bad line can be replaced; the session's own guard check stays as
the last line of defence. Every stopped draft travels on the sentence that replaces it
(`Sentence.rejected`), so the audit records the verdict, the violation and what was spoken.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import replace

from host.catalog.facts import CatalogView, ProductFacts
from host.chat.events import Triaged
from host.config import Settings
from host.reply.answerer import CatalogAnswerer
from host.reply.breaker import CircuitBreaker
from host.reply.events import Rejection, Sentence
from host.reply.guard import Guard
from host.reply.llm import Draft, LlmResponder
from host.reply.prompts import Language

log = logging.getLogger(__name__)

MAX_DRAFTS = 2  # the first draft and one regeneration with the guard's reason
RECANCEL_S = 0.05  # a stalled read that has not ended this long after its cancel gets another
RECANCELS = 20
# How a reply cut short by a stalled LLM ends: no numbers, no product, so it is true whatever
# was said before it.
CLOSING: dict[Language, str] = {
    "zh": "其他细节我们稍后再聊，有问题继续问我哦！",
    "en": "More on that in a moment, keep your questions coming!",
}


class LlmMissed(Exception):
    """The LLM failed, timed out, or missed its first-sentence deadline."""


class LlmStalled(LlmMissed):
    """A sentence after the first, or the reply as a whole, ran past its deadline."""


class Waits:
    """The deadlines of one reply: the next sentence's, capped by what is left of the budget."""

    def __init__(self, first_s: float, next_s: float, budget_s: float) -> None:
        self.first_s, self.next_s, self.left_s = first_s, next_s, budget_s

    async def next(self, sentences: AsyncIterator[Sentence], started: bool) -> Sentence:
        """The next sentence; LlmMissed (LlmStalled once `started`) when it is late.

        Not `asyncio.wait_for`: on a timeout it waits for the cancelled read to end, and a
        read that swallows the cancel never does. langchain-openai reads each chunk under its
        own `wait_for`, which on Python 3.11 swallows a cancel that lands as a chunk arrives;
        a stuck server's keepalives arrive every few milliseconds, so the reply would hang."""
        limit = min(self.next_s if started else self.first_s, self.left_s)
        budget_spent = limit == self.left_s
        began = time.monotonic()
        read = asyncio.ensure_future(anext(sentences))
        try:
            done, _ = await asyncio.wait((read,), timeout=max(limit, 0.0))
            if read in done:
                return read.result()
            await _cancelled(read)
        finally:
            if not read.done():  # this reply itself was cancelled
                read.cancel()
            self.left_s -= time.monotonic() - began
        why = f"no sentence within {limit:.1f}s" + (" (reply budget spent)" if budget_spent else "")
        raise (LlmStalled if started else LlmMissed)(why)


class ResilientResponder:
    name = "llm"

    def __init__(
        self,
        llm: LlmResponder,
        answerer: CatalogAnswerer,
        guard: Guard,
        *,
        first_sentence_s: float = 2.5,
        next_sentence_s: float = 3.0,
        reply_budget_s: float = 15.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.llm = llm
        self.answerer = answerer
        self.guard = guard
        self.first_sentence_s = first_sentence_s
        self.next_sentence_s = next_sentence_s
        self.reply_budget_s = reply_budget_s
        self.breaker = breaker or CircuitBreaker()

    @classmethod
    def from_settings(
        cls, settings: Settings, answerer: CatalogAnswerer, guard: Guard
    ) -> ResilientResponder:
        return cls(
            LlmResponder.from_settings(settings),
            answerer,
            guard,
            first_sentence_s=settings.llm_first_sentence_s,
            next_sentence_s=settings.llm_next_sentence_s,
            reply_budget_s=settings.llm_reply_budget_s,
            breaker=CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_s),
        )

    async def respond(self, item: Triaged, catalog: CatalogView) -> AsyncIterator[Sentence]:
        if item.injection or self.answerer.answers_alone(item.text) or not self.breaker.allow():
            async for sentence in self.answerer.respond(item, catalog):
                yield sentence
            return
        spoken: list[Sentence] = []
        async for sentence in self._guarded(
            lambda draft: self.llm.respond(item, catalog, draft),
            lambda: self.answerer.compose(item, catalog),
            catalog,
            spoken,
        ):
            yield sentence
        if spoken:
            self.llm.remember(item, " ".join(s.text for s in spoken))

    async def pitch_sentences(
        self, product: ProductFacts, language: Language, catalog: CatalogView
    ) -> AsyncIterator[Sentence]:
        if not self.breaker.allow():
            for sentence in self.answerer.pitch_reply(product, language):
                yield sentence
            return
        async for sentence in self._guarded(
            lambda draft: self.llm.pitch(product, language, catalog, draft),
            lambda: self.answerer.pitch_reply(product, language),
            catalog,
            [],
        ):
            yield sentence

    async def _guarded(
        self,
        write: Callable[[Draft], AsyncIterator[Sentence]],
        fallback: Callable[[], list[Sentence]],
        catalog: CatalogView,
        spoken: list[Sentence],
    ) -> AsyncIterator[Sentence]:
        """LLM drafts, each line guarded, then the catalog answer for whatever is left."""
        rejected: list[Rejection] = []
        waits = Waits(self.first_sentence_s, self.next_sentence_s, self.reply_budget_s)
        stalled = False
        for _ in range(MAX_DRAFTS):
            draft = Draft(
                spoken=" ".join(s.text for s in spoken),
                correction="; ".join(v for r in rejected[-1:] for v in r.violations),
            )
            stream = self._in_time(write(draft), waits, spoken)
            try:
                async for sentence in stream:
                    verdict = self.guard.check_sentence(sentence, catalog)
                    if not verdict.ok:
                        log.warning("guard stopped %r: %s", sentence.text, verdict.violations)
                        rejected.append(Rejection(sentence.text, verdict.violations))
                        break
                    out = replace(sentence, index=len(spoken), rejected=tuple(rejected))
                    rejected = []
                    spoken.append(out)
                    yield out
                else:
                    self.breaker.success()
                    return
            except LlmMissed as exc:
                self.breaker.failure()
                stalled = isinstance(exc, LlmStalled)
                log.warning(
                    "LLM %s (%s); %s",
                    "stalled" if stalled else "missed",
                    exc,
                    "the reply ends" if stalled else "the catalog answerer speaks",
                )
                break
            finally:
                await stream.aclose()
        closing = self._closing(spoken, rejected) if stalled else None
        for sentence in [closing] if closing else self._rest(fallback(), spoken, rejected):
            yield sentence

    async def _in_time(
        self, sentences: AsyncIterator[Sentence], waits: Waits, spoken: Sequence[Sentence]
    ) -> AsyncGenerator[Sentence, None]:
        """The LLM's sentences, each within its deadline; any failure becomes LlmMissed."""
        try:
            while True:
                try:
                    sentence = await waits.next(sentences, started=bool(spoken))
                except StopAsyncIteration:
                    return
                except LlmMissed:
                    raise
                except Exception as exc:  # any client or server error: the fallback must speak
                    raise LlmMissed(f"{type(exc).__name__}: {exc}") from exc
                yield sentence
        finally:
            await _close(sentences)

    def _closing(
        self, spoken: Sequence[Sentence], rejected: Sequence[Rejection]
    ) -> Sentence | None:
        """The line that ends a stalled reply in its language, if the guard lets it through."""
        language = spoken[-1].language
        text = CLOSING[language]
        verdict = self.guard.check(text, [])
        if not verdict.ok:
            log.warning("guard stopped the closing line %r: %s", text, verdict.violations)
            return None
        return Sentence(
            text,
            language,
            intent="closing",
            skus=(),
            backend="catalog",
            index=len(spoken),
            last=True,
            rejected=tuple(rejected),
        )

    @staticmethod
    def _rest(
        answer: Sequence[Sentence], spoken: Sequence[Sentence], rejected: Sequence[Rejection]
    ) -> list[Sentence]:
        """The catalog answer minus what the viewer already heard (greeting, same lines)."""
        said = {s.text for s in spoken}
        rest = [s for s in answer if s.text not in said and not (spoken and s.intent == "greeting")]
        return [
            replace(
                s,
                index=len(spoken) + i,
                last=i == len(rest) - 1,
                rejected=tuple(rejected) if i == 0 else (),
            )
            for i, s in enumerate(rest)
        ]


async def _cancelled(read: asyncio.Future[Sentence]) -> None:
    """Cancel `read` until it has ended: a cancel that one of the LLM client's layers swallowed
    is sent again (see `Waits.next`). A read that ignores every cancel is left behind, logged,
    rather than holding the reply."""
    for _ in range(RECANCELS):
        read.cancel()
        await asyncio.wait((read,), timeout=RECANCEL_S)
        if read.done():
            if not read.cancelled():
                read.exception()  # a sentence or error that came too late: retrieved, dropped
            return
    log.error("an LLM read ignored %d cancels; it is left running", RECANCELS)


async def _close(stream: AsyncIterator[Sentence]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # a broken connection while closing changes nothing for the viewer
            log.debug("closing the LLM stream failed", exc_info=True)
