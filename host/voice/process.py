"""The session's voice in a process of its own, so TTS never holds the frames' GIL.

Piper's Python side (phonemes, alignments, visemes, the int16 conversion) and any engine's
pure-Python work hold the GIL; in the session's process that stalls the program's worker
between its C calls (x264, AAC, muxing), and a niced TTS thread holding the GIL is itself
descheduled in favour of other sessions' frames, so the stall lasts. Measured with four
sessions on 2 cores (`bench/stream.py`): a frame's 10 ms of CPU took 30-150 ms of wall
time, 65 of 30,000 frames late; with the voice in a child process 8, the worst 77 ms.

The child builds the same `VoiceRouter` from the session's settings and runs at
`TTS_NICE` as a whole process (its onnxruntime threads too). Sentences go over a pipe
and each chunk comes back as it is made, several sentences at once. A child that dies
fails the sentences it was speaking (`VoiceUnavailable`: the session degrades them as
any TTS failure) and is started again for the next one, with a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from host.config import Settings
from host.voice.base import SpeechChunk
from host.voice.router import VOICE_THREADS, VoiceUnavailable, build_router

log = logging.getLogger(__name__)

# spoken once at start, so a viewer's first sentence in a language does not pay for what
# its first use costs this fresh process (the number reader's imports, the first inference:
# a first Mandarin answer took 2.3 s instead of 0.1 s)
WARM_UP = {"en": "Hello, 1 2 3.", "zh": "你好，一二三，3元。"}
START_TIMEOUT_S = 120.0  # spawning, importing and loading the models (Coqui's take long)

Deliver = Callable[[str, Any], object]


class VoiceProcess:
    """Implements `Speaker` with a `VoiceRouter` in a child process (see the module)."""

    name = "router"

    def __init__(self, settings: Settings) -> None:
        # built here too, unwarmed: an unknown voice fails at once, and the languages are known
        self.languages = build_router(settings).languages
        self._settings = settings
        self._conn: Connection | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._streams: dict[int, Deliver] = {}
        self._ids = itertools.count()
        self._send_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._closed = False

    def warm(self) -> None:
        """Start the child and wait until its models are loaded (its failure raised here)."""
        self._started()

    def close(self) -> None:
        self._closed = True
        conn, process = self._conn, self._process
        self._conn = None
        if conn is not None:
            # shut down, not only closed: the reader thread blocked on it keeps a closed
            # socket open, and the child would never read its EOF
            link = socket.socket(fileno=conn.fileno())
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
            link.detach()
            conn.close()  # the child reads EOF and exits
        if process is not None:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    async def stream(self, text: str, language: str) -> AsyncIterator[SpeechChunk]:
        loop = asyncio.get_running_loop()
        arrived: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        request = next(self._ids)
        self._streams[request] = lambda kind, payload: loop.call_soon_threadsafe(
            arrived.put_nowait, (kind, payload)
        )
        finished = False
        try:
            conn = self._conn
            if conn is None:  # not warmed, or the child died: (re)started off the loop
                conn = await asyncio.to_thread(self._started)
            self._send(conn, ("say", request, text, language))
            while True:
                kind, payload = await arrived.get()
                if kind == "chunk":
                    yield payload
                    continue
                finished = True
                if payload is not None:
                    raise payload
                return
        finally:
            self._streams.pop(request, None)
            if not finished and self._conn is not None:  # cut short: the child stops too
                with contextlib.suppress(VoiceUnavailable):
                    self._send(self._conn, ("cancel", request, None, None))

    def _send(self, conn: Connection, message: tuple[str, int, Any, Any]) -> None:
        try:
            with self._send_lock:
                conn.send(message)
        except (OSError, ValueError) as error:  # the child is gone: the reader fails the rest
            raise VoiceUnavailable(f"the TTS process is gone ({error})") from None

    def _started(self) -> Connection:
        with self._start_lock:
            if self._conn is not None:
                return self._conn
            if self._closed:
                raise VoiceUnavailable("the voice is closed")
            # a plain child (`python -m`), not multiprocessing's spawn: that re-imports the
            # parent's __main__, which a `python -c` or an embedding host may not have
            ours_socket, theirs_socket = socket.socketpair()
            process = subprocess.Popen(
                [sys.executable, "-m", "host.voice.process", str(theirs_socket.fileno())],
                pass_fds=[theirs_socket.fileno()],
            )
            theirs_socket.close()
            ours = Connection(ours_socket.detach())
            ours.send(self._settings)
            if not ours.poll(START_TIMEOUT_S):
                process.kill()
                raise VoiceUnavailable(f"the TTS process did not start in {START_TIMEOUT_S:.0f} s")
            try:
                kind, _, payload = ours.recv()
            except EOFError:
                raise VoiceUnavailable(
                    f"the TTS process ended as it started (exit code {process.wait(5)})"
                ) from None
            if kind == "failed":
                process.wait(5)
                raise payload
            self._conn, self._process = ours, process
            threading.Thread(
                target=self._read, args=(ours,), name="tts-reader", daemon=True
            ).start()
            return ours

    def _read(self, conn: Connection) -> None:
        """Hand each chunk to its sentence; when the child dies, fail what it was saying."""
        while True:
            try:
                kind, request, payload = conn.recv()
            except (EOFError, OSError):
                break
            deliver = self._streams.get(request)
            if deliver is not None:
                with contextlib.suppress(RuntimeError):  # its session's loop already closed
                    deliver(kind, payload)
        with self._start_lock:
            if self._conn is conn:
                self._conn = None
        if not self._closed:
            code = self._process.poll() if self._process is not None else None
            log.warning(
                "the TTS process ended (exit code %s); it restarts for the next sentence", code
            )
        for deliver in list(self._streams.values()):
            with contextlib.suppress(RuntimeError):
                deliver("end", VoiceUnavailable("the TTS process ended mid-sentence"))


def _serve(conn: Connection, settings: Settings) -> None:
    """The child: speak each sentence asked for, several at once, until the pipe closes."""
    if settings.tts_nice and hasattr(os, "nice"):
        os.nice(settings.tts_nice)  # the whole process, onnxruntime's threads included
    try:
        router = build_router(settings.model_copy(update={"tts_nice": 0}))
        router.warm()
        for language in router.languages & WARM_UP.keys():  # lazy imports, first inference
            for _ in router.synthesize(WARM_UP[language], language):
                pass
    except Exception as error:
        conn.send(("failed", None, error))
        return
    conn.send(("ready", None, None))
    sending = threading.Lock()
    cancelled: set[int] = set()

    def say(request: int, text: str, language: str) -> None:
        error: Exception | None = None
        try:
            for chunk in router.synthesize(text, language):
                if request in cancelled:
                    break
                with sending:
                    conn.send(("chunk", request, chunk))
        except Exception as failure:  # VoiceUnavailable and the like: the parent raises it
            error = failure
        cancelled.discard(request)
        with sending:
            conn.send(("end", request, error))

    speaking = ThreadPoolExecutor(VOICE_THREADS, "voice")
    while True:
        try:
            kind, request, text, language = conn.recv()
        except (EOFError, OSError):
            break
        if kind == "say":
            speaking.submit(say, request, text, language)
        else:
            cancelled.add(request)
    os._exit(0)  # the session closed the pipe or is gone: nothing left to say


if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group: the session stops and closes
    # the pipe, which ends this process; a KeyboardInterrupt here would only print a trace
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _link = Connection(int(sys.argv[1]))
    _serve(_link, _link.recv())
