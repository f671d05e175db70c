"""Voice backends by the name settings use (`voice_en`, `voice_zh`).

Adding a backend is one module implementing `Voice` plus one line here. Backends whose
engine is an optional extra (Coqui) are imported only when chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from host.config import Settings
from host.errors import HostError
from host.voice.base import Voice
from host.voice.espeak import Espeak
from host.voice.openai_tts import OpenAiTts
from host.voice.piper import Piper

Gender = Literal["female", "male"]
Language = Literal["en", "zh"]


class UnknownVoiceError(HostError, ValueError):
    """VOICE_EN or VOICE_ZH names no backend."""


def _openai(settings: Settings) -> Voice:
    """The TTS endpoint, defaulting to the LLM's endpoint and key when it has none of its own."""
    key = settings.tts_openai_api_key or settings.openai_api_key
    return OpenAiTts(
        base_url=settings.tts_openai_base_url or settings.openai_base_url,
        api_key=key.get_secret_value() if key is not None else None,
        model=settings.tts_openai_model,
        voices={"en": settings.tts_openai_voice_en, "zh": settings.tts_openai_voice_zh},
        timeout_s=settings.tts_openai_timeout_s,
        response_format=settings.tts_openai_format,
    )


def _piper(settings: Settings) -> Voice:
    """Piper with the voice file of each language whose backend it is (bundled for English)."""
    chosen = (
        ("en", settings.voice_en, settings.piper_model_en),
        ("zh", settings.voice_zh, settings.piper_model_zh),
    )
    return Piper({language: model for language, name, model in chosen if name == "piper"})


def _coqui(settings: Settings) -> Voice:
    from host.voice.coqui import coqui_from_settings

    return coqui_from_settings(settings)


VOICES: dict[str, Callable[[Settings], Voice]] = {
    "piper": _piper,
    "espeak": lambda settings: Espeak(),
    "openai": _openai,
    "coqui": _coqui,
}


def voice_gender(settings: Settings, language: Language) -> Gender | None:
    """How the voice chosen for `language` sounds, where the project knows: its bundled voices.

    Piper's bundled voice (joe, en_US) and espeak-ng's default variant are both male voices
    (pitch about 90 Hz). A Piper model, Coqui model or TTS server the user names is theirs
    to describe (HOST_LOOK), so it is None here.
    """
    name = settings.voice_en if language == "en" else settings.voice_zh
    if name == "piper" and language == "en" and settings.piper_model_en is None:
        return "male"
    if name == "espeak":
        return "male"
    return None
