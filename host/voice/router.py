"""One `Voice` for the whole session: per language, an ordered list of backends to try.

A stream must not go silent because one engine failed on one sentence, so each sentence
goes to the first backend for its language and, if that raises before it has produced any
audio, to the next. A failure after audio has been produced ends the sentence there:
repeating the start of a sentence on air is worse than cutting its end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from host.config import Settings
from host.voice.base import SpeechChunk, Voice
from host.voice.cache import AudioCache, CachedVoice
from host.voice.normalize import normalize_for_speech
from host.voice.registry import VOICES, UnknownVoiceError

_LOGGER = logging.getLogger(__name__)
_SPEAKABLE = re.compile(r"\w")
FALLBACK_VOICE = "espeak"


VOICE_THREADS = 4  # sentences synthesized at once; a session writes one ahead, so a spare few


def _lower_priority(nice: int) -> None:
    """Make the calling thread `nice` steps less urgent (Linux threads have their own)."""
    if nice > 0 and hasattr(os, "setpriority"):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)


class VoiceUnavailable(RuntimeError):
    """Every backend for a sentence's language failed (or there are none)."""


class VoiceRouter:
    """Implements `Voice`, speaking each sentence with the first backend that manages it.

    Engines run in the router's own threads at `nice` (Linux niceness, added to the
    process's; `TTS_NICE`): a sentence is written ahead of when it plays, a frame is due
    every 40 ms, so with several sessions on a machine the frame should win the CPU. Models
    are loaded in those threads too, because onnxruntime's worker threads (Piper) inherit
    the niceness of the thread that creates them. Off by default: on a machine saturated by
    other work in the same scheduling group, a niced TTS starves (a sentence took over
    5 s in the test suite under load 15), which is dead air instead of a late frame.
    """

    name = "router"

    def __init__(self, voices_by_language: Mapping[str, Sequence[Voice]], nice: int = 0) -> None:
        for language, voices in voices_by_language.items():
            for voice in voices:
                if language not in voice.languages:
                    raise ValueError(f"voice {voice.name!r} does not speak {language!r}")
        self._voices = {language: tuple(voices) for language, voices in voices_by_language.items()}
        self.languages = frozenset(lang for lang, voices in self._voices.items() if voices)
        self._threads = ThreadPoolExecutor(
            VOICE_THREADS, "voice", initializer=_lower_priority, initargs=(nice,)
        )

    def voices(self, language: str) -> tuple[Voice, ...]:
        """The backends tried for `language`, in order."""
        return self._voices.get(language, ())

    def warm(self) -> None:
        """Load every backend's model now (those that have a `warm()`), before going on air."""
        unique = {id(voice): voice for voices in self._voices.values() for voice in voices}
        for voice in unique.values():
            warm = getattr(voice, "warm", None)
            if callable(warm):
                self._threads.submit(warm).result()

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def stream(self, text: str, language: str) -> AsyncIterator[SpeechChunk]:
        """`synthesize` as an async stream: each chunk is handed on as soon as the engine
        makes it, while the engine itself runs in a worker thread (TTS is CPU-bound, and the
        program's clock must keep ticking)."""
        chunks = self.synthesize(text, language)
        loop = asyncio.get_running_loop()
        while (chunk := await loop.run_in_executor(self._threads, next, chunks, None)) is not None:
            yield chunk

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        """Normalise `text` for speech, then speak it with the first backend that works.

        Raises `VoiceUnavailable` only when every backend for the language failed.
        """
        spoken = normalize_for_speech(text, language) if language in ("zh", "en") else text
        if not _SPEAKABLE.search(spoken):
            return
        failures: list[str] = []
        last_error: Exception | None = None
        for voice in self.voices(language):
            produced = False
            try:
                for chunk in voice.synthesize(spoken, language):
                    produced = True
                    yield chunk
            except Exception as error:
                if produced:
                    _LOGGER.exception(
                        "voice %s failed mid-sentence; cutting it: %r", voice.name, spoken
                    )
                    return
                _LOGGER.warning(
                    "voice %s failed on %r: %s; trying the next", voice.name, spoken, error
                )
                failures.append(f"{voice.name}: {error}")
                last_error = error
                continue
            if produced:
                return
            _LOGGER.warning(
                "voice %s produced no audio for %r; trying the next", voice.name, spoken
            )
            failures.append(f"{voice.name}: no audio")
        reasons = "; ".join(failures) or "no voice configured"
        raise VoiceUnavailable(f"cannot speak {language!r} {spoken!r}: {reasons}") from last_error


def build_router(settings: Settings) -> VoiceRouter:
    """The session's voice from settings: the chosen backend per language, espeak behind it.

    espeak-ng speaks both languages and needs no model file, so it is the fallback of any
    other backend. Each backend is built once and shared between languages, and (unless
    `tts_cache` is off) replays sentences it has already spoken from the on-disk cache.
    """
    chosen = {"en": settings.voice_en, "zh": settings.voice_zh}
    cache = (
        AudioCache(settings.var_dir / "tts-cache", settings.tts_cache_max_mb * 1024 * 1024)
        if settings.tts_cache
        else None
    )
    built: dict[str, Voice] = {}
    voices_by_language: dict[str, list[Voice]] = {}
    for language, name in chosen.items():
        for backend in dict.fromkeys([name, FALLBACK_VOICE]):
            factory = VOICES.get(backend)
            if factory is None:
                known = ", ".join(sorted(VOICES))
                raise UnknownVoiceError(
                    f"VOICE_{language.upper()}={backend}: unknown voice {backend!r};"
                    f" choose one of {known}"
                )
            if backend not in built:
                voice = factory(settings)
                built[backend] = voice if cache is None else CachedVoice(voice, cache)
            voices_by_language.setdefault(language, []).append(built[backend])
    return VoiceRouter(voices_by_language, settings.tts_nice)
