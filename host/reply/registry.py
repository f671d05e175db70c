"""Which responder a session or `host ask` uses, from settings.

The catalog answerer is the embedded default; with an OpenAI-compatible endpoint set, the
LLM writes replies behind the resilient wrapper (deadline, breaker, guard regeneration),
with the same catalog answerer as its fallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from host.config import Settings
from host.reply.answerer import CatalogAnswerer
from host.reply.guard import Guard

if TYPE_CHECKING:
    from host.reply.resilient import ResilientResponder


def build_responder(settings: Settings, guard: Guard) -> CatalogAnswerer | ResilientResponder:
    answerer = CatalogAnswerer(
        settings.prompts_dir / "faq.yaml", phrasebook_path=settings.prompts_dir / "answers.yaml"
    )
    if not settings.llm_configured:
        return answerer
    from host.reply.resilient import ResilientResponder  # needs the `llm` extra

    return ResilientResponder.from_settings(settings, answerer, guard)
