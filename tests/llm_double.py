"""A local OpenAI-compatible chat server for tests and benchmarks (the hosted LLM is out of reach).

It speaks the real protocol over a real socket: `POST /v1/chat/completions` with
`stream: true` answers Server-Sent Events exactly like OpenAI (a first chunk carrying the
role and empty content, content chunks, a last chunk with empty content and a
finish_reason, then `data: [DONE]`). Timing (time to first token, delay per token), the
replies and failures (HTTP 500, a hang, a stream that stalls part-way) are scripted per
test, and every request is kept so a test can read the prompt the host sent.

A stalled stream is the slow-LLM case a socket timeout never sees: `silent` stops sending
after the first sentences, `keepalive` then sends SSE comment lines and empty deltas for
ever, as proxies and some servers do while a model is stuck, so the client's read timeout
is reset again and again.

It runs its own event loop in a thread, so sync and async tests use it alike.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.http_double import PostServer, Request, respond, send_chunk, serving, start_chunked

Mode = Literal["ok", "error", "hang", "silent", "keepalive"]
TOKEN = re.compile(r"\s*[A-Za-z]+|\s*\d+(?:\.\d+)?|\s*\S")
SENTENCE_END = re.compile(r"[。！？!?～.]$")

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
    stall_after: int = 1  # silent / keepalive: sentences sent before the stream stalls
    keepalive_s: float = 0.1  # keepalive: seconds between keepalives


def tokens(text: str) -> list[str]:
    """Word- and character-sized pieces, roughly as a tokenizer streams Chinese and English."""
    return TOKEN.findall(text)


class LlmDouble(PostServer):
    path_suffix = "/chat/completions"
    name = "llm-double"

    def __init__(self, script: Script | None = None) -> None:
        super().__init__()
        self.script = script or Script()
        self.hung_up: list[float] = []  # when a client left a stalled stream (perf_counter)

    async def answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        script = self.script
        if len(self.requests) <= script.fail_first or script.mode == "error":
            await respond(writer, 500, {"error": {"message": "scripted failure", "type": "server"}})
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
            await respond(writer, 200, _completion(request, text))
        return True

    async def _stream(self, writer: asyncio.StreamWriter, request: Request, text: str) -> None:
        await start_chunked(writer, "text/event-stream")
        model = str(request.body.get("model", "double"))
        ident = f"chatcmpl-{len(self.requests)}"

        async def send(payload: str) -> None:
            await send_chunk(writer, f"data: {payload}\n\n".encode())

        async def content(piece: str, finish: str | None = None) -> None:
            await send(json.dumps(_chunk(ident, model, {"content": piece}, finish)))

        await send(json.dumps(_chunk(ident, model, {"role": "assistant", "content": ""}, None)))
        await asyncio.sleep(self.script.ttft_s)
        pieces = tokens(text)
        if self.script.mode in ("silent", "keepalive"):
            pieces = _before_stall(pieces, self.script.stall_after)
        for i, piece in enumerate(pieces):
            if i:
                await asyncio.sleep(self.script.token_delay_s)
            await content(piece)
        if self.script.mode == "silent":
            await asyncio.sleep(3600)
        if self.script.mode == "keepalive":
            try:
                while True:  # a comment line, then an empty delta: both carry no text
                    await asyncio.sleep(self.script.keepalive_s)
                    await send_chunk(writer, b": keepalive\n\n")
                    await asyncio.sleep(self.script.keepalive_s)
                    await content("")
            except ConnectionError:
                self.hung_up.append(time.perf_counter())
                raise
        await content("", "stop")
        await send("[DONE]")
        await send_chunk(writer, b"")
        request.finished = time.perf_counter()


def _before_stall(pieces: list[str], sentences: int) -> list[str]:
    """The tokens a model stuck mid-reply has sent: its first `sentences` sentences and half of
    the next (at least two tokens, so the client knows the last full sentence has ended)."""
    if sentences == 0:
        return []
    ends = [i + 1 for i, piece in enumerate(pieces) if SENTENCE_END.search(piece)]
    if len(ends) < sentences:
        return pieces
    done = ends[sentences - 1]
    following = (ends[sentences] if len(ends) > sentences else len(pieces)) - done
    return pieces[: done + max(2, following // 2)]


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


def running(script: Script | None = None) -> AbstractContextManager[LlmDouble]:
    return serving(LlmDouble(script))
