"""RTMP / RTMPS push to a platform ingest, which must never stall or stop the program.

The program's worker thread only copies each packet into a bounded queue; a sender thread
owns the FLV-over-RTMP connection. When the queue is full (the ingest is slower than the
stream) packets are dropped up to the next keyframe, so what the platform receives always
decodes. When the ingest drops, or is not up yet, the sender reconnects with exponential
backoff and resumes at the next keyframe, muxing the program's own timestamps, so the
platform sees the stream continue on the program clock with a gap, not a restart at 0.

The stream key (the URL's last path segment and any query or password) is a credential:
`redact_url` shows the URL without it in the sink's name, and `redact` removes it from every
log line and every error the sink reports.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from urllib.parse import unquote, urlsplit

import av
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


class RtmpSink:
    def __init__(
        self,
        url: str,
        *,
        queue_packets: int = 500,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
    ) -> None:
        safe = redact_url(url)
        if urlsplit(url).scheme not in ("rtmp", "rtmps"):
            raise ValueError(f"not an RTMP URL: {safe} (expected rtmp:// or rtmps://)")
        self.url = url
        self.name = f"rtmp:{safe}"
        self.stats = RtmpStats()
        self._queue: queue.Queue[_Queued | None] = queue.Queue(queue_packets)
        self._min_wait, self._max_wait = reconnect_min_s, reconnect_max_s
        self._templates: dict[MediaKind, Stream] = {}
        self._thread: threading.Thread | None = None
        self._need_keyframe = False  # producer side: a packet was dropped for a full queue
        self._closing = threading.Event()

    def open(self, video: VideoStream, audio: AudioStream) -> None:
        """Start the sender; it connects, so a dead ingest costs the program nothing."""
        self._templates = {"video": video, "audio": audio}
        self._thread = threading.Thread(target=self._send_loop, name=self.name, daemon=True)
        self._thread.start()

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
                container.mux(_packet(item, streams[item.kind]))
            except Exception as error:
                _close_quietly(container)
                container, streams = None, {}
                retry_at, wait = self._failed(error, wait)
                lost_at = _seconds(item) if lost_at is None else lost_at
                continue
            self.stats.sent_packets += 1
            wait = self._min_wait
            lost_at = _seconds(item)
        if container is not None:
            _close_quietly(container)

    def _connect(self) -> tuple[OutputContainer, dict[MediaKind, Stream]]:
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
        self.stats.connects += 1
        log.info("%s connected", self.name)
        return container, streams

    def _failed(self, error: Exception, wait: float) -> tuple[float, float]:
        """Note a failed connect or send, whose packet is lost; returns (retry_at, next wait),
        the wait doubling up to the maximum so a dead ingest is not hammered."""
        message = redact(f"{type(error).__name__}: {error}", self.url)
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


def _close_quietly(container: OutputContainer) -> None:
    """A dropped connection fails its trailer write too; there is nothing left to save."""
    try:
        container.close()
    except Exception as error:
        log.debug("closing a dropped RTMP connection: %s", type(error).__name__)
