"""The events of the reply stage: sentences a responder writes, and the guard's verdict."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from host.catalog.facts import CatalogView, ProductFacts
from host.chat.events import Triaged


@dataclass(frozen=True)
class Rejection:
    """A line the guard stopped before it was spoken, kept for the audit log."""

    text: str
    violations: tuple[str, ...]


@dataclass(frozen=True)
class Sentence:
    """One sentence of a reply, handed on as soon as it is complete so TTS can start."""

    text: str
    language: Literal["zh", "en"]
    intent: str  # "price", "stock", "greeting", "pitch", ...
    skus: tuple[str, ...]  # products the sentence speaks about (the guard checks against them)
    backend: str  # responder that wrote it
    index: int  # 0-based position in the reply
    last: bool  # no more sentences follow
    rejected: tuple[Rejection, ...] = ()  # drafts the guard stopped; this sentence replaces them
    prompt_version: str | None = None  # the prompt library release that wrote it (`label#id`)


def skus_of(sentences: Iterable[Sentence]) -> list[str]:
    """The products the sentences name, each once, in the order first named."""
    return list(dict.fromkeys(sku for sentence in sentences for sku in sentence.skus))


def prompt_version_of(sentences: Iterable[Sentence]) -> str | None:
    """The prompt release that wrote the sentences (a bridge the session adds names none)."""
    return next((s.prompt_version for s in sentences if s.prompt_version), None)


# What a reply opens with before it answers anything; never what the reply is about.
OPENERS: frozenset[str] = frozenset({"greeting", "thanks"})


def reply_intent(sentences: Sequence[Sentence]) -> str:
    """What a reply answered (its first sentence past the greeting): "shipping", not "greeting"."""
    return next((s.intent for s in sentences if s.intent not in OPENERS), "greeting")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    violations: tuple[str, ...] = ()


class Responder(Protocol):
    name: str

    def respond(self, item: Triaged, catalog: CatalogView) -> AsyncIterator[Sentence]:
        """Yield the reply's sentences in order; the last one has `last=True`."""
        ...


class Pitcher(Protocol):
    def pitch_sentences(
        self, product: ProductFacts, language: Literal["zh", "en"], catalog: CatalogView
    ) -> AsyncIterator[Sentence]:
        """An idle pitch for `product`, sentence by sentence."""
        ...
