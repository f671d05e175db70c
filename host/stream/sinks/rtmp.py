"""RTMP / RTMPS push to a platform ingest, which must never stall or stop the program.

The connection lives in a sender process of its own (`rtmp_sender.py`): PyAV connects while
holding the GIL, so an ingest that accepts TCP and never answers would otherwise freeze
every thread here, the program clock included. The program's worker thread only copies each
packet into a bounded queue; a feeder thread hands them to the sender through a pipe. When
the queue is full (the ingest or the sender is slower than the stream) packets are dropped
up to the next keyframe, so what the platform receives always decodes.

The sender reconnects by itself when the ingest drops or refuses (backing off, resuming at a
keyframe on the program's own timestamps, so the platform sees a gap, not a restart at 0),
and reconnects as planned before a platform's broadcast limit (`max_connection_s`). What it
cannot do is notice that it is stuck: an ingest that stops reading, or never answers a
handshake, raises no error, the call just blocks. So a watchdog here kills a sender that has
packets to handle and has made no progress for `stall_s`, and a new one takes over: that is
a reconnect. Stalls, attempts, drops and gaps are counted in `stats`.

The stream key (the URL's last path segment and any query or password) is a credential: it
reaches the sender through the pipe, never its command line; `redact_url` shows the URL
without it in the sink's name, and `redact` removes it from every log line, every error and
everything the sender prints.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import Pipe
from pathlib import Path
from urllib.parse import unquote, urlsplit

import av
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from host.config import Settings
from host.stream.encoder import MediaKind
from host.stream.sinks.rtmp_sender import Event, Packet, Setup

log = logging.getLogger(__name__)

HIDDEN = "***"
MIN_SECRET = 6  # shorter query values are flags (`s_bl=1`), not tokens
CLOSE_WAIT_S = 5.0  # longest close() waits for queued packets to go out
KILL_WAIT_S = 1.0  # after that, how long a killed sender may take to go
WATCH_S = 0.25  # how often the watchdog looks at the sender
START_S = 15.0  # a sender process not ready by then is stuck (it starts in well under 1 s)
DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443}
SENDER = [sys.executable, "-m", "host.stream.sinks.rtmp_sender"]
HANDLED = {"sent", "dropped", "failed"}  # sender events that account for one packet


def redact_url(url: str) -> str:
    """`url` as it may be shown: scheme, host, port and app kept; the stream key (the last
    non-empty path segment after the app), user info, query and fragment replaced by ***.

    Ingests put the key in every shape: `/app/KEY`, `/app/KEY/`, `/app/sub/KEY`,
    `/app/?streamname=..&key=..` (Bilibili), `/app/KEY?sign=..` (Douyin), `user:pass@`.
    A lone path segment is the app when a query follows, else it may be the key itself.
    """
    return _split_secrets(url)[0]


def redact(text: str, url: str) -> str:
    """`text` with `url` shown as `redact_url` shows it and every secret part of it (stream
    key, query values, user info, fragment), wherever else it appears, replaced by ***."""
    safe, secrets = _split_secrets(url)
    if url:
        text = text.replace(url, safe)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def _split_secrets(url: str) -> tuple[str, set[str]]:
    """The URL safe to show, and its secrets as written and percent-decoded; a URL that does
    not parse is hidden whole."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return HIDDEN, {url} - {""}
    userinfo, at, address = parts.netloc.rpartition("@")
    segments = [segment for segment in parts.path.split("/") if segment]
    secrets = {userinfo.partition(":")[2], parts.query, parts.fragment, userinfo}
    if len(segments) > 1 or (segments and not parts.query):
        secrets.add(segments[-1])
        segments[-1] = HIDDEN
    values = [pair.partition("=")[2] for pair in parts.query.split("&")]
    secrets |= {value for value in values if len(value) >= MIN_SECRET}
    secrets |= {unquote(secret) for secret in secrets}
    safe = f"{parts.scheme}://{HIDDEN + at if at else ''}{address}"
    safe += "".join(f"/{segment}" for segment in segments)
    if parts.query:
        safe += f"?{HIDDEN}"
    if parts.fragment:
        safe += f"#{HIDDEN}"
    return safe, secrets - {""}


@dataclass
class RtmpStats:
    connects: int = 0
    sent_packets: int = 0
    dropped_packets: int = 0  # lost to a full queue, while the ingest was away, or in a stall
    gaps_s: list[float] = field(default_factory=list)  # program seconds missing at each reconnect
    last_error: str | None = None  # redacted
    attempts: int = 0  # connection attempts, successful or not
    stalls: int = 0  # senders killed because the ingest took nothing for stall_s
    planned_reconnects: int = 0  # connections renewed before the platform's limit, no gap


class _SenderProcess:
    """One sender process: its pipes, the threads reading what it says, and its progress."""

    def __init__(
        self, setup: Setup, on_event: Callable[[Event], None], on_line: Callable[[str], None]
    ) -> None:
        child_in, self._inbox = Pipe(duplex=False)
        self._events, child_out = Pipe(duplex=False)
        try:
            self.process = subprocess.Popen(
                SENDER,
                stdin=child_in.fileno(),
                stdout=child_out.fileno(),
                stderr=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": _with_host(os.environ.get("PYTHONPATH"))},
            )
        except OSError:
            self._inbox.close()
            self._events.close()
            raise
        finally:
            child_in.close()
            child_out.close()
        self.fed = 0  # packets written to it
        self.handled = 0  # packets it accounted for: sent, dropped or failed
        self.moved_at = time.monotonic()  # its last event, or when it last got work
        self.ready = False
        self.killed = False
        self._readers = [
            threading.Thread(target=self._read_events, args=(on_event,), daemon=True),
            threading.Thread(target=self._read_output, args=(on_line,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        with suppress(OSError):  # it ended already: the first packet finds that out
            self._inbox.send(asdict(setup))

    def send(self, packet: Packet | None) -> None:
        """Blocks while its pipe is full; raises OSError once it is gone."""
        if packet is not None:
            if self.fed == self.handled:  # idle until now: its stall clock starts here
                self.moved_at = time.monotonic()
            self.fed += 1
        self._inbox.send(packet)

    def idle_s(self) -> float | None:
        """Seconds without progress while it has packets to handle; None when it has none."""
        if self.fed == self.handled or self.process.poll() is not None:
            return None
        return time.monotonic() - self.moved_at

    def kill(self) -> None:
        self.killed = True
        with suppress(OSError):
            self.process.kill()

    def reap(self, timeout: float | None = None) -> int:
        """Wait for it to end (killing it after `timeout`); returns its exit code."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.wait()
        self._inbox.close()
        for reader in self._readers:
            reader.join()
        self._events.close()
        return code

    def _read_events(self, on_event: Callable[[Event], None]) -> None:
        with suppress(EOFError, OSError):
            while True:
                event: Event = self._events.recv()
                self.moved_at = time.monotonic()
                if event[0] in HANDLED:
                    self.handled += 1
                elif event[0] == "ready":
                    self.ready = True
                on_event(event)

    def _read_output(self, on_line: Callable[[str], None]) -> None:
        assert self.process.stderr is not None
        with self.process.stderr as output:
            for line in output:
                on_line(line.decode(errors="replace").rstrip())


class RtmpSink:
    def __init__(
        self,
        url: str,
        *,
        queue_packets: int = 500,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
        stall_s: float = 5.0,
        max_connection_s: float = 0.0,
        start_s: float = 0.0,
    ) -> None:
        """`start_s`: program time of the first packet, when this push continues a stream
        another session began (a failover): the platform sees a gap, not a restart at 0."""
        safe = redact_url(url)
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError as error:
            raise ValueError(f"not an RTMP URL: {safe} ({error})") from None
        if port is None:
            raise ValueError(f"not an RTMP URL: {safe} (expected rtmp:// or rtmps://)")
        self.url = url
        self.name = f"rtmp:{safe}"
        self.stats = RtmpStats()
        self._port = port
        self._stall_s = stall_s
        self._min_wait, self._max_wait = reconnect_min_s, reconnect_max_s
        self._max_connection_s = max_connection_s
        self._start_s = start_s
        self._queue: queue.Queue[Packet | None] = queue.Queue(queue_packets)
        self._setup: Setup | None = None
        self._thread: threading.Thread | None = None
        self._need_keyframe = False  # producer side: a packet was dropped for a full queue
        self._closing = threading.Event()
        self._close_by = 0.0
        self._drops = threading.Lock()  # dropped_packets is counted from three threads
        # set by the feeder, read by the watchdog and the sender's event reader
        self._sender: _SenderProcess | None = None
        self._wait = reconnect_min_s  # before the next attempt after a failure
        self._last_sent: float | None = None  # program time of the last packet sent
        self._planned = False  # the connection was closed as planned: no gap to report

    def open(self, video: VideoStream, audio: AudioStream) -> None:
        """Start the feeder; the sender process it starts connects, so a dead ingest costs
        the program nothing."""
        self._setup = Setup.of(
            video,
            audio,
            url=self.url,
            port=self._port,
            reconnect_min_s=self._min_wait,
            reconnect_max_s=self._max_wait,
            wait_s=self._min_wait,
            max_connection_s=self._max_connection_s,
        )
        self._thread = threading.Thread(target=self._feed, name=self.name, daemon=True)
        self._thread.start()
        threading.Thread(
            target=self._watch, args=(self._thread,), name=f"{self.name} watchdog", daemon=True
        ).start()

    def write(self, kind: MediaKind, packet: av.Packet) -> None:
        if self._thread is None:
            raise RuntimeError(f"{self.name} is not open")
        if packet.dts is not None and packet.dts < 0:
            return  # the AAC encoder's priming: FLV cannot carry negative times
        keyframe = kind == "video" and packet.is_keyframe
        if self._need_keyframe and not keyframe:
            self._dropped()
            return
        time_base = packet.time_base
        shift = round(self._start_s * time_base.denominator / time_base.numerator)
        item: Packet = (
            kind,
            bytes(packet),
            None if packet.pts is None else packet.pts + shift,
            None if packet.dts is None else packet.dts + shift,
            packet.duration or 0,
            time_base.numerator,
            time_base.denominator,
            keyframe,
        )
        try:
            self._queue.put_nowait(item)
            self._need_keyframe = False
        except queue.Full:
            self._need_keyframe = True
            self._dropped()

    def close(self) -> None:
        """Send what is queued (for at most a few seconds), then end the FLV stream."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._close_by = time.monotonic() + CLOSE_WAIT_S
        self._closing.set()
        while thread.is_alive() and time.monotonic() < self._close_by:
            try:
                self._queue.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        thread.join(max(0.0, self._close_by - time.monotonic()))
        if thread.is_alive():  # still stuck in a send: what is left will not go out anyway
            sender = self._sender
            if sender is not None:
                sender.kill()
            with suppress(queue.Full):
                self._queue.put(None, timeout=KILL_WAIT_S)
            thread.join(KILL_WAIT_S)

    def _feed(self) -> None:
        """Hand packets to the sender process, starting one (after a backoff) whenever there
        is none, and none once closing. This thread outlives every sender it starts: the
        kernel ends a sender when the thread that started it ends."""
        sender: _SenderProcess | None = None
        start_at = 0.0
        while (packet := self._queue.get()) is not None:
            if sender is None:
                if self._closing.is_set() or time.monotonic() < start_at:
                    self._dropped()
                    continue
                sender = self._start()
                if sender is None:
                    start_at = time.monotonic() + self._next_wait()
                    self._dropped()
                    continue
            try:
                sender.send(packet)
            except OSError:  # it ended or was killed; what it had not handled is lost
                self._ended(sender)
                sender = None
                start_at = time.monotonic() + self._next_wait()
        if sender is not None:
            with suppress(OSError):
                sender.send(None)
            self._ended(sender, max(0.0, self._close_by - time.monotonic()))

    def _start(self) -> _SenderProcess | None:
        assert self._setup is not None
        try:
            sender = _SenderProcess(
                replace(self._setup, wait_s=self._wait), self._on_event, self._on_output
            )
        except OSError as error:
            self._report(f"could not start the sender process: {error}")
            return None
        self._sender = sender
        return sender

    def _ended(self, sender: _SenderProcess, timeout: float | None = None) -> None:
        code = sender.reap(timeout)
        self._sender = None
        self._dropped(sender.fed - sender.handled)
        if not sender.killed and not self._closing.is_set():
            self._report(f"sender process exited with code {code}")

    def _next_wait(self) -> float:
        wait, self._wait = self._wait, min(self._wait * 2, self._max_wait)
        return wait

    def _watch(self, feeder: threading.Thread) -> None:
        """Kill a sender that has had packets to handle and made no progress for stall_s:
        stuck in a connect, a handshake or a send, which no error will ever end."""
        while feeder.is_alive():
            feeder.join(WATCH_S)
            sender = self._sender
            if sender is None or sender.killed:
                continue
            idle = sender.idle_s()
            limit = self._stall_s if sender.ready else max(self._stall_s, START_S)
            if idle is None or idle < limit:
                continue
            self.stats.stalls += 1
            what = "ingest took nothing" if sender.ready else "sender process did not start"
            self.stats.last_error = f"{what} for {idle:.1f} s"
            log.warning("%s: %s; restarting its sender", self.name, self.stats.last_error)
            sender.kill()

    def _on_event(self, event: Event) -> None:
        """What the sender did, counted and said here (its errors without the key)."""
        what, number, text = event
        match what:
            case "sent":
                self.stats.sent_packets += 1
                self._last_sent = number
            case "dropped":
                self._dropped()
            case "attempt":
                self.stats.attempts += 1
            case "connected":
                self._connected(number)
            case "failed":
                self._planned = False
                self._wait = min(number * 2, self._max_wait)
                self._dropped()
                self._report(redact(text, self.url), retry_s=number)
            case "planned":
                self._planned = True
                self.stats.planned_reconnects += 1
                log.info(
                    "%s: reconnecting as planned after %.2f h on one connection, before the"
                    " platform's limit",
                    self.name,
                    number / 3600,
                )

    def _connected(self, at: float) -> None:
        self.stats.connects += 1
        self._wait = self._min_wait
        log.info("%s connected", self.name)
        if self._planned:
            self._planned = False
        elif self._last_sent is not None:
            gap = at - self._last_sent
            self.stats.gaps_s.append(gap)
            log.warning("%s reconnected; %.2f s of program not sent", self.name, gap)

    def _on_output(self, line: str) -> None:
        if line:
            log.warning("%s sender: %s", self.name, redact(line, self.url))

    def _report(self, message: str, retry_s: float | None = None) -> None:
        self.stats.last_error = message
        if retry_s is None:
            log.warning("%s: %s", self.name, message)
        else:
            log.warning("%s: %s; retrying in %.1f s", self.name, message, retry_s)

    def _dropped(self, count: int = 1) -> None:
        with self._drops:
            self.stats.dropped_packets += count


def _with_host(python_path: str | None) -> str:
    """PYTHONPATH with the directory `host` was imported from first, so the sender process
    imports the same code, installed or not."""
    root = str(Path(__file__).resolve().parents[3])
    return os.pathsep.join([root, python_path] if python_path else [root])


def rtmp_sink(url: str, settings: Settings, start_s: float = 0.0) -> RtmpSink:
    return RtmpSink(
        url,
        queue_packets=settings.rtmp_queue_packets,
        reconnect_min_s=settings.rtmp_reconnect_min_s,
        reconnect_max_s=settings.rtmp_reconnect_max_s,
        stall_s=settings.rtmp_stall_s,
        max_connection_s=settings.rtmp_max_connection_h * 3600,
        start_s=start_s,
    )
