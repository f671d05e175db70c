"""RTMP / RTMPS push to a platform ingest, which must never stall or stop the program.

The program's worker thread only copies each packet into a bounded queue; a sender thread
owns the FLV-over-RTMP connection. When the queue is full (the ingest is slower than the
stream) packets are dropped up to the next keyframe, so what the platform receives always
decodes. When the ingest drops, or is not up yet, the sender reconnects with exponential
backoff and resumes at the next keyframe, muxing the program's own timestamps, so the
platform sees the stream continue on the program clock with a gap, not a restart at 0.

An ingest that stops reading (a hung server, a stalled route) raises no error: the send just
blocks. So the kernel's send buffer is kept to about a second of stream, and a watchdog
thread cuts a connection whose send or connect has made no progress for `stall_s`, by
shutting down its socket: FFmpeg's blocked call then fails like a dropped connection and
the sender reconnects. (FFmpeg's own `rw_timeout` would do this, but PyAV opens outputs
with `avio_open` and no options, so it never reaches the socket.) A stall is counted, kept
as `last_error` and logged with the sink's redacted name.

The stream key (the URL's last path segment and any query or password) is a credential:
`redact_url` shows the URL without it in the sink's name, and `redact` removes it from every
log line and every error the sink reports.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from fractions import Fraction
from urllib.parse import unquote, urlsplit

import av
import psutil
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.stream import Stream
from av.video.stream import VideoStream

from host.config import Settings
from host.stream.encoder import MediaKind

log = logging.getLogger(__name__)

HIDDEN = "***"
MIN_SECRET = 6  # shorter query values are flags (`s_bl=1`), not tokens
CLOSE_WAIT_S = 5.0  # longest close() waits for queued packets to go out
WATCH_S = 0.25  # how often the watchdog looks at the sender
SEND_BUFFER_S = 1.0  # stream seconds the kernel may hold: more only hides a stalled ingest
MIN_SEND_BUFFER = 64 * 1024
DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443}


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


@dataclass(frozen=True)
class _Queued:
    kind: MediaKind
    data: bytes
    pts: int | None
    dts: int | None
    duration: int
    time_base: Fraction
    keyframe: bool


@dataclass
class RtmpStats:
    connects: int = 0
    sent_packets: int = 0
    dropped_packets: int = 0  # lost to a full queue or while the ingest was away
    gaps_s: list[float] = field(default_factory=list)  # program seconds missing at each reconnect
    last_error: str | None = None  # redacted
    attempts: int = 0  # connection attempts, successful or not
    stalls: int = 0  # connections cut because the ingest took nothing for stall_s


class RtmpSink:
    def __init__(
        self,
        url: str,
        *,
        queue_packets: int = 500,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
        stall_s: float = 5.0,
    ) -> None:
        safe = redact_url(url)
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError as error:
            raise ValueError(f"not an RTMP URL: {safe} ({error})") from None
        if port is None:
            raise ValueError(f"not an RTMP URL: {safe} (expected rtmp:// or rtmps://)")
        self.url = url
        self._port = port
        self._stall_s = stall_s
        self.name = f"rtmp:{safe}"
        self.stats = RtmpStats()
        self._queue: queue.Queue[_Queued | None] = queue.Queue(queue_packets)
        self._min_wait, self._max_wait = reconnect_min_s, reconnect_max_s
        self._templates: dict[MediaKind, Stream] = {}
        self._thread: threading.Thread | None = None
        self._need_keyframe = False  # producer side: a packet was dropped for a full queue
        self._closing = threading.Event()
        # shared by the sender and the watchdog
        self._busy_since: float | None = None  # when the sender's current send/connect began
        self._socket: socket.socket | None = None  # the live connection's socket (a duplicate)
        self._others: set[int] = set()  # sockets to the ingest's port that are not this one's
        self._stall: str | None = None  # why the watchdog cut the connection

    def open(self, video: VideoStream, audio: AudioStream) -> None:
        """Start the sender; it connects, so a dead ingest costs the program nothing."""
        self._templates = {"video": video, "audio": audio}
        self._thread = threading.Thread(target=self._send_loop, name=self.name, daemon=True)
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
            self.stats.dropped_packets += 1
            return
        item = _Queued(
            kind,
            bytes(packet),
            packet.pts,
            packet.dts,
            packet.duration or 0,
            packet.time_base,
            keyframe,
        )
        try:
            self._queue.put_nowait(item)
            self._need_keyframe = False
        except queue.Full:
            self._need_keyframe = True
            self.stats.dropped_packets += 1

    def close(self) -> None:
        """Send what is queued (for at most a few seconds), then end the FLV stream."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._closing.set()
        deadline = time.monotonic() + CLOSE_WAIT_S
        while thread.is_alive() and time.monotonic() < deadline:
            try:
                self._queue.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():  # still stuck in a send: what is left will not go out anyway
            self._cut()

    def _watch(self, sender: threading.Thread) -> None:
        """Cut the connection when one send or connect has made no progress for stall_s."""
        cut_for: float | None = None
        while sender.is_alive():
            sender.join(WATCH_S)
            since = self._busy_since
            if since is None or since == cut_for or time.monotonic() - since < self._stall_s:
                continue
            cut_for = since
            self.stats.stalls += 1
            self._stall = f"ingest took nothing for {time.monotonic() - since:.1f} s"
            self.stats.last_error = self._stall
            log.warning("%s: %s; cutting the connection", self.name, self._stall)
            self._cut()

    def _cut(self) -> None:
        """Shut down the connection's socket (or, mid-connect, the one being opened)."""
        pinned = self._socket
        if pinned is not None:
            _shutdown(pinned)
            return
        for fd in _connections_to(self._port) - self._others:
            try:
                with socket.socket(fileno=os.dup(fd)) as opening:
                    _shutdown(opening)
            except OSError:
                continue  # closed meanwhile: it failed by itself

    def _send_loop(self) -> None:
        container: OutputContainer | None = None
        streams: dict[MediaKind, Stream] = {}
        wait = self._min_wait
        retry_at = 0.0
        lost_at: float | None = None  # program time of the last packet sent before a drop
        while True:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._closing.is_set() and container is None:
                    return
                continue
            if item is None:
                break
            if container is None:
                if not item.keyframe or time.monotonic() < retry_at:
                    self.stats.dropped_packets += 1
                    continue
                try:
                    with self._watched():
                        container, streams = self._connect()
                except Exception as error:
                    retry_at, wait = self._failed(error, wait)
                    continue
                if lost_at is not None:
                    gap = _seconds(item) - lost_at
                    self.stats.gaps_s.append(gap)
                    log.warning("%s reconnected; %.2f s of program not sent", self.name, gap)
                    lost_at = None
            try:
                with self._watched():
                    container.mux(_packet(item, streams[item.kind]))
            except Exception as error:
                self._drop(container)
                container, streams = None, {}
                retry_at, wait = self._failed(error, wait)
                lost_at = _seconds(item) if lost_at is None else lost_at
                continue
            self.stats.sent_packets += 1
            wait = self._min_wait
            lost_at = _seconds(item)
        if container is not None:
            with self._watched():
                self._drop(container)

    @contextmanager
    def _watched(self) -> Iterator[None]:
        """A send or connect the watchdog cuts off if it makes no progress for stall_s."""
        self._busy_since = time.monotonic()
        try:
            yield
        finally:
            self._busy_since = None

    def _drop(self, container: OutputContainer) -> None:
        _close_quietly(container)
        pinned, self._socket = self._socket, None
        if pinned is not None:
            pinned.close()

    def _connect(self) -> tuple[OutputContainer, dict[MediaKind, Stream]]:
        self.stats.attempts += 1
        self._others = _connections_to(self._port)
        container = av.open(
            self.url,
            "w",
            format="flv",
            # program timestamps as they are, on the first connection and after a reconnect
            options={"avoid_negative_ts": "disabled", "flvflags": "no_duration_filesize"},
        )
        try:
            streams: dict[MediaKind, Stream] = {
                kind: container.add_stream_from_template(template, opaque=True)
                for kind, template in self._templates.items()
            }
            container.start_encoding()
        except Exception:
            _close_quietly(container)
            raise
        self._socket = self._pin()
        self.stats.connects += 1
        log.info("%s connected", self.name)
        return container, streams

    def _pin(self) -> socket.socket | None:
        """This connection's socket, its send buffer cut to about SEND_BUFFER_S of stream."""
        opened = sorted(_connections_to(self._port) - self._others)
        if not opened:
            return None
        pinned = socket.socket(fileno=os.dup(opened[0]))
        bitrate = sum(t.codec_context.bit_rate or 0 for t in self._templates.values())
        size = max(MIN_SEND_BUFFER, int(bitrate / 8 * SEND_BUFFER_S))
        pinned.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        return pinned

    def _failed(self, error: Exception, wait: float) -> tuple[float, float]:
        """Note a failed connect or send, whose packet is lost; returns (retry_at, next wait),
        the wait doubling up to the maximum so a dead ingest is not hammered."""
        message = redact(f"{type(error).__name__}: {error}", self.url)
        stall, self._stall = self._stall, None
        if stall is not None:
            message = f"{stall}; then {message}"
        self.stats.last_error = message
        self.stats.dropped_packets += 1
        log.warning("%s: %s; retrying in %.1f s", self.name, message, wait)
        return time.monotonic() + wait, min(wait * 2, self._max_wait)


def rtmp_sink(url: str, settings: Settings) -> RtmpSink:
    return RtmpSink(
        url,
        queue_packets=settings.rtmp_queue_packets,
        reconnect_min_s=settings.rtmp_reconnect_min_s,
        reconnect_max_s=settings.rtmp_reconnect_max_s,
        stall_s=settings.rtmp_stall_s,
    )


def _packet(item: _Queued, stream: Stream) -> av.Packet:
    packet = av.Packet(item.data)
    packet.stream = stream
    packet.time_base = item.time_base
    packet.pts, packet.dts, packet.duration = item.pts, item.dts, item.duration
    packet.is_keyframe = item.keyframe
    return packet


def _seconds(item: _Queued) -> float:
    return float((item.pts or 0) * item.time_base)


def _connections_to(port: int) -> set[int]:
    """File descriptors of this process's TCP connections to `port` (any host)."""
    return {
        c.fd
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.fd >= 0
    }


def _shutdown(connection: socket.socket) -> None:
    with suppress(OSError):  # already closed by the peer or by FFmpeg
        connection.shutdown(socket.SHUT_RDWR)


def _close_quietly(container: OutputContainer) -> None:
    """A dropped connection fails its trailer write too; there is nothing left to save."""
    try:
        container.close()
    except Exception as error:
        log.debug("closing a dropped RTMP connection: %s", type(error).__name__)
