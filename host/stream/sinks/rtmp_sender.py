"""The RTMP connection, in a process of its own: `python -m host.stream.sinks.rtmp_sender`.

PyAV opens an output (FFmpeg's `avio_open`: the TCP connect and the RTMP handshake) while
holding the GIL, so an ingest that accepts the connection and never answers freezes every
thread of the process that connects, the program clock included. Here it freezes only this
process; `RtmpSink`, in the program's process, sees it make no progress and kills it.

This process keeps the connection's rules: it connects at a keyframe, drops packets while
the ingest is away (backing off between attempts), muxes the program's own timestamps so a
reconnect shows the platform a gap, not a restart, and once a connection is older than
`max_connection_s` it reconnects at a keyframe, as planned, before the platform ends the
broadcast. It logs nothing: every step goes to the parent as an event, and only the parent,
which knows how to hide the stream key, speaks. The URL comes through the pipe, never argv.

Wire (`multiprocessing.connection` messages): stdin brings one `Setup` (as a dict), then a
`Packet` per encoded packet, then None to finish; stdout takes `Event`s. Both are plain
tuples, cheap to pickle at 25 fps plus audio.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from fractions import Fraction
from io import BytesIO
from multiprocessing.connection import Connection
from typing import Any, Literal

import av
import psutil
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.stream import Stream
from av.video.stream import VideoStream

SEND_BUFFER_S = 1.0  # stream seconds the kernel may hold: more only hides a stalled ingest
MIN_SEND_BUFFER = 64 * 1024
PR_SET_PDEATHSIG = 1  # prctl(2)

# (kind, data, pts, dts, duration, time_base numerator, time_base denominator, keyframe)
Packet = tuple[str, bytes, int | None, int | None, int, int, int, bool]
EventKind = Literal["ready", "attempt", "connected", "sent", "dropped", "failed", "planned"]
# (what, number, text): the number is the packet's program time in seconds, except for
# "failed" (the wait before the next attempt) and "planned" (the connection's age); the text
# is a failure as FFmpeg put it, stream key included: the parent redacts it
Event = tuple[EventKind, float, str]


@dataclass(frozen=True)
class Setup:
    url: str
    port: int  # the ingest's TCP port, to find this connection's socket
    # The program's streams. An FLV header names their codecs and layouts (and gives this
    # process `Stream`s to copy, which is all PyAV copies from); what FLV rewrites or cannot
    # hold travels as the encoder made it: H.264 parameter sets (FLV turns them into avcC,
    # and then the muxer would no longer convert the Annex B packets), the sample rate (FLV's
    # field stops at 44.1 kHz) and the picture size (left to a decoder).
    header: bytes
    extradata: dict[str, bytes]  # by kind
    width: int
    height: int
    sample_rate: int
    bit_rate: int  # of both streams, to size the send buffer
    reconnect_min_s: float
    reconnect_max_s: float
    wait_s: float  # backoff to start from: a restarted sender carries it on
    max_connection_s: float  # 0 = never reconnect as planned

    @classmethod
    def of(cls, video: VideoStream, audio: AudioStream, **policy: Any) -> Setup:
        """The setup for muxing packets of `video` and `audio`; `policy` gives the rest."""
        buffer = BytesIO()
        with av.open(buffer, "w", format="flv") as header:
            for template in (video, audio):
                header.add_stream_from_template(template, opaque=True)
            header.start_encoding()
        return cls(
            header=buffer.getvalue(),
            extradata={
                "video": video.codec_context.extradata or b"",
                "audio": audio.codec_context.extradata or b"",
            },
            width=video.codec_context.width,
            height=video.codec_context.height,
            sample_rate=audio.codec_context.sample_rate,
            bit_rate=(video.codec_context.bit_rate or 0) + (audio.codec_context.bit_rate or 0),
            **policy,
        )


class Sender:
    """Muxes the packets it is given into one RTMP connection at a time."""

    def __init__(self, setup: Setup, events: Connection) -> None:
        self.setup = setup
        self.events = events
        self._header = av.open(BytesIO(setup.header), format="flv")
        self.container: OutputContainer | None = None
        self.streams: dict[str, Stream] = {}
        self.connected_at = 0.0
        self.wait = setup.wait_s
        self.retry_at = 0.0

    def run(self, inbox: Connection) -> None:
        self.say("ready")
        while (packet := inbox.recv()) is not None:
            self.send(packet)
        if self.container is not None:
            self._disconnect()

    def say(self, what: EventKind, number: float = 0.0, text: str = "") -> None:
        self.events.send((what, number, text))

    def send(self, packet: Packet) -> None:
        kind, data, pts, dts, duration, num, den, keyframe = packet
        t = (pts or 0) * num / den
        if keyframe and self._expired():
            age = time.monotonic() - self.connected_at
            self._disconnect()
            self.say("planned", age)
        if self.container is None:
            if not keyframe or time.monotonic() < self.retry_at:
                self.say("dropped", t)
                return
            self.say("attempt", t)
            try:
                self._connect()
            except Exception as error:
                self._failed(error)
                return
            self.say("connected", t)
        assert self.container is not None
        out = av.Packet(data)
        out.stream = self.streams[kind]
        out.time_base = Fraction(num, den)
        out.pts, out.dts, out.duration = pts, dts, duration
        out.is_keyframe = keyframe
        try:
            self.container.mux(out)
        except Exception as error:
            self._disconnect()
            self._failed(error)
            return
        self.wait = self.setup.reconnect_min_s
        self.say("sent", t)

    def _expired(self) -> bool:
        limit = self.setup.max_connection_s
        return (
            self.container is not None
            and limit > 0
            and time.monotonic() - self.connected_at >= limit
        )

    def _connect(self) -> None:
        container = av.open(
            self.setup.url,
            "w",
            format="flv",
            # program timestamps as they are, on the first connection and after a reconnect
            options={"avoid_negative_ts": "disabled", "flvflags": "no_duration_filesize"},
        )
        try:
            video = container.add_stream_from_template(self._header.streams.video[0], opaque=True)
            audio = container.add_stream_from_template(self._header.streams.audio[0], opaque=True)
            video.codec_context.extradata = self.setup.extradata["video"]
            audio.codec_context.extradata = self.setup.extradata["audio"]
            video.codec_context.width = self.setup.width
            video.codec_context.height = self.setup.height
            audio.codec_context.sample_rate = self.setup.sample_rate
            container.start_encoding()
        except Exception:
            _close_quietly(container)
            raise
        self._limit_send_buffer()
        self.container, self.streams = container, {"video": video, "audio": audio}
        self.connected_at = time.monotonic()

    def _limit_send_buffer(self) -> None:
        """Keep the kernel from holding more than about SEND_BUFFER_S of stream, so a stalled
        ingest blocks the next send soon and the parent notices. FFmpeg gives no way to set
        this on the socket it opens, so the socket is found among this process's own."""
        size = max(MIN_SEND_BUFFER, int(self.setup.bit_rate / 8 * SEND_BUFFER_S))
        for connection in psutil.Process().net_connections(kind="tcp"):
            if connection.raddr and connection.raddr.port == self.setup.port:
                with suppress(OSError), socket.socket(fileno=os.dup(connection.fd)) as opened:
                    opened.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    def _disconnect(self) -> None:
        container, self.container, self.streams = self.container, None, {}
        if container is not None:
            _close_quietly(container)

    def _failed(self, error: Exception) -> None:
        """The packet is lost; the next attempt waits, the wait doubling up to the maximum
        so a dead ingest is not hammered."""
        self.say("failed", self.wait, f"{type(error).__name__}: {error}")
        self.retry_at = time.monotonic() + self.wait
        self.wait = min(self.wait * 2, self.setup.reconnect_max_s)


def _close_quietly(container: OutputContainer) -> None:
    """A dropped connection fails its trailer write too; there is nothing left to save."""
    with suppress(Exception):
        container.close()


def _die_with_parent() -> None:
    """A sender stuck in a connect holds its GIL and cannot notice its parent is gone, so
    the kernel ends it then (it signals when the thread that started this process ends)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main() -> None:
    _die_with_parent()
    events = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a stray print must not land in the event pipe
    inbox = Connection(0, writable=False)
    with suppress(EOFError, BrokenPipeError):  # the parent went away: so does this process
        Sender(Setup(**inbox.recv()), events).run(inbox)


if __name__ == "__main__":
    main()
