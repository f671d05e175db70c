"""`host ask`: one comment through triage, responder and guard, no audio or video.

Marketers try a line with it; tests and benchmarks use it to check answers at scale.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from host.catalog.facts import CatalogView
from host.chat.events import Comment
from host.chat.triage import Triage
from host.config import Settings
from host.reply.events import Responder, Sentence, reply_intent, skus_of
from host.reply.guard import Guard
from host.reply.prompts import load_banned
from host.reply.registry import build_responder


@dataclass
class AskResult:
    reply: str
    intent: str
    products: list[str]
    backend: str
    ok: bool
    violations: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # lines the guard stopped
    dropped: str | None = None  # triage reason when the comment would not be answered
    latency_ms: float = 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "reply": self.reply,
            "intent": self.intent,
            "products": self.products,
            "backend": self.backend,
            "guard": {"ok": self.ok, "violations": self.violations},
            "blocked": self.blocked,
            "dropped": self.dropped,
            "latency_ms": round(self.latency_ms, 2),
        }


class Asker:
    """Reusable across many questions (the eval set runs hundreds through one instance)."""

    def __init__(
        self, catalog: CatalogView, responder: Responder, guard: Guard, banned: list[str]
    ) -> None:
        self._catalog = catalog
        self._responder = responder
        self._guard = guard
        self._banned = banned
        self._n = 0

    @classmethod
    def from_settings(cls, catalog: CatalogView, settings: Settings) -> Asker:
        """The responder the settings choose: the LLM when an endpoint is set, else the catalog."""
        banned = load_banned(settings.prompts_dir / "banned.yaml")
        guard = Guard(banned.claims)
        return cls(catalog, build_responder(settings, guard), guard, list(banned.words))

    def ask(self, text: str, user: str | None = None) -> AskResult:
        return asyncio.run(self.ask_async(text, user))

    async def ask_async(self, text: str, user: str | None = None) -> AskResult:
        """`user`: the viewer's name to greet; None asks anonymously (greeted by no name)."""
        start = time.perf_counter()
        self._n += 1
        comment = Comment(
            platform="cli",
            room="ask",
            message_id=f"ask-{self._n}",
            user_id=user or "anonymous",
            user_name=user or "",
            text=text,
        )
        triage = Triage(self._banned)  # fresh: one question must not be rate-limited by the last
        decision = triage.offer(comment, 0.0)
        item = triage.pop(0.0)
        if item is None:
            return AskResult(
                "",
                "dropped",
                [],
                "triage",
                True,
                dropped=decision.reason,
                latency_ms=(time.perf_counter() - start) * 1000,
            )
        violations: list[str] = []
        blocked: list[str] = []
        passed: list[Sentence] = []
        backend = self._responder.name
        async for sentence in self._responder.respond(item, self._catalog):
            backend = sentence.backend
            for rejection in sentence.rejected:
                blocked.append(rejection.text)
                violations.extend(rejection.violations)
            verdict = self._guard.check_sentence(sentence, self._catalog)
            violations.extend(verdict.violations)
            if verdict.ok:
                passed.append(sentence)
            else:
                blocked.append(sentence.text)
        return AskResult(
            reply=" ".join(s.text for s in passed),
            intent=reply_intent(passed) if passed else "other",
            products=skus_of(passed),
            backend=backend,
            ok=not violations,
            violations=violations,
            blocked=blocked,
            latency_ms=(time.perf_counter() - start) * 1000,
        )
