"""The voice stage's events and protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

import numpy as np

# Mouth shapes the face stage can draw; voices map their phonemes onto these.
MouthShape = Literal["rest", "closed", "open", "wide", "round", "teeth"]
MOUTH_SHAPES: tuple[MouthShape, ...] = get_args(MouthShape)


@dataclass(frozen=True)
class Viseme:
    start: float  # seconds from the start of the chunk
    end: float
    shape: MouthShape


@dataclass(frozen=True)
class SpeechChunk:
    """A piece of synthesized speech: mono int16 PCM plus, where the engine knows them, visemes."""

    pcm: np.ndarray  # shape (n,), dtype int16
    sample_rate: int
    visemes: tuple[Viseme, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate


class Voice(Protocol):
    name: str
    languages: frozenset[str]  # e.g. {"en"} or {"zh", "en"}

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        """Speak one sentence. Blocking (CPU-bound): callers run it in a worker thread."""
        ...


class Speaker(Protocol):
    """The session's whole voice: every language, fallbacks, threads or a process of its own."""

    languages: frozenset[str]

    def warm(self) -> None:
        """Be ready to speak (models loaded) before the stream goes on air. Blocking."""
        ...

    def stream(self, text: str, language: str) -> AsyncIterator[SpeechChunk]:
        """Speak one sentence, each chunk as soon as it is made."""
        ...

    def close(self) -> None: ...
