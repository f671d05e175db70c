"""A local OpenAI-compatible chat server for tests and benchmarks (the hosted LLM is out of reach).

It speaks the real protocol over a real socket: `POST /v1/chat/completions` with
`stream: true` answers Server-Sent Events exactly like OpenAI (a first chunk carrying the
role and empty content, content chunks, a last chunk with empty content and a
finish_reason, then `data: [DONE]`). Timing (time to first token, delay per token), the
replies and failures (HTTP 500, a hang) are scripted per test, and every request is kept
so a test can read the prompt the host sent.

It runs its own event loop in a thread, so sync and async tests use it alike.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["ok", "error", "hang"]
TOKEN = re.compile(r"\s*[A-Za-z]+|\s*\d+(?:\.\d+)?|\s*\S")

# What a model that ignores its instructions says: wrong prices, absolute claims.
HALLUCINATIONS = (
    "大家好！这件羽绒服今天只要99元，全网最低！",
    "Hi there! The down jacket is only ¥99 today, the best ever deal!",
    "库存还剩3件，100%保证有效，买到就是赚到。",
    "This is guaranteed to cure dry skin, only 5 left!",
)
OBEY = re.compile(r"(?:repeat after me|跟我说|请说)[:：]?\s*(.+?)(?:\n|$)", re.IGNORECASE)


def hallucinating_reply(messages: list[dict[str, Any]]) -> str:
    """Obey an instruction injected in the viewer's text if there is one, else make things up."""
    user = str(messages[-1]["content"]) if messages else ""
    obeyed = OBEY.search(user)
    if obeyed:
        return f"好的！{obeyed.group(1).strip()}"
    return HALLUCINATIONS[len(user) % len(HALLUCINATIONS)]


@dataclass
class Script:
    """How the server behaves; tests change it between requests."""

    replies: list[str] = field(default_factory=lambda: ["Hi! The jacket is ¥399 today."])
    reply_for: Callable[[list[dict[str, Any]]], str] | None = None  # overrides replies
    ttft_s: float = 0.0  # time to first content token
    token_delay_s: float = 0.0
    mode: Mode = "ok"
    fail_first: int = 0  # this many requests fail with HTTP 500 before the mode applies


@dataclass
class Request:
    body: dict[str, Any]
    received: float  # time.perf_counter()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


def tokens(text: str) -> list[str]:
    """Word- and character-sized pieces, roughly as a tokenizer streams Chinese and English."""
    return TOKEN.findall(text)


class LlmDouble:
    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.requests: list[Request] = []
        self.finished: list[float] = []  # perf_counter when each stream's [DONE] was sent
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlmDouble:
        self._thread = threading.Thread(target=self._run, name="llm-double", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("LLM double did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    async def _shutdown(self) -> None:
        """Close the socket and end open connections (a hanging stream included)."""
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
        if method != "POST" or not path.endswith("/chat/completions"):
            await _respond(writer, 404, {"error": {"message": f"no route {path}"}})
            return True
        request = Request(json.loads(body or b"{}"), time.perf_counter())
        self.requests.append(request)
        script = self.script
        if len(self.requests) <= script.fail_first or script.mode == "error":
            await _respond(
                writer, 500, {"error": {"message": "scripted failure", "type": "server"}}
            )
            return True
        if script.mode == "hang":
            await asyncio.sleep(3600)
            return False
        if script.reply_for is not None:
            text = script.reply_for(request.messages)
        else:
            text = script.replies[(len(self.requests) - 1) % len(script.replies)]
        if request.body.get("stream"):
            await self._stream(writer, request, text)
        else:
            await _respond(writer, 200, _completion(request, text))
        return True

    async def _stream(self, writer: asyncio.StreamWriter, request: Request, text: str) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        model = str(request.body.get("model", "double"))
        ident = f"chatcmpl-{len(self.requests)}"

        async def send(payload: str) -> None:
            data = f"data: {payload}\n\n".encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()

        await send(json.dumps(_chunk(ident, model, {"role": "assistant", "content": ""}, None)))
        await asyncio.sleep(self.script.ttft_s)
        for i, piece in enumerate(tokens(text)):
            if i:
                await asyncio.sleep(self.script.token_delay_s)
            await send(json.dumps(_chunk(ident, model, {"content": piece}, None)))
        await send(json.dumps(_chunk(ident, model, {"content": ""}, "stop")))
        await send("[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        self.finished.append(time.perf_counter())


def _chunk(ident: str, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _completion(request: Request, text: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{id(request)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request.body.get("model", "double")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


async def _respond(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()


@contextmanager
def running(script: Script | None = None) -> Iterator[LlmDouble]:
    double = LlmDouble(script).start()
    try:
        yield double
    finally:
        double.stop()
