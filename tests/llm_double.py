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
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.http_double import PostServer, Request, respond, send_chunk, serving, start_chunked

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


def tokens(text: str) -> list[str]:
    """Word- and character-sized pieces, roughly as a tokenizer streams Chinese and English."""
    return TOKEN.findall(text)


class LlmDouble(PostServer):
    path_suffix = "/chat/completions"
    name = "llm-double"

    def __init__(self, script: Script | None = None) -> None:
        super().__init__()
        self.script = script or Script()

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

        await send(json.dumps(_chunk(ident, model, {"role": "assistant", "content": ""}, None)))
        await asyncio.sleep(self.script.ttft_s)
        for i, piece in enumerate(tokens(text)):
            if i:
                await asyncio.sleep(self.script.token_delay_s)
            await send(json.dumps(_chunk(ident, model, {"content": piece}, None)))
        await send(json.dumps(_chunk(ident, model, {"content": ""}, "stop")))
        await send("[DONE]")
        await send_chunk(writer, b"")
        request.finished = time.perf_counter()


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
