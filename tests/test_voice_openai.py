"""The OpenAI TTS backend against a local OpenAI-compatible server streaming real PCM."""

from __future__ import annotations

import struct
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from host.cli import app
from host.config import Settings
from host.voice.base import SpeechChunk
from host.voice.espeak import Espeak
from host.voice.openai_tts import SAMPLE_RATE, OpenAiTts, _WavReader
from host.voice.router import VoiceRouter, build_router
from host.voice.trial import speak_line
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


def test_openai_tts_reads_a_streamed_wav_at_the_rate_its_header_gives(double: TtsDouble) -> None:
    double.script = Script(chunk_s=0.1, chunk_delay_s=0.05, wav_rate=22_050)
    voice = OpenAiTts(
        base_url=double.base_url,
        api_key=None,
        model="cosyvoice",
        voices={"zh": "中文女"},
        response_format="wav",
    )
    arrivals: list[float] = []
    chunks = []
    for chunk in voice.synthesize("这件羽绒服今天只要三百九十九元。", "zh"):
        arrivals.append(time.perf_counter())
        chunks.append(chunk)
    assert double.requests[0].body["response_format"] == "wav"
    assert {chunk.sample_rate for chunk in chunks} == {22_050}
    pcm = np.concatenate([chunk.pcm for chunk in chunks])
    assert pcm.astype("<i2").tobytes() == double.requests[0].sent
    finished = double.requests[0].finished
    assert finished is not None and arrivals[0] < finished - 0.3, "the WAV was read as it came"


def _feed_bytewise(reader: _WavReader, data: bytes) -> list[SpeechChunk]:
    chunks = [chunk for i in range(len(data)) for chunk in reader.feed(data[i : i + 1])]
    return chunks + list(reader.flush())


def test_wav_reader_takes_a_header_in_pieces_and_mixes_stereo_to_mono(tmp_path: Path) -> None:
    left = (np.sin(np.arange(1600) / 5) * 12000).astype(np.int16)
    stereo = np.stack([left, left // 2], axis=1)
    with wave.open(str(tmp_path / "s.wav"), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(stereo.astype("<i2").tobytes())
    chunks = _feed_bytewise(_WavReader(), (tmp_path / "s.wav").read_bytes())
    pcm = np.concatenate([chunk.pcm for chunk in chunks])
    assert {chunk.sample_rate for chunk in chunks} == {16_000}
    assert len(pcm) == 1600
    assert np.abs(pcm.astype(int) - (left.astype(int) + left // 2) / 2).max() <= 1


def test_wav_reader_reads_float_samples_after_other_chunks() -> None:
    samples = np.array([0.0, 0.5, -0.5, 1.0], dtype="<f4")
    fmt = struct.pack("<HHIIHH", 3, 1, 24_000, 24_000 * 4, 4, 32)
    info = b"LIST" + struct.pack("<I", 3) + b"abc\0"  # odd size: padded to even
    data = b"data" + struct.pack("<I", 0) + samples.tobytes()  # size 0: still streaming
    stream = b"RIFF\0\0\0\0WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + info + data
    chunks = _feed_bytewise(_WavReader(), stream)
    assert np.concatenate([c.pcm for c in chunks]).tolist() == [0, 16384, -16384, 32767]


def test_wav_reader_reads_one_whole_wav_after_another(tmp_path: Path) -> None:
    pieces = [np.full(500, 1000, np.int16), np.full(700, -2000, np.int16)]
    stream = b""
    for i, piece in enumerate(pieces):
        with wave.open(str(tmp_path / f"{i}.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(24_000)
            wav.writeframes(piece.astype("<i2").tobytes())
        stream += (tmp_path / f"{i}.wav").read_bytes()
    stream += b"LIST" + struct.pack("<I", 4) + b"junk"  # a trailing chunk, not audio
    chunks = _feed_bytewise(_WavReader(), stream)
    assert np.concatenate([c.pcm for c in chunks]).tolist() == np.concatenate(pieces).tolist()
    reader = _WavReader()
    whole = list(reader.feed(stream)) + list(reader.flush())
    assert sum(len(c.pcm) for c in whole) == 1200


def test_an_answer_that_is_not_wav_fails_over_to_the_next_voice(double: TtsDouble) -> None:
    double.script = Script(mode="mp3")
    voice = OpenAiTts(
        base_url=double.base_url, api_key=None, model="m", voices={"en": "a"}, response_format="wav"
    )
    with pytest.raises(ValueError, match="not a WAV stream"):
        list(voice.synthesize(EN, "en"))
    chunks = list(VoiceRouter({"en": [voice, Espeak()]}).synthesize(EN, "en"))
    assert chunks and chunks[0].sample_rate == 22050  # espeak's


def test_voice_test_speaks_zh_through_the_server_normalised_and_streaming(
    double: TtsDouble, settings: Settings
) -> None:
    double.script = Script(chunk_s=0.1, chunk_delay_s=0.05)
    configured = settings.model_copy(
        update={
            "voice_zh": "openai",
            "tts_openai_base_url": double.base_url,
            "tts_openai_model": "IndexTTS-2",
            "tts_openai_voice_zh": "xiaoyan",
        }
    )
    trial = speak_line(configured, "两件只要¥1,299，3号链接！", "zh")
    body = double.requests[0].body
    assert body["input"] == "两件只要一千二百九十九元，三号链接！"
    assert (body["model"], body["voice"]) == ("IndexTTS-2", "xiaoyan")
    assert trial.backend == "openai" and trial.sample_rate == SAMPLE_RATE
    assert trial.duration_s > 1.5
    assert trial.first_audio_s < trial.total_s - 0.5, "first audio came while the rest streamed"


def test_host_voice_test_with_the_server_down_is_one_line(
    double: TtsDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = double.port
    double.stop()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOICE_ZH", "openai")
    monkeypatch.setenv("TTS_OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    result = CliRunner().invoke(app, ["voice", "test", "你好", "--lang", "zh"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: VOICE_ZH=openai could not speak zh: Connection error."
    ]
