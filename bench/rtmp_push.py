"""What the RTMP push costs per packet now that it runs in a sender process.

    .venv/bin/python bench/rtmp_push.py [--seconds 20] [--width 720 --height 1280]

Encodes `seconds` of program first (not measured), then hands every packet to an RtmpSink
pushing to a local receiver (tests/rtmp_receiver.py) at the program's pace, and reports:
- `write()` on the program's worker thread: what the clock pays per packet (a copy into
  the bounded queue), median and p99;
- the program's process: CPU per packet spent by the sink's threads (pickling into the
  pipe, reading the sender's events), measured as the process's CPU time minus the
  feeding loop's own;
- the sender process: CPU per packet (its start, unpickling, muxing FLV, the socket writes;
  muxing and the socket were paid in the program's process before).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from machine import describe

from host.config import Settings
from host.stream.encoder import EncodedPacket, Encoder
from host.stream.sinks.rtmp import RtmpSink

RECEIVER = Path(__file__).resolve().parent.parent / "tests" / "rtmp_receiver.py"


def encode(settings: Settings, seconds: float) -> tuple[Encoder, list[list[EncodedPacket]]]:
    """Packets frame by frame: moving noise, so the video packets have a realistic size."""
    encoder = Encoder(settings)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (settings.height, settings.width, 3), np.uint8)
    samples = settings.audio_rate // settings.fps
    frames = []
    for index in range(round(seconds * settings.fps)):
        image = np.roll(base, index * 4, axis=1)
        tone = (np.sin(np.arange(samples) * (index % 7 + 1) / 10) * 8000).astype(np.int16)
        frames.append(encoder.encode(index, image, tone))
    frames[-1] += encoder.flush()
    return encoder, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=720)
    parser.add_argument("--height", type=int, default=1280)
    args = parser.parse_args()
    settings = Settings(_env_file=None, width=args.width, height=args.height)  # type: ignore[call-arg]
    encoder, frames = encode(settings, args.seconds)
    count = sum(len(frame) for frame in frames)
    size = sum(item.packet.size for frame in frames for item in frame)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = Path(tempfile.mkdtemp())
    receiver = subprocess.Popen([sys.executable, str(RECEIVER), str(port), str(out)])
    time.sleep(1.0)
    sink = RtmpSink(f"rtmp://127.0.0.1:{port}/live/bench", queue_packets=5000)
    sink.open(encoder.video, encoder.audio)
    me = psutil.Process()
    writes: list[float] = []
    loop_cpu = 0.0
    cpu_before = sum(me.cpu_times()[:2])
    start = time.monotonic()
    for index, frame in enumerate(frames):
        time.sleep(max(0.0, start + index / settings.fps - time.monotonic()))
        c0 = time.thread_time()
        for item in frame:
            w0 = time.perf_counter()
            sink.write(item.kind, item.packet)
            writes.append(time.perf_counter() - w0)
        loop_cpu += time.thread_time() - c0
    handled = -1
    while handled != sink.stats.sent_packets + sink.stats.dropped_packets:  # settled
        handled = sink.stats.sent_packets + sink.stats.dropped_packets
        time.sleep(0.5)
    sender = next(p for p in me.children() if "rtmp_sender" in " ".join(p.cmdline()))
    sender_cpu = sum(sender.cpu_times()[:2])
    parent_cpu = sum(me.cpu_times()[:2]) - cpu_before - loop_cpu
    sink.close()
    receiver.wait(timeout=30)

    writes.sort()
    print(describe())
    print(
        f"{count} packets ({len(frames)} frames at {args.width}x{args.height}, audio included),"
        f" {size / count / 1024:.1f} KiB average; sent {sink.stats.sent_packets},"
        f" dropped {sink.stats.dropped_packets}"
    )
    print(
        f"write() on the program's thread: median {statistics.median(writes) * 1e6:.1f} us,"
        f" p99 {writes[int(len(writes) * 0.99)] * 1e6:.1f} us"
    )
    print(f"program process, sink threads: {parent_cpu / count * 1e6:.0f} us CPU per packet")
    print(f"sender process (mux + socket):  {sender_cpu / count * 1e6:.0f} us CPU per packet")
    print(
        f"per second of stream: {parent_cpu / args.seconds * 1000:.1f} ms + "
        f"{sender_cpu / args.seconds * 1000:.1f} ms CPU"
    )


if __name__ == "__main__":
    main()
