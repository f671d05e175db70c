"""HLS preview: `index.m3u8` and MPEG-TS segments in one directory.

The playlist rolls (the newest `list_size` segments, older files deleted) so a 24/7 session
does not fill the disk; when the session ends the playlist lists what remains and is closed
with `#EXT-X-ENDLIST`.
"""

from __future__ import annotations

from pathlib import Path

from host.stream.sinks.container import ContainerSink

PLAYLIST = "index.m3u8"


def hls_sink(directory: Path, segment_seconds: float, list_size: int = 6) -> ContainerSink:
    directory.mkdir(parents=True, exist_ok=True)
    options = {
        "hls_time": f"{segment_seconds:g}",
        "hls_list_size": str(list_size),
        "hls_flags": "delete_segments+independent_segments",
        "hls_segment_filename": str(directory / "segment%05d.ts"),
    }
    return ContainerSink(f"hls:{directory}", str(directory / PLAYLIST), "hls", options)
