"""OpenAI TTS, or any server that speaks its `/v1/audio/speech` protocol (CosyVoice, IndexTTS,
fish-speech, vLLM and others serve one), as a streaming voice.

It asks for raw PCM (OpenAI's `response_format="pcm"`: 24 kHz, s16le, mono) and hands on each
piece as it arrives, so the face stage can start on the first syllables while the server is
still speaking the rest. Servers differ in what "pcm" means (CosyVoice 1 speaks at 22050 Hz)
and some serve no raw PCM at all, so `wav` asks for a WAV stream instead and takes the rate,
width and channels from its header: the one format every such server serves and describes.
The client never retries: a sentence that fails goes to the router's next backend at once,
because a retry's backoff is dead air on a live stream.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from typing import Literal

import numpy as np
import openai

from host.voice.base import SpeechChunk

SAMPLE_RATE = 24_000  # what `response_format="pcm"` means in the OpenAI protocol
_MIN_CHUNK_S = 0.02  # fewer, not smaller, chunks downstream
_WAV_HEADER_LIMIT = 64 * 1024  # a header longer than this is not a WAV stream
_PCM_FORMAT = 1
_FLOAT_FORMAT = 3
_EXTENSIBLE_FORMAT = 0xFFFE

ResponseFormat = Literal["pcm", "wav"]


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
        response_format: ResponseFormat = "pcm",
    ) -> None:
        """`voices` maps a language ("en", "zh") to the server's voice name for it.

        `base_url` None means OpenAI itself. Local servers ignore the key, so a missing one is
        sent as a placeholder rather than read from the environment.
        """
        if not voices:
            raise ValueError("OpenAI TTS needs a voice for at least one language")
        self._model = model
        self._voices = dict(voices)
        self._format = response_format
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
        reader = _PcmReader() if self._format == "pcm" else _WavReader()
        with self._client.audio.speech.with_streaming_response.create(
            model=self._model, voice=voice, input=text, response_format=self._format
        ) as response:
            for data in response.iter_bytes():
                yield from reader.feed(data)
        yield from reader.flush()


class _PcmReader:
    """Raw little-endian samples at a known rate, cut into chunks of at least 20 ms."""

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        width: int = 2,
        channels: int = 1,
        floats: bool = False,
    ) -> None:
        self.sample_rate = sample_rate
        self._frame = width * channels
        self._channels = channels
        self._dtype = np.dtype("<f4" if floats else f"<i{width}")
        self._min_bytes = max(self._frame, int(sample_rate * _MIN_CHUNK_S) * self._frame)
        self._pending = b""

    def feed(self, data: bytes) -> Iterator[SpeechChunk]:
        self._pending += data
        if len(self._pending) >= self._min_bytes:
            yield from self.flush()  # a frame may straddle two reads: its start waits

    def flush(self) -> Iterator[SpeechChunk]:
        whole = len(self._pending) - len(self._pending) % self._frame
        if whole == 0:
            return
        data, self._pending = self._pending[:whole], self._pending[whole:]
        samples = np.frombuffer(data, dtype=self._dtype).reshape(-1, self._channels)
        mono = samples.astype(np.float64).mean(axis=1)
        if self._dtype.kind == "f":
            mono = mono * 32767
        elif self._dtype.itemsize == 4:
            mono = mono / 65536
        pcm = np.clip(np.round(mono), -32768, 32767).astype(np.int16)
        yield SpeechChunk(pcm=pcm, sample_rate=self.sample_rate)


class _WavReader:
    """A WAV stream: its header read as it arrives, then its samples as `_PcmReader` chunks.

    A streaming server sends one header whose data size is unknown (0 or 0xFFFFFFFF), and
    every byte after it is samples. Some servers send one whole WAV per piece of the
    sentence instead; a data chunk of known size is followed by the next WAV's header,
    and bytes after it that start no WAV (a trailing metadata chunk) are dropped.
    """

    def __init__(self) -> None:
        self._header = b""
        self._samples: _PcmReader | None = None
        self._left: int | None = None  # bytes of the data chunk still to come, if known
        self._seen_one = False
        self._dropping = False

    def feed(self, data: bytes) -> Iterator[SpeechChunk]:
        if self._dropping:
            return
        if self._samples is None:
            self._header += data
            if self._seen_one and len(self._header) >= 4 and self._header[:4] != b"RIFF":
                self._dropping = True
                return
            parsed = _parse_wav_header(self._header)
            if parsed is None:
                if len(self._header) > _WAV_HEADER_LIMIT:
                    raise ValueError("the TTS server's WAV stream has no data chunk")
                return
            self._samples, start, size = parsed
            self._left = None if size in (0, 0xFFFFFFFF) else size
            self._seen_one = True
            data, self._header = self._header[start:], b""
        if self._left is None:
            yield from self._samples.feed(data)
            return
        yield from self._samples.feed(data[: self._left])
        rest = data[self._left :]
        self._left -= len(data) - len(rest)
        if self._left == 0:
            yield from self._samples.flush()
            self._samples = None
            yield from self.feed(rest)

    def flush(self) -> Iterator[SpeechChunk]:
        if self._samples is None:
            if self._header and not self._seen_one:
                raise ValueError("the TTS server's answer is not a WAV stream")
            return
        yield from self._samples.flush()


def _parse_wav_header(data: bytes) -> tuple[_PcmReader, int, int] | None:
    """The sample reader, where the samples start and the data size the header gives, or
    None until the header is all here."""
    if len(data) >= 4 and data[:4] != b"RIFF":
        raise ValueError("the TTS server's answer is not a WAV stream (no RIFF header)")
    if len(data) < 12:
        return None
    if data[8:12] != b"WAVE":
        raise ValueError("the TTS server's answer is not a WAV stream (no WAVE form)")
    offset = 12
    fmt: tuple[int, int, int, int] | None = None
    while offset + 8 <= len(data):
        kind, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        body = offset + 8
        if kind == b"data":
            if fmt is None:
                raise ValueError("the TTS server's WAV stream has data before its format")
            code, channels, rate, bits = fmt
            if code not in (_PCM_FORMAT, _FLOAT_FORMAT) or bits not in (16, 32) or not channels:
                raise ValueError(
                    f"the TTS server's WAV is format {code}, {bits} bits: want 16-bit PCM or float"
                )
            reader = _PcmReader(rate, bits // 8, channels, floats=code == _FLOAT_FORMAT)
            return reader, body, size
        if len(data) < body + size:
            return None
        if kind == b"fmt ":
            code, channels, rate = struct.unpack_from("<HHI", data, body)
            bits = struct.unpack_from("<H", data, body + 14)[0]
            if code == _EXTENSIBLE_FORMAT and size >= 26:
                code = struct.unpack_from("<H", data, body + 24)[0]  # the subformat GUID's head
            fmt = (code, channels, rate, bits)
        offset = body + size + size % 2  # chunks are padded to an even length
    return None
