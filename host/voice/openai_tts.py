"""OpenAI TTS, or any server that speaks its `/v1/audio/speech` protocol (CosyVoice, fish-speech,
vLLM and others serve one), as a streaming voice.

It asks for raw PCM (24 kHz, s16le, mono) and hands on each piece as it arrives, so the face
stage can start on the first syllables while the server is still speaking the rest. The
client never retries: a sentence that fails goes to the router's next backend at once,
because a retry's backoff is dead air on a live stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import openai

from host.voice.base import SpeechChunk

SAMPLE_RATE = 24_000  # what `response_format="pcm"` means in the OpenAI protocol
_MIN_CHUNK_BYTES = 2 * SAMPLE_RATE // 50  # 20 ms: fewer, not smaller, chunks downstream


class OpenAiTts:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        model: str,
        voices: Mapping[str, str],
        timeout_s: float = 10.0,
    ) -> None:
        """`voices` maps a language ("en", "zh") to the server's voice name for it.

        `base_url` None means OpenAI itself. Local servers ignore the key, so a missing one is
        sent as a placeholder rather than read from the environment.
        """
        if not voices:
            raise ValueError("OpenAI TTS needs a voice for at least one language")
        self._model = model
        self._voices = dict(voices)
        self.languages = frozenset(self._voices)
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-set",
            max_retries=0,
            timeout=timeout_s,
        )
        endpoint = base_url or "https://api.openai.com/v1"
        voice_list = ",".join(f"{lang}={name}" for lang, name in sorted(self._voices.items()))
        self.identity = f"{endpoint}|{model}|{voice_list}"

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        """The sentence as PCM chunks of at least 20 ms, yielded as the response streams in."""
        voice = self._voices.get(language)
        if voice is None:
            raise ValueError(f"openai tts has no voice configured for {language!r}")
        if not text.strip():
            return
        pending = b""
        with self._client.audio.speech.with_streaming_response.create(
            model=self._model, voice=voice, input=text, response_format="pcm"
        ) as response:
            for data in response.iter_bytes():
                pending += data
                if len(pending) < _MIN_CHUNK_BYTES:
                    continue
                whole = len(pending) - len(pending) % 2  # a sample may straddle two reads
                yield _chunk(pending[:whole])
                pending = pending[whole:]
        if len(pending) >= 2:
            yield _chunk(pending[: len(pending) - len(pending) % 2])


def _chunk(data: bytes) -> SpeechChunk:
    return SpeechChunk(
        pcm=np.frombuffer(data, dtype="<i2").astype(np.int16), sample_rate=SAMPLE_RATE
    )
