"""The on-disk TTS cache: repeats replay without the backend, bad entries heal, size is bounded."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
import pytest

from host.config import Settings
from host.voice.base import SpeechChunk, Viseme
from host.voice.cache import AudioCache, CachedVoice, cache_key
from host.voice.espeak import Espeak
from host.voice.router import build_router

SENTENCE = "这件羽绒服今天只要三百九十九元。"


class CountingVoice:
    """Real espeak speech, counting how often the engine is actually asked."""

    name = "espeak"
    languages = frozenset({"zh", "en"})
    identity = "counting"

    def __init__(self) -> None:
        self.calls = 0
        self._espeak = Espeak()

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        self.calls += 1
        yield from self._espeak.synthesize(text, language)


class FailingAfterAudio(CountingVoice):
    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        yield from super().synthesize(text, language)
        raise RuntimeError("engine died after the first chunk")


def entries(root: Path) -> list[Path]:
    return sorted(root.glob("*/*.npz"))


def test_cache_hit_replays_identical_audio_and_visemes_without_the_backend(
    tmp_path: Path,
) -> None:
    backend = CountingVoice()
    voice = CachedVoice(backend, AudioCache(tmp_path, 10_000_000))
    first = list(voice.synthesize(SENTENCE, "zh"))
    second = list(CachedVoice(backend, AudioCache(tmp_path, 10_000_000)).synthesize(SENTENCE, "zh"))
    assert backend.calls == 1
    assert len(first) == len(second) >= 1
    for spoken, replayed in zip(first, second, strict=True):
        np.testing.assert_array_equal(spoken.pcm, replayed.pcm)
        assert replayed.pcm.dtype == np.int16
        assert replayed.sample_rate == spoken.sample_rate
        assert replayed.visemes == spoken.visemes and spoken.visemes


def test_cache_key_separates_backend_voice_language_and_text() -> None:
    base = cache_key("piper", "en_US-joe.onnx:1", "en", "Hi Lily,")
    assert base == cache_key("piper", "en_US-joe.onnx:1", "en", "Hi Lily,")
    others = {
        cache_key("openai", "en_US-joe.onnx:1", "en", "Hi Lily,"),
        cache_key("piper", "en_US-amy.onnx:1", "en", "Hi Lily,"),
        cache_key("piper", "en_US-joe.onnx:1", "zh", "Hi Lily,"),
        cache_key("piper", "en_US-joe.onnx:1", "en", "Hi Lily!"),
        cache_key("piper", "en_US-joe.onnx:1en", "", "Hi Lily,"),
    }
    assert base not in others and len(others) == 5


def test_corrupt_entry_is_ignored_and_rewritten(tmp_path: Path) -> None:
    backend = CountingVoice()
    voice = CachedVoice(backend, AudioCache(tmp_path, 10_000_000))
    list(voice.synthesize(SENTENCE, "zh"))
    (entry,) = entries(tmp_path)
    entry.write_bytes(entry.read_bytes()[:100])  # a torn write from an older, non-atomic writer
    fresh = CachedVoice(backend, AudioCache(tmp_path, 10_000_000))
    spoken = list(fresh.synthesize(SENTENCE, "zh"))
    assert backend.calls == 2, "the torn entry was a miss"
    assert sum(chunk.duration for chunk in spoken) > 1.0
    assert entries(tmp_path) == [entry] and entry.stat().st_size > 1000
    replayed = list(fresh.synthesize(SENTENCE, "zh"))
    assert backend.calls == 2, "the rewritten entry is whole again"
    np.testing.assert_array_equal(replayed[0].pcm, spoken[0].pcm)


def test_an_interrupted_or_failed_sentence_is_not_stored(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, 10_000_000)
    with pytest.raises(RuntimeError, match="engine died"):
        list(CachedVoice(FailingAfterAudio(), cache).synthesize(SENTENCE, "zh"))
    stream = CachedVoice(CountingVoice(), cache).synthesize(SENTENCE, "zh")
    assert isinstance(stream, Generator)
    next(stream)
    stream.close()  # the listener stopped early
    assert entries(tmp_path) == []
    assert list(tmp_path.glob("*/.tmp-*")) == [], "no temporary file left behind"


def test_least_recently_used_entries_are_evicted_past_the_size_limit(tmp_path: Path) -> None:
    backend = CountingVoice()
    sentences = ["一号链接。", "二号链接。", "三号链接。", "四号链接。"]
    probe = AudioCache(tmp_path / "probe", 10_000_000)
    list(CachedVoice(backend, probe).synthesize(sentences[0], "zh"))
    one_entry = probe.size_bytes
    cache = AudioCache(tmp_path / "bounded", int(one_entry * 3.5))
    voice = CachedVoice(backend, cache)
    for text in sentences[:3]:
        list(voice.synthesize(text, "zh"))
    list(voice.synthesize(sentences[0], "zh"))  # touch the oldest: now the second is oldest
    list(voice.synthesize(sentences[3], "zh"))
    assert len(entries(tmp_path / "bounded")) == 3
    assert cache.size_bytes <= cache.max_bytes
    calls = backend.calls
    list(voice.synthesize(sentences[0], "zh"))
    list(voice.synthesize(sentences[2], "zh"))
    list(voice.synthesize(sentences[3], "zh"))
    assert backend.calls == calls, "recently used sentences stayed"
    list(voice.synthesize(sentences[1], "zh"))
    assert backend.calls == calls + 1, "the least recently used one was evicted"


def test_recency_survives_a_restart(tmp_path: Path) -> None:
    backend = CountingVoice()
    first = AudioCache(tmp_path, 10_000_000)
    voice = CachedVoice(backend, first)
    for text in ["一号链接。", "二号链接。"]:
        list(voice.synthesize(text, "zh"))
    list(voice.synthesize("一号链接。", "zh"))  # a hit: now "二号" is the least recent
    restarted = AudioCache(tmp_path, int(first.size_bytes * 1.4))
    list(CachedVoice(backend, restarted).synthesize("三号链接。", "zh"))
    calls = backend.calls
    list(CachedVoice(backend, restarted).synthesize("一号链接。", "zh"))
    assert backend.calls == calls
    list(CachedVoice(backend, restarted).synthesize("二号链接。", "zh"))
    assert backend.calls == calls + 1


def test_build_router_caches_unless_turned_off(settings: Settings) -> None:
    router = build_router(settings)
    assert isinstance(router.voices("zh")[0], CachedVoice)
    list(router.synthesize(SENTENCE, "zh"))
    assert entries(settings.var_dir / "tts-cache")
    plain = build_router(settings.model_copy(update={"tts_cache": False}))
    assert not isinstance(plain.voices("zh")[0], CachedVoice)


def test_cache_rejects_mixed_sample_rates(tmp_path: Path) -> None:
    chunks = [
        SpeechChunk(np.ones(10, np.int16), 22050, (Viseme(0.0, 0.0001, "open"),)),
        SpeechChunk(np.ones(10, np.int16), 24000),
    ]
    with pytest.raises(ValueError, match="share a sample rate"):
        AudioCache(tmp_path, 1000).put("ab" * 32, chunks)
