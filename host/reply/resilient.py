"""The responder a session uses when an LLM is configured: fast, grounded and never silent.

The LLM writes the reply, but it must show its first sentence within a deadline, its
lines must pass the guard, and a failing endpoint is skipped for a while (circuit breaker).
When any of that goes wrong the catalog answerer, which is always right and always fast,
speaks instead, picking up after what was already said. A guard violation gets one
regeneration with the reason before the catalog answerer takes over. Comments that only
touch store policy (FAQ), ask whether the host is a real person (it is an AI, and says
so in words no model chooses) or look like prompt injection skip the LLM altogether.

The guard runs here so a bad line can be replaced; the session's own guard check stays as
the last line of defence. Every stopped draft travels on the sentence that replaces it
(`Sentence.rejected`), so the audit records the verdict, the violation and what was spoken.
"""

from __future__ import annotations

import asyncio
import logging
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


class LlmMissed(Exception):
    """The LLM failed, timed out, or missed its first-sentence deadline."""


class ResilientResponder:
    name = "llm"

    def __init__(
        self,
        llm: LlmResponder,
        answerer: CatalogAnswerer,
        guard: Guard,
        *,
        first_sentence_s: float = 2.5,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.llm = llm
        self.answerer = answerer
        self.guard = guard
        self.first_sentence_s = first_sentence_s
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
        for _ in range(MAX_DRAFTS):
            draft = Draft(
                spoken=" ".join(s.text for s in spoken),
                correction="; ".join(v for r in rejected[-1:] for v in r.violations),
            )
            stream = self._in_time(write(draft))
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
                log.warning("LLM missed (%s); the catalog answerer speaks", exc)
                break
            finally:
                await stream.aclose()
        for sentence in self._rest(fallback(), spoken, rejected):
            yield sentence

    async def _in_time(self, sentences: AsyncIterator[Sentence]) -> AsyncGenerator[Sentence, None]:
        """The LLM's sentences, the first within the deadline; any failure becomes LlmMissed."""
        first = True
        try:
            while True:
                try:
                    nxt = anext(sentences)
                    sentence = await (
                        asyncio.wait_for(nxt, self.first_sentence_s) if first else nxt
                    )
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise LlmMissed(f"no sentence within {self.first_sentence_s}s") from exc
                except Exception as exc:  # any client or server error: the fallback must speak
                    raise LlmMissed(f"{type(exc).__name__}: {exc}") from exc
                first = False
                yield sentence
        finally:
            await _close(sentences)

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


async def _close(stream: AsyncIterator[Sentence]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # a broken connection while closing changes nothing for the viewer
            log.debug("closing the LLM stream failed", exc_info=True)
