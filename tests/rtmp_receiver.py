"""A stand-in RTMP ingest for tests: `python tests/rtmp_receiver.py PORT OUT_DIR [--again]`.

Listens on rtmp://127.0.0.1:PORT/live/<any key> (FFmpeg's listen mode, which only works in
its own process), accepts one push and records it: `packets.jsonl` (one line per packet:
stream, pts and dts in seconds, keyframe, size, flushed as it arrives, so a receiver killed
mid-stream still leaves its record) and `stream.flv` (the packets remuxed untouched, to
decode afterwards). `streams.json` describes the streams once they are known. It exits when
the pusher disconnects; with `--again` it listens for the next push, recorded in OUT_DIR/1,
OUT_DIR/2... (the first in OUT_DIR/0), as an ingest does after a publisher reconnects. Each
packet line carries `at`, the wall-clock time it arrived.

It probes the push for 0.1 s only (`analyzeduration`; FFmpeg's default held about a second
of packets before the first was read), so `at` is when a packet arrived, as a platform
would see it: how soon a failover is back on air is measured here.

Its socket's receive buffer is fixed (RECEIVE_BUFFER) rather than grown by the kernel as
data comes: a pusher's burst (catching up after connecting) would otherwise let it swell
to megabytes, and how soon a stopped receiver blocks the pusher would depend on that burst.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import av

RECEIVE_BUFFER = 128 * 1024  # bytes; the kernel doubles it for its bookkeeping


def receive(port: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    source = av.open(
        f"rtmp://127.0.0.1:{port}/live/key",
        options={
            "listen": "1",
            "timeout": "60",
            "recv_buffer_size": str(RECEIVE_BUFFER),
            "analyzeduration": "100000",
        },
    )
    video, audio = source.streams.video[0], source.streams.audio[0]
    (out / "streams.json").write_text(
        json.dumps(
            {
                "width": video.codec_context.width,
                "height": video.codec_context.height,
                "video_codec": video.codec_context.name,
                "audio_codec": audio.codec_context.name,
                "sample_rate": audio.codec_context.sample_rate,
            }
        )
    )
    record = av.open(str(out / "stream.flv"), "w", format="flv")
    copies = {
        video.index: record.add_stream_from_template(video, opaque=True),
        audio.index: record.add_stream_from_template(audio, opaque=True),
    }
    with (out / "packets.jsonl").open("w") as lines:
        try:
            for packet in source.demux(video, audio):
                if packet.dts is None or packet.stream.index not in copies:
                    continue
                row = {
                    "stream": packet.stream.type,
                    "pts": float(packet.pts * packet.time_base) if packet.pts is not None else None,
                    "dts": float(packet.dts * packet.time_base),
                    "key": packet.is_keyframe,
                    "size": packet.size,
                    "at": time.time(),
                }
                lines.write(json.dumps(row) + "\n")
                lines.flush()
                packet.stream = copies[packet.stream.index]
                record.mux(packet)
        except (av.error.EOFError, OSError):
            pass
    record.close()
    source.close()


if __name__ == "__main__":
    if "--again" in sys.argv[3:]:
        n = 0
        while n < 1_000:
            try:
                receive(int(sys.argv[1]), Path(sys.argv[2]) / str(n))
            except av.error.TimeoutError:  # nobody pushed for a minute: keep listening
                continue
            n += 1
    else:
        receive(int(sys.argv[1]), Path(sys.argv[2]))
