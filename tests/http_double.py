"""The plumbing shared by the local OpenAI-compatible servers the tests use.

A raw asyncio HTTP/1.1 server on 127.0.0.1, running its own event loop in a thread so sync
and async tests use it alike. It parses each request, keeps it for the test to inspect, and
hands POSTs to one path to the subclass's `answer`; anything else gets a 404.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
Server = TypeVar("Server", bound="PostServer")


@dataclass
class Request:
    body: dict[str, Any]
    received: float  # time.perf_counter()
    sent: bytes = b""
    first_byte: float | None = None
    finished: float | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


class PostServer:
    path_suffix = "/"  # the one route this server answers, e.g. "/chat/completions"
    name = "http-double"

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Write the response; False closes the connection."""
        raise NotImplementedError

    def start(self) -> PostServer:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError(f"{self.name} did not start")
        return self

    def stop(self) -> None:
        """Close the server and end open connections (a hanging one included); idempotent."""
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
        if method != "POST" or not path.endswith(self.path_suffix):
            await respond(writer, 404, {"error": {"message": f"no route {path}"}})
            return True
        request = Request(json.loads(body or b"{}"), time.perf_counter())
        self.requests.append(request)
        return await self.answer(request, writer)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """`server` started for the block and stopped after it, even when the test fails."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def respond(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    writer.write(
        f"HTTP/1.1 {status} {REASONS[status]}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def start_chunked(writer: asyncio.StreamWriter, content_type: str) -> None:
    writer.write(
        f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\n"
        "transfer-encoding: chunked\r\n\r\n".encode()
    )


async def send_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    """One piece of a chunked body; an empty `data` ends the body."""
    if data:
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    else:
        writer.write(b"0\r\n\r\n")
    await writer.drain()
