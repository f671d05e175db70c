"""Where the program goes: one module per sink, all fed the same encoded packets.

A sink is anything with `open`, `write` and `close`. Sinks that write through an FFmpeg
muxer (MP4, HLS, later an RTMP push as `flv`) are a `ContainerSink` configured with a
target, a format and options (see `mp4.py`); a sink needing more (reconnecting) implements
the protocol itself. Adding one is one module plus one line in `registry.py`.
A sink that raises is closed and dropped by the program; the others carry on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the RTMP sender process imports this package; it needs no encoder
    import av
    from av.audio.stream import AudioStream
    from av.video.stream import VideoStream

    from host.stream.encoder import MediaKind


class Sink(Protocol):
    name: str  # for reports and logs, e.g. "mp4:/var/out/session.mp4"

    def open(self, video: VideoStream, audio: AudioStream) -> None:
        """Prepare to receive packets of the streams these templates describe."""
        ...

    def write(self, kind: MediaKind, packet: av.Packet) -> None:
        """Mux one packet; leave its timestamps as they were, the next sink gets it too."""
        ...

    def close(self) -> None:
        """Finish the output so it is complete and playable; safe to call twice."""
        ...
