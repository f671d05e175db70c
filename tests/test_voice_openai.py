"""The OpenAI TTS backend against a local OpenAI-compatible server streaming real PCM."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from host.config import Settings
from host.voice.espeak import Espeak
from host.voice.openai_tts import SAMPLE_RATE, OpenAiTts
from host.voice.router import VoiceRouter, build_router
from tests.tts_double import Script, TtsDouble, running_tts_double

EN = "The lightweight down jacket is three hundred ninety nine yuan today."


@pytest.fixture
def double() -> Iterator[TtsDouble]:
    with running_tts_double() as server:
        yield server


def voice_for(double: TtsDouble) -> OpenAiTts:
    return OpenAiTts(
        base_url=double.base_url,
        api_key="test-key",
        model="tts-test",
        voices={"en": "alloy", "zh": "nova"},
        timeout_s=5.0,
    )


def test_openai_tts_returns_the_servers_speech_at_24khz(double: TtsDouble) -> None:
    chunks = list(voice_for(double).synthesize(EN, "en"))
    pcm = np.concatenate([chunk.pcm for chunk in chunks])
    assert {chunk.sample_rate for chunk in chunks} == {SAMPLE_RATE}
    assert all(chunk.pcm.dtype == np.int16 for chunk in chunks)
    assert pcm.astype("<i2").tobytes() == double.requests[0].sent
    assert 2.0 < len(pcm) / SAMPLE_RATE < 8.0
    assert np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) > 1000  # speech, not silence
    body = double.requests[0].body
    assert body == {
        "model": "tts-test",
        "voice": "alloy",
        "input": EN,
        "response_format": "pcm",
    }


def test_openai_tts_picks_the_voice_for_the_language(double: TtsDouble) -> None:
    chunks = list(voice_for(double).synthesize("这件羽绒服今天只要三百九十九元。", "zh"))
    assert sum(chunk.duration for chunk in chunks) > 1.0
    assert double.requests[0].body["voice"] == "nova"
    with pytest.raises(ValueError, match="no voice configured for 'fr'"):
        list(voice_for(double).synthesize("Bonjour", "fr"))


def test_openai_tts_yields_audio_before_the_response_is_complete(double: TtsDouble) -> None:
    double.script = Script(chunk_s=0.1, chunk_delay_s=0.05)
    arrivals: list[float] = []
    for _chunk in voice_for(double).synthesize(EN, "en"):
        arrivals.append(time.perf_counter())
    finished = double.requests[0].finished
    assert finished is not None
    assert len(arrivals) >= 10
    assert arrivals[0] < finished - 0.3, "the first chunk waited for the whole body"


def test_openai_tts_server_error_falls_back_to_the_next_backend(double: TtsDouble) -> None:
    double.script = Script(mode="error")
    router = VoiceRouter({"en": [voice_for(double), Espeak()]})
    started = time.perf_counter()
    chunks = list(router.synthesize(EN, "en"))
    assert time.perf_counter() - started < 3.0
    assert len(double.requests) == 1, "a failed sentence is not retried against the server"
    assert chunks and all(chunk.sample_rate == 22050 for chunk in chunks)  # espeak's rate


def test_openai_tts_unreachable_server_falls_back(double: TtsDouble) -> None:
    port = double.port
    double.stop()
    voice = OpenAiTts(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=None, model="m", voices={"en": "alloy"}
    )
    chunks = list(VoiceRouter({"en": [voice, Espeak()]}).synthesize(EN, "en"))
    assert chunks and chunks[0].sample_rate == 22050


def test_build_router_uses_openai_from_settings(double: TtsDouble, settings: Settings) -> None:
    configured = settings.model_copy(
        update={"voice_en": "openai", "tts_openai_base_url": double.base_url}
    )
    router = build_router(configured)
    assert [voice.name for voice in router.voices("en")] == ["openai", "espeak"]
    chunks = list(router.synthesize("Hi Lily, welcome in.", "en"))
    assert chunks[0].sample_rate == SAMPLE_RATE
    assert double.requests[0].body["model"] == "gpt-4o-mini-tts"
