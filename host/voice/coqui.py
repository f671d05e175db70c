"""Coqui TTS (the optional `coqui` extra): a model the user brings as a local folder.

Weights cannot be downloaded on the machines this runs on, so the backend only ever loads a
folder: `config.json` plus a checkpoint. XTTS v2 (its folder holds model.pth and
vocab.json) clones the streamer's voice from a voice profile's reference clip (`host voice
create`); VITS and the other single-speaker models speak in their own voice. Loading goes
through Coqui's own `Synthesizer`, the same path its CLI uses, lazily and once, behind a lock.

XTTS is not spoken through `Synthesizer.tts`: that path re-reads the reference and recomputes
the voice's latents for every sentence, and fails outright on a fine-tuned folder without
`speakers_xtts.pth`. The latents are computed once at load, with the config's own cloning
settings, and each sentence goes through `Xtts.inference`. Not `inference_stream`: the
session takes whole sentences, and streaming re-decodes the growing sentence at every part,
which doubles the decoder's cost on a CPU (bench/voice.py).
The `TTS` package is imported only here and only when this backend is chosen, so the rest of
the host runs without torch.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from host.config import Settings
from host.errors import HostError
from host.likeness import sha256_file
from host.voice.base import SpeechChunk
from host.voice.clone import VoiceProfile, load_voice

CHECKPOINT_NAMES = ("model.pth", "best_model.pth", "model_file.pth", "checkpoint.pth")
# Which Coqui language code each host language uses, for multi-language models (XTTS).
DEFAULT_LANGUAGES: Mapping[str, str] = {"en": "en", "zh": "zh-cn"}


class CoquiModelError(HostError):
    """The model folder is incomplete, or the `coqui` extra is not installed."""


class Coqui:
    name = "coqui"

    def __init__(
        self,
        model_dir: Path,
        *,
        speaker_wav: Path | None = None,
        languages: Mapping[str, str] = DEFAULT_LANGUAGES,
    ) -> None:
        """`speaker_wav`: the reference clip a cloning model (XTTS) speaks like.

        `languages` maps host languages to the model's codes; a single-language model speaks
        only the language of its config (`phoneme_language`, else English).
        """
        self._dir = Path(model_dir)
        config_path = self._dir / "config.json"
        if not config_path.is_file():
            raise CoquiModelError(f"no config.json in Coqui model folder {self._dir}")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        self._xtts = str(config.get("model", "")).lower() == "xtts"
        if self._xtts:
            if speaker_wav is None:
                raise CoquiModelError("XTTS needs a voice profile: set COQUI_SPEAKER")
            self._checkpoint = self._dir  # XTTS loads model.pth and vocab.json from its folder
            weights = self._dir / "model.pth"
            if not weights.is_file():
                raise CoquiModelError(f"no model.pth in XTTS folder {self._dir}")
            self._languages = dict(languages)
        else:
            self._checkpoint = weights = _checkpoint_in(self._dir)
            own = _host_language(config.get("phoneme_language"))
            self._languages = {own: languages.get(own, own)}
        self._speaker_wav = speaker_wav
        self.languages = frozenset(self._languages)
        # The clip's hash, not the profile's name: a re-recorded profile must not replay the
        # old voice from the audio cache.
        speaker = sha256_file(speaker_wav) if speaker_wav is not None else ""
        self.identity = f"{self._dir.resolve()}:{weights.stat().st_mtime_ns}:{speaker}"
        self._synthesizer: Any = None
        self._latents: Any = None  # XTTS: (GPT conditioning latents, speaker embedding)
        self._load_lock = threading.Lock()

    @property
    def sample_rate(self) -> int:
        return int(self._loaded().output_sample_rate)

    def warm(self) -> None:
        """Load the model now (seconds for XTTS), so the first sentence on air doesn't wait."""
        self._loaded()

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        """The whole sentence as one chunk: Coqui models render a sentence at once.

        Coqui's Synthesizer appends 10,000 zero samples (0.45-0.6 s) after every sentence;
        they are cut, so a Coqui voice paces sentences like the other backends.
        """
        code = self._languages.get(language)
        if code is None:
            raise ValueError(f"coqui model {self._dir.name} speaks {sorted(self.languages)}")
        if not text.strip():
            return
        synthesizer = self._loaded()
        rate = int(synthesizer.output_sample_rate)
        if self._latents is not None:
            wav = self._cloned(synthesizer, text, code)
        else:
            wav = np.asarray(synthesizer.tts(text, split_sentences=False), dtype=np.float32)
        sound = np.flatnonzero(wav)
        if sound.size:
            yield SpeechChunk(pcm=_pcm(wav[: sound[-1] + 1]), sample_rate=rate)

    def _cloned(self, synthesizer: Any, text: str, code: str) -> np.ndarray:
        """XTTS in the profile's voice, sampled with the settings in the model's config."""
        config = synthesizer.tts_config
        gpt_latents, speaker_embedding = self._latents
        out = synthesizer.tts_model.inference(
            text,
            code,
            gpt_latents,
            speaker_embedding,
            temperature=config.temperature,
            length_penalty=config.length_penalty,
            repetition_penalty=config.repetition_penalty,
            top_k=config.top_k,
            top_p=config.top_p,
        )
        return np.asarray(out["wav"], dtype=np.float32).reshape(-1)

    def _loaded(self) -> Any:
        with self._load_lock:
            if self._synthesizer is None:
                synthesizer_module = _import_coqui("TTS.utils.synthesizer")
                synthesizer = synthesizer_module.Synthesizer(
                    tts_checkpoint=str(self._checkpoint),
                    tts_config_path=str(self._dir / "config.json"),
                )
                if self._xtts:
                    config = synthesizer.tts_config
                    self._latents = synthesizer.tts_model.get_conditioning_latents(
                        audio_path=str(self._speaker_wav),
                        max_ref_length=config.max_ref_len,
                        gpt_cond_len=config.gpt_cond_len,
                        gpt_cond_chunk_len=config.gpt_cond_chunk_len,
                        sound_norm_refs=config.sound_norm_refs,
                    )
                self._synthesizer = synthesizer
            return self._synthesizer


def coqui_from_settings(settings: Settings) -> Coqui:
    """The backend `voice_en=coqui` / `voice_zh=coqui` select, speaking the chosen profile."""
    if settings.coqui_model_dir is None:
        raise CoquiModelError("voice 'coqui' needs COQUI_MODEL_DIR (a folder with config.json)")
    speaker_wav = None
    if settings.coqui_speaker:
        load_voice(settings, settings.coqui_speaker)  # refuses a profile without consent
        speaker_wav = VoiceProfile.reference(settings, settings.coqui_speaker)
    return Coqui(
        settings.coqui_model_dir,
        speaker_wav=speaker_wav,
        languages={"en": "en", "zh": settings.coqui_language_zh},
    )


def _pcm(wav: np.ndarray) -> np.ndarray:
    return np.round(np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0) * 32767).astype(np.int16)


def _checkpoint_in(folder: Path) -> Path:
    """The folder's checkpoint: a conventional name, else its only .pth file."""
    for name in CHECKPOINT_NAMES:
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*.pth"))
    if len(found) != 1:
        raise CoquiModelError(
            f"cannot tell the checkpoint in {folder}: expected model.pth or one .pth file, "
            f"found {len(found)}"
        )
    return found[0]


def _host_language(code: object) -> str:
    """ "en-us" -> "en", "cmn" / "zh-cn" -> "zh"; a config without one is English."""
    text = str(code or "en").lower()
    return "zh" if text.startswith(("zh", "cmn")) else text.replace("_", "-").split("-")[0]


def _import_coqui(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise CoquiModelError(
            f"Coqui TTS is not installed or does not import ({error}); install the 'coqui' extra"
        ) from None
