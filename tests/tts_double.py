"""A local OpenAI-compatible TTS server for tests and benchmarks (the hosted API is out of reach).

It speaks the real protocol over a real socket: `POST /v1/audio/speech` with a JSON body
(`model`, `voice`, `input`, `response_format`) answers `200` with raw 24 kHz s16le mono PCM
in HTTP chunked transfer encoding, as OpenAI does for `response_format="pcm"`, or for "wav"
a streamed WAV (data size unknown, 0xFFFFFFFF) at the script's rate, as CosyVoice servers
stream theirs. The audio is
real speech: espeak-ng reads the input, resampled to 24 kHz. Delays (before the first byte,
between chunks), chunk size and failures (HTTP 500) are scripted per test; every request is
kept with the times its first and last bytes went out.

It runs its own event loop in a thread, so sync and async tests use it alike.
"""

from __future__ import annotations

import asyncio
import struct
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

import numpy as np

from host.chat.normalize import has_cjk
from host.voice.espeak import Espeak
from host.voice.resample import resample
from tests.http_double import PostServer, Request, respond, send_chunk, serving, start_chunked

SAMPLE_RATE = 24_000
Mode = Literal["ok", "error", "mp3"]  # mp3: whatever was asked, an MP3's first bytes


@dataclass
class Script:
    """How the server behaves; tests change it between requests."""

    first_byte_s: float = 0.0
    chunk_s: float = 0.1  # audio per HTTP chunk
    chunk_delay_s: float = 0.0  # pause between chunks
    mode: Mode = "ok"
    wav_rate: int = 22_050  # CosyVoice 1's rate, to show the rate is read from the header


class TtsDouble(PostServer):
    path_suffix = "/audio/speech"
    name = "tts-double"

    def __init__(self, script: Script | None = None) -> None:
        super().__init__()
        self.script = script or Script()
        self._espeak = Espeak()

    def speech(self, text: str, language: str) -> np.ndarray:
        """What the server says for `text`: espeak-ng's reading at 24 kHz."""
        chunks = list(self._espeak.synthesize(text, language))
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        pcm = np.concatenate([chunk.pcm for chunk in chunks])
        return resample(pcm, chunks[0].sample_rate, SAMPLE_RATE)

    async def answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        if self.script.mode == "error":
            await respond(writer, 500, {"error": {"message": "scripted failure"}})
            return True
        if self.script.mode == "mp3":
            await self._stream(writer, request, b"", b"ID3\x04\x00\x00" + bytes(4000), SAMPLE_RATE)
            return True
        response_format = request.body.get("response_format")
        if response_format not in ("pcm", "wav") or not request.body.get("input"):
            await respond(writer, 400, {"error": {"message": "want pcm or wav, and an input"}})
            return True
        text = str(request.body["input"])
        language = "zh" if has_cjk(text) else "en"
        pcm = await asyncio.to_thread(self.speech, text, language)
        if response_format == "pcm":
            await self._stream(writer, request, b"", pcm.astype("<i2").tobytes(), SAMPLE_RATE)
            return True
        rate = self.script.wav_rate
        pcm = resample(pcm, SAMPLE_RATE, rate)
        await self._stream(writer, request, wav_header(rate), pcm.astype("<i2").tobytes(), rate)
        return True

    async def _stream(
        self,
        writer: asyncio.StreamWriter,
        request: Request,
        header: bytes,
        data: bytes,
        rate: int,
    ) -> None:
        await start_chunked(writer, "audio/wav" if header else "audio/pcm")
        await asyncio.sleep(self.script.first_byte_s)
        if header:
            await send_chunk(writer, header)
        step = max(2, int(self.script.chunk_s * rate) * 2)
        for offset in range(0, len(data), step):
            if offset:
                await asyncio.sleep(self.script.chunk_delay_s)
            piece = data[offset : offset + step]
            await send_chunk(writer, piece)
            request.sent += piece
            if request.first_byte is None:
                request.first_byte = time.perf_counter()
        await send_chunk(writer, b"")
        request.finished = time.perf_counter()


def wav_header(rate: int) -> bytes:
    """A mono 16-bit WAV header whose sizes say "unknown", as a streaming server sends it."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", 0xFFFFFFFF)
    )  # fmt: skip


def running_tts_double(script: Script | None = None) -> AbstractContextManager[TtsDouble]:
    return serving(TtsDouble(script))
