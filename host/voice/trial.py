"""A line spoken by the configured voice before it goes on air (`host voice test`, the
console's test line).

The voice for the language is built from settings alone, without the router's espeak-ng
behind it or the sentence cache, so what is heard is that voice or a one-line error saying
why not, never a silent fallback. The text is normalised as on air (prices and numbers
into words), and the model is loaded before the clock starts, so the first-audio time is
what a session's first sentence waits once its voice is warmed; later sentences are
faster (onnxruntime and torch tune themselves on the first run; bench/voice.py measures
the warm figure).
"""

from __future__ import annotations

import io
import time
import wave
from dataclasses import dataclass

import numpy as np

from host.config import Settings
from host.errors import HostError
from host.voice.normalize import normalize_for_speech
from host.voice.registry import VOICES, Language, UnknownVoiceError
from host.voice.resample import resample


class VoiceTrialError(HostError):
    """The configured voice could not speak the line."""


@dataclass(frozen=True)
class Trial:
    """What the voice made of the line, and how long it took."""

    backend: str
    spoken_text: str  # after normalisation: what the engine was given
    pcm: np.ndarray  # mono int16
    sample_rate: int
    visemes: int
    load_s: float  # building the backend and loading its model
    first_audio_s: float  # from asking to the first chunk, model loaded
    total_s: float

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / self.sample_rate

    def wav(self) -> bytes:
        """The speech as a mono 16-bit WAV file."""
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self.sample_rate)
            wav.writeframes(self.pcm.astype("<i2").tobytes())
        return out.getvalue()


def speak_line(settings: Settings, text: str, language: Language) -> Trial:
    """Speak `text` with the voice `VOICE_EN` / `VOICE_ZH` names; raises `VoiceTrialError`."""
    name = settings.voice_en if language == "en" else settings.voice_zh
    factory = VOICES.get(name)
    if factory is None:
        known = ", ".join(sorted(VOICES))
        raise UnknownVoiceError(
            f"VOICE_{language.upper()}={name}: unknown voice {name!r}; choose one of {known}"
        )
    spoken = normalize_for_speech(text, language)
    if not any(character.isalnum() for character in spoken):
        raise VoiceTrialError(f"nothing to say in {text!r}: no words once emoji and links go")
    started = time.perf_counter()
    voice = factory(settings)
    warm = getattr(voice, "warm", None)
    try:
        if callable(warm):
            warm()
        load_s = time.perf_counter() - started
        asked = time.perf_counter()
        first_audio_s = 0.0
        pieces: list[np.ndarray] = []
        rate = 0
        visemes = 0
        for chunk in voice.synthesize(spoken, language):
            if not pieces:
                first_audio_s = time.perf_counter() - asked
                rate = chunk.sample_rate
            pieces.append(resample(chunk.pcm, chunk.sample_rate, rate))
            visemes += len(chunk.visemes)
        total_s = time.perf_counter() - asked
    except HostError:
        raise
    except Exception as error:  # any engine's failure is the user's to see, as one line
        raise VoiceTrialError(
            f"VOICE_{language.upper()}={name} could not speak {language}: {error}"
        ) from error
    if not pieces:
        raise VoiceTrialError(f"VOICE_{language.upper()}={name} made no audio for {spoken!r}")
    return Trial(
        backend=name,
        spoken_text=spoken,
        pcm=np.concatenate(pieces).astype(np.int16),
        sample_rate=rate,
        visemes=visemes,
        load_s=load_s,
        first_audio_s=first_audio_s,
        total_s=total_s,
    )
