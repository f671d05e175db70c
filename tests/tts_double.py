"""A local OpenAI-compatible TTS server for tests and benchmarks (the hosted API is out of reach).

It speaks the real protocol over a real socket: `POST /v1/audio/speech` with a JSON body
(`model`, `voice`, `input`, `response_format`) answers `200` with raw 24 kHz s16le mono PCM
in HTTP chunked transfer encoding, as OpenAI does for `response_format="pcm"`. The audio is
real speech: espeak-ng reads the input, resampled to 24 kHz. Delays (before the first byte,
between chunks), chunk size and failures (HTTP 500) are scripted per test; every request is
kept with the times its first and last bytes went out.

It runs its own event loop in a thread, so sync and async tests use it alike.
"""

from __future__ import annotations

import asyncio
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
Mode = Literal["ok", "error"]


@dataclass
class Script:
    """How the server behaves; tests change it between requests."""

    first_byte_s: float = 0.0
    chunk_s: float = 0.1  # audio per HTTP chunk
    chunk_delay_s: float = 0.0  # pause between chunks
    mode: Mode = "ok"


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
        if request.body.get("response_format") != "pcm" or not request.body.get("input"):
            await respond(writer, 400, {"error": {"message": "want pcm and an input"}})
            return True
        text = str(request.body["input"])
        language = "zh" if has_cjk(text) else "en"
        pcm = await asyncio.to_thread(self.speech, text, language)
        await self._stream(writer, request, pcm.astype("<i2").tobytes())
        return True

    async def _stream(self, writer: asyncio.StreamWriter, request: Request, data: bytes) -> None:
        await start_chunked(writer, "audio/pcm")
        await asyncio.sleep(self.script.first_byte_s)
        step = max(2, int(self.script.chunk_s * SAMPLE_RATE) * 2)
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


def running_tts_double(script: Script | None = None) -> AbstractContextManager[TtsDouble]:
    return serving(TtsDouble(script))
