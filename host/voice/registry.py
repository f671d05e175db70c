"""Voice backends by the name settings use (`voice_en`, `voice_zh`).

Adding a backend is one module implementing `Voice` plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from host.config import Settings
from host.voice.base import Voice
from host.voice.espeak import Espeak
from host.voice.piper import Piper

VOICES: dict[str, Callable[[Settings], Voice]] = {
    "piper": lambda settings: Piper(settings.piper_model),
    "espeak": lambda settings: Espeak(),
}
