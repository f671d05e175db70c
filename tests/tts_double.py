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
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from host.voice.espeak import Espeak
from host.voice.resample import resample

SAMPLE_RATE = 24_000
Mode = Literal["ok", "error"]


@dataclass
class Script:
    """How the server behaves; tests change it between requests."""

    first_byte_s: float = 0.0
    chunk_s: float = 0.1  # audio per HTTP chunk
    chunk_delay_s: float = 0.0  # pause between chunks
    mode: Mode = "ok"


@dataclass
class Request:
    body: dict[str, Any]
    received: float  # time.perf_counter()
    sent: bytes = b""
    first_byte: float | None = None
    finished: float | None = None


@dataclass
class TtsDouble:
    script: Script = field(default_factory=Script)
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._espeak = Espeak()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def speech(self, text: str, language: str) -> np.ndarray:
        """What the server says for `text`: espeak-ng's reading at 24 kHz."""
        chunks = list(self._espeak.synthesize(text, language))
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        pcm = np.concatenate([chunk.pcm for chunk in chunks])
        return resample(pcm, chunks[0].sample_rate, SAMPLE_RATE)

    def start(self) -> TtsDouble:
        self._thread = threading.Thread(target=self._run, name="tts-double", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("TTS double did not start")
        return self

    def stop(self) -> None:
        """Close the server; stopping a stopped server does nothing."""
        loop, self._loop = self._loop, None
        if loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        current = asyncio.current_task()
        handlers = [t for t in asyncio.all_tasks() if t is not current]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if method != "POST" or not path.endswith("/audio/speech"):
            await _respond(writer, 404, {"error": {"message": f"no route {path}"}})
            return True
        request = Request(json.loads(body or b"{}"), time.perf_counter())
        self.requests.append(request)
        if self.script.mode == "error":
            await _respond(writer, 500, {"error": {"message": "scripted failure"}})
            return True
        if request.body.get("response_format") != "pcm" or not request.body.get("input"):
            await _respond(writer, 400, {"error": {"message": "want pcm and an input"}})
            return True
        text = str(request.body["input"])
        language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
        pcm = await asyncio.to_thread(self.speech, text, language)
        await self._stream(writer, request, pcm.astype("<i2").tobytes())
        return True

    async def _stream(self, writer: asyncio.StreamWriter, request: Request, data: bytes) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: audio/pcm\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        await asyncio.sleep(self.script.first_byte_s)
        step = max(2, int(self.script.chunk_s * SAMPLE_RATE) * 2)
        for offset in range(0, len(data), step):
            if offset:
                await asyncio.sleep(self.script.chunk_delay_s)
            piece = data[offset : offset + step]
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
            request.sent += piece
            if request.first_byte is None:
                request.first_byte = time.perf_counter()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        request.finished = time.perf_counter()


async def _respond(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    reason = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()


@contextmanager
def running_tts_double(script: Script | None = None) -> Iterator[TtsDouble]:
    double = TtsDouble(script or Script()).start()
    try:
        yield double
    finally:
        double.stop()
