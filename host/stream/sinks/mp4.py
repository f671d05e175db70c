"""MP4 recording that survives a crash.

Fragmented MP4 (`frag_keyframe+empty_moov+default_base_moof`) writes the header first and
then one self-contained fragment per keyframe (every 2 s), so a session killed with SIGKILL
leaves a file that plays up to its last complete fragment, with no index to rebuild.

Timestamps are not shifted (`avoid_negative_ts=disabled`): the default moves every video
frame after the first by the AAC encoder delay (1024 samples), which stretches frame 0 and
makes probes report 24.87 fps for a 25 fps program. Audio then starts with the encoder's
21 ms of priming, as it does in HLS and FLV, which have no edit lists either.
"""

from __future__ import annotations

from pathlib import Path

from host.stream.sinks.container import ContainerSink

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


def mp4_sink(path: Path) -> ContainerSink:
    path.parent.mkdir(parents=True, exist_ok=True)
    return ContainerSink(
        f"mp4:{path}",
        str(path),
        "mp4",
        {"movflags": MOVFLAGS, "flush_packets": "1", "avoid_negative_ts": "disabled"},
    )
