"""A sink that writes the shared packets through one FFmpeg muxer (file, directory or URL)."""

from __future__ import annotations

from collections.abc import Mapping

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.stream import Stream
from av.video.stream import VideoStream

from host.stream.encoder import MediaKind


class ContainerSink:
    def __init__(
        self, name: str, target: str, format: str | None, options: Mapping[str, str]
    ) -> None:
        self.name = name
        self.target = target
        self.format = format
        self.options = dict(options)
        self._container: OutputContainer | None = None
        self._streams: dict[MediaKind, Stream] = {}

    def open(self, video: VideoStream, audio: AudioStream) -> None:
        container = av.open(self.target, "w", format=self.format, options=self.options)
        self._container = container
        self._streams = {
            "video": container.add_stream_from_template(video, opaque=True),
            "audio": container.add_stream_from_template(audio, opaque=True),
        }

    def write(self, kind: MediaKind, packet: av.Packet) -> None:
        if self._container is None:
            raise RuntimeError(f"{self.name} is not open")
        pts, dts, duration, time_base = packet.pts, packet.dts, packet.duration, packet.time_base
        packet.stream = self._streams[kind]
        try:
            self._container.mux(packet)
        finally:
            packet.pts, packet.dts, packet.duration = pts, dts, duration
            packet.time_base = time_base

    def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()
