"""Time to first audio (warm) and real-time factor of each voice backend on this machine.

Also the OpenAI TTS backend against the local test server (which streams espeak speech
with no delay, so its figures are the host's own overhead: HTTP, parsing, chunking) and a
cache hit, which is what a repeated pitch or FAQ line costs. Where the `coqui` extra is
installed, the tests' random-weight VITS and XTTS models too. The VITS figures are Coqui's
plumbing overhead (Synthesizer, tokenizer, a 1 MB model). The first XTTS has a one-layer
GPT and XTTS's full-size decoder; the second is XTTS v2 at full size. Random weights cost
the same compute as trained ones and every sentence is made to run 48 audio codes (2.1 s of speech),
so the full-size figures are what a real XTTS v2 costs for a sentence of that length.

Piper speaks Chinese from a voice file the user downloads (PIPER_MODEL_ZH); none can be
downloaded here, so where torch is installed the zh row is the tests' random-weight voice
built with Piper's own VITS at the sizes of its medium voices (zh_CN-huayan-medium's kind)
and phonemised by espeak-ng `cmn` as a real one is: the compute of a real medium voice, the
sound of noise. The bundled English voice is a trained medium voice of the same
architecture, so its row checks that the random one costs what a trained one does.

Run: python bench/voice.py [--only NAME]   (NAME: a part of a backend's label, e.g. piper)
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import tempfile

from machine import describe

from host.voice.base import Voice
from host.voice.cache import AudioCache, CachedVoice
from host.voice.coqui import Coqui
from host.voice.espeak import Espeak
from host.voice.openai_tts import OpenAiTts
from host.voice.piper import Piper
from tests.piper_voice import save_random_piper_voice
from tests.test_voice_clone import LONG_PART, recording, silence, speech, write_wav
from tests.test_voice_coqui import save_tiny_vits, save_tiny_xtts
from tests.tts_double import running_tts_double

SENTENCES = {
    "en": {
        "short": "Hi Lily,",
        "long": (
            "The lightweight down jacket is three hundred ninety nine yuan today, down from "
            "six hundred ninety nine, and we still have one hundred twenty eight in stock."
        ),
    },
    "zh": {
        "short": "欢迎莉莉，",
        "long": (
            "这件轻薄羽绒服今天直播间只要三百九十九元，原价六百九十九元，现在还有一百二十八件库存。"
        ),
    },
}
REPEATS = 5


def measure(voice: Voice, text: str, language: str) -> tuple[float, float, float]:
    """Median (first-audio seconds, total seconds, audio seconds) over a few warm runs."""
    first, total, audio = [], [], []
    for _ in range(REPEATS):
        start = time.perf_counter()
        spoken = 0.0
        first_at = None
        for chunk in voice.synthesize(text, language):
            if first_at is None:
                first_at = time.perf_counter() - start
            spoken += chunk.duration
        total.append(time.perf_counter() - start)
        first.append(first_at if first_at is not None else float("nan"))
        audio.append(spoken)
    return statistics.median(first), statistics.median(total), statistics.median(audio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the backends whose label has this")
    only = parser.parse_args().only
    print(f"machine: {describe()}")
    print(f"{'backend':34} {'lang':4} {'text':5} {'audio s':>8} {'first audio ms':>15} {'RTF':>6}")
    with (
        running_tts_double() as double,
        tempfile.TemporaryDirectory() as cache_dir,
        tempfile.TemporaryDirectory() as model_dir,
    ):
        models = Path(model_dir)
        openai = OpenAiTts(
            base_url=double.base_url, api_key=None, model="bench", voices={"en": "a", "zh": "b"}
        )
        openai_wav = OpenAiTts(
            base_url=double.base_url,
            api_key=None,
            model="bench",
            voices={"zh": "b"},
            response_format="wav",
        )
        piper = Piper()
        cached = CachedVoice(piper, AudioCache(Path(cache_dir), 64 * 1024 * 1024))
        backends: list[tuple[str, Voice, list[str]]] = [
            ("piper en_US-joe-medium (trained)", piper, ["en"]),
            ("espeak", Espeak(), ["zh", "en"]),
            ("openai pcm (local double)", openai, ["en", "zh"]),
            ("openai wav 22 kHz (local double)", openai_wav, ["zh"]),
            ("piper+cache hit", cached, ["en"]),
        ]
        piper_zh = "piper zh_CN medium-size (random)"
        if importlib.util.find_spec("torch") is not None and only in piper_zh:
            zh_medium = save_random_piper_voice(models / "piper", dims="medium")
            size_mb = zh_medium.stat().st_size / 1e6
            joe_mb = piper.identity.split(":")[-1]
            print(f"piper zh_CN random medium: {size_mb:.1f} MB (joe: {int(joe_mb) / 1e6:.1f} MB)")
            backends.append((piper_zh, Piper({"zh": zh_medium}), ["zh"]))
        else:
            print(
                "piper zh: skipped (not asked for, or no torch to build its voice: 'coqui' extra)"
            )
        if (
            importlib.util.find_spec("TTS") is not None
            and only in "coqui vits xtts, tiny full-size"
        ):
            backends.append(("coqui vits, tiny", Coqui(save_tiny_vits(models / "vits")), ["en"]))
            clip = recording([silence(0.5), speech(LONG_PART), silence(0.5)])
            reference = write_wav(models / "reference.wav", clip)
            xtts = Coqui(save_tiny_xtts(models / "xtts"), speaker_wav=reference)
            full = Coqui(save_tiny_xtts(models / "full", full_size_gpt=True), speaker_wav=reference)
            backends += [("coqui xtts, tiny", xtts, ["en", "zh"])]
            backends += [("coqui xtts, full-size", full, ["en", "zh"])]
        else:
            print("coqui: skipped (not asked for, or the 'coqui' extra is not installed)")
        for label, voice, languages in backends:
            if only not in label:
                continue
            load_start = time.perf_counter()
            warm = getattr(voice, "warm", None)
            if callable(warm):
                warm()
            print(f"{label}: load {time.perf_counter() - load_start:.2f} s")
            for language in languages:
                for size, text in SENTENCES[language].items():
                    list(voice.synthesize(text, language))  # warm the path (fills the cache)
                    first, total, audio = measure(voice, text, language)
                    print(
                        f"{label:34} {language:4} {size:5} {audio:8.2f} "
                        f"{first * 1000:15.1f} {total / audio:6.3f}"
                    )
        speak_s = [r.finished - r.received for r in double.requests if r.finished]
        if speak_s:
            print(
                f"openai: server's own time (espeak) median "
                f"{statistics.median(speak_s) * 1000:.0f} ms of the figures above"
            )


if __name__ == "__main__":
    main()
