"""espeak-ng through ctypes: the offline Mandarin voice, and the English voice of last resort.

`espeakng_loader` ships libespeak-ng and its data (cmn included) but no speech API, so the C
library is driven directly in synchronous mode: `espeak_Synth` returns once the callback
has received all audio and events. The library is one global state machine per process,
so every instance shares one initialisation and one lock. Phoneme events (in IPA) with
their millisecond positions become visemes.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import espeakng_loader
import numpy as np

from host.voice.base import SpeechChunk
from host.voice.visemes import visemes_from_onsets

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 0x1
_ENDPAUSE = 0x1000
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_EE_OK = 0

_PARAM_RATE = 1
DEFAULT_VOICES: Mapping[str, str] = {"zh": "cmn", "en": "en"}
# Words per minute. espeak's default 175 reads Mandarin at about 3.5 syllables/s, slower
# than a live seller talks (4.5-5) and slow enough to back up a busy room.
DEFAULT_RATES: Mapping[str, int] = {"zh": 230, "en": 175}


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds from the start of this synth call
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class _Capture:
    """What one synth call produced; filled by the callback while the lock is held."""

    audio: list[np.ndarray] = field(default_factory=list)
    phonemes: list[tuple[str, float]] = field(default_factory=list)  # (IPA, onset seconds)


class _Engine:
    """The process's one libespeak-ng, initialised on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sample_rate = 0
        self._lib: ctypes.CDLL | None = None
        self._capture = _Capture()
        self._callback = _SynthCallback(self._receive)  # kept alive as long as the library

    def speak(self, text: str, voice: str, rate: int) -> tuple[np.ndarray, list[tuple[str, float]]]:
        with self.lock:
            lib = self._library()
            status = lib.espeak_SetVoiceByName(voice.encode())
            if status != _EE_OK:
                raise RuntimeError(f"espeak-ng has no voice {voice!r} (error {status})")
            lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            self._capture = _Capture()
            data = text.encode("utf-8")
            status = lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
            )
            if status != _EE_OK:
                raise RuntimeError(f"espeak-ng failed to synthesize (error {status})")
            capture = self._capture
        audio = np.concatenate(capture.audio) if capture.audio else np.zeros(0, np.int16)
        return audio, capture.phonemes

    def load(self) -> None:
        with self.lock:
            self._library()

    def _library(self) -> ctypes.CDLL:
        if self._lib is None:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            lib.espeak_Initialize.argtypes = [
                ctypes.c_int,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
            ]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
            lib.espeak_Synth.argtypes = [
                ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
            ]  # fmt: skip
            options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA | _INITIALIZE_DONT_EXIT
            data_path = espeakng_loader.get_data_path().encode()
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, options)
            if rate <= 0:
                raise RuntimeError(f"espeak-ng failed to initialise from {data_path.decode()}")
            lib.espeak_SetSynthCallback(self._callback)
            self.sample_rate = rate
            self._lib = lib
        return self._lib

    def _receive(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]
    ) -> int:
        if count > 0:
            self._capture.audio.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                ipa = bytes(event.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._capture.phonemes.append((ipa, event.audio_position / 1000))
            i += 1
        return 0  # 0 = go on


_ENGINE = _Engine()


class Espeak:
    """Formant synthesis: robotic but intelligible, instant, and it speaks Mandarin offline."""

    name = "espeak"

    def __init__(
        self, voices: Mapping[str, str] = DEFAULT_VOICES, rates: Mapping[str, int] = DEFAULT_RATES
    ) -> None:
        """`voices` maps a language to an espeak-ng voice name (default zh -> cmn, en -> en)."""
        self._voices = dict(voices)
        self._rates = dict(rates)
        self.languages = frozenset(self._voices)
        self.identity = ",".join(
            f"{lang}={name}@{self._rates.get(lang, 175)}" for lang, name in sorted(voices.items())
        )

    def warm(self) -> None:
        """Initialise the library now, so the first sentence on air doesn't pay for it."""
        _ENGINE.load()

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        """The whole sentence as one chunk, with visemes from espeak's phoneme events."""
        voice = self._voices.get(language)
        if voice is None:
            raise ValueError(f"espeak has no voice configured for {language!r}")
        if not text.strip():
            return
        pcm, phonemes = _ENGINE.speak(text, voice, self._rates.get(language, 175))
        if len(pcm) == 0:
            return
        duration = len(pcm) / _ENGINE.sample_rate
        yield SpeechChunk(
            pcm=pcm,
            sample_rate=_ENGINE.sample_rate,
            visemes=visemes_from_onsets(phonemes, duration),
        )
