"""The RTMP push against a real RTMP peer: FFmpeg listening in its own process (and nginx-rtmp).

The source flashes white and beeps on the same frame once a second, so the receiver's
recording shows where the picture and the sound landed relative to each other.
"""

from __future__ import annotations

import asyncio
import faulthandler
import json
import logging
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import av
import numpy as np
import psutil
import pytest

from host.config import Settings
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import WallClock
from host.stream.program import Program, ProgramStats
from host.stream.sinks import Sink
from host.stream.sinks.mp4 import mp4_sink
from host.stream.sinks.rtmp import RtmpSink, rtmp_sink

RECEIVER = Path(__file__).with_name("rtmp_receiver.py")
SETTINGS = Settings(  # type: ignore[call-arg]
    _env_file=None,
    width=640,
    height=360,
    fps=25,
    rtmp_reconnect_min_s=0.3,
    rtmp_reconnect_max_s=1.0,  # retry often: the test's outage is only seconds long
)
SPF = SETTINGS.audio_rate // SETTINGS.fps


class FlashAndBeep:
    """Dark silent frames, except every 25th: white, with a 1 kHz tone for the whole frame."""

    def __init__(self, settings: Settings) -> None:
        shape = (settings.height, settings.width, 3)
        self.dark, self.white = np.full(shape, 16, np.uint8), np.full(shape, 235, np.uint8)
        t = np.arange(SPF) / settings.audio_rate
        self.beep = (np.sin(2 * np.pi * 1000 * t) * 12000).astype(np.int16)
        self.silence = np.zeros(SPF, np.int16)

    async def next_frame(self, index: int) -> ProgramFrame:
        flash = index % SETTINGS.fps == 0
        return ProgramFrame(
            self.white if flash else self.dark, self.beep if flash else self.silence, Overlay()
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something listens on the port, read from /proc so the one accept isn't spent."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if int(local.split(":")[1], 16) == port and state == "0A":
            return True
    return False


def wait_until_listening(
    process: subprocess.Popen[bytes], port: int, log: Path | None = None
) -> None:
    """Return once `process` listens on `port`; fail (with its `log`) if it exits first."""
    deadline = time.monotonic() + 20
    while not listening(port):
        assert process.poll() is None, log.read_text() if log else "exited before listening"
        assert time.monotonic() < deadline, "never listened"
        time.sleep(0.05)


def start_receiver(port: int, out: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, str(RECEIVER), str(port), str(out)])
    wait_until_listening(process, port)
    return process


def packets(out: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (out / "packets.jsonl").read_text().splitlines()]


def flashes_and_beeps(flv: Path) -> tuple[list[float], list[float]]:
    """Times (s) of the white frames and of the beep onsets in a recording."""
    flashes: list[float] = []
    beeps: list[float] = []
    with av.open(str(flv)) as container:
        for frame in container.decode(video=0):
            if frame.to_ndarray(format="gray").mean() > 128:
                flashes.append(float(frame.time or 0.0))
    with av.open(str(flv)) as container:
        for sound in container.decode(audio=0):
            start = float(sound.time or 0.0)
            loud = np.flatnonzero(np.abs(sound.to_ndarray()[0]) > 0.1)
            if len(loud) and (not beeps or start - beeps[-1] > 0.5):
                beeps.append(start + loud[0] / sound.sample_rate)
    return flashes, beeps


def run_program(sinks: list[Sink], seconds: float) -> ProgramStats:
    async def main() -> ProgramStats:
        program = Program(SETTINGS, sinks, WallClock())
        return await program.run(FlashAndBeep(SETTINGS), seconds)

    return asyncio.run(main())


def test_sink_name_stats_and_logs_never_show_the_key(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """An ingest that is not there: the program runs on, the key is nowhere in what is said."""
    port = free_port()
    sink = rtmp_sink(f"rtmp://127.0.0.1:{port}/live/SECRETKEY42", SETTINGS)
    with caplog.at_level(logging.DEBUG):
        stats = run_program([sink], 1.0)
    assert stats.frames == 25 and not stats.sink_errors
    assert sink.stats.connects == 0 and sink.stats.last_error is not None
    said = caplog.text + sink.name + repr(sink.stats) + repr(stats)
    assert "SECRETKEY42" not in said
    assert "rtmp://127.0.0.1" in sink.name


def test_sender_process_never_shows_the_key_in_its_command_line_or_environment() -> None:
    """`ps` shows every user's command lines: the URL reaches the sender through its pipe."""
    sink = rtmp_sink(f"rtmp://127.0.0.1:{free_port()}/live/PSKEY31337", SETTINGS)
    seen: list[str] = []
    running = threading.Event()

    def look() -> None:
        while not running.wait(0.05):
            for child in psutil.Process().children():
                with suppress(psutil.Error):
                    seen.append(" ".join(child.cmdline()) + repr(child.environ()))

    watcher = threading.Thread(target=look)
    watcher.start()
    try:
        run_program([sink], 1.5)
    finally:
        running.set()
        watcher.join()
    assert [line for line in seen if "rtmp_sender" in line], "no sender process seen"
    assert not [line for line in seen if "PSKEY31337" in line]


def test_sink_refuses_a_url_that_is_not_rtmp() -> None:
    with pytest.raises(ValueError, match="not an RTMP URL"):
        RtmpSink("http://example.com/live/KEY123")


def test_receiver_gets_the_program_at_its_size_rate_and_in_sync(tmp_path: Path) -> None:
    port = free_port()
    receiver = start_receiver(port, tmp_path / "rx")
    sink = rtmp_sink(f"rtmp://127.0.0.1:{port}/live/testkey", SETTINGS)
    stats = run_program([sink], 5.0)
    receiver.wait(timeout=20)

    assert stats.frames == 125 and not stats.sink_errors
    info = json.loads((tmp_path / "rx" / "streams.json").read_text())
    assert (info["width"], info["height"]) == (640, 360)
    assert (info["video_codec"], info["audio_codec"], info["sample_rate"]) == ("h264", "aac", 48000)
    video = [p for p in packets(tmp_path / "rx") if p["stream"] == "video"]
    assert len(video) == 125
    assert all(p["pts"] == p["dts"] for p in video)  # no B-frames: ingests want none
    steps = np.diff([p["dts"] for p in video])
    assert np.allclose(steps, 1 / 25, atol=0.0015)  # FLV keeps milliseconds
    assert [p["dts"] for p in video if p["key"]][:3] == pytest.approx([0.0, 2.0, 4.0], abs=0.002)

    flashes, beeps = flashes_and_beeps(tmp_path / "rx" / "stream.flv")
    assert len(flashes) == 5 and len(beeps) == 5
    offsets = [abs(b - f) for f, b in zip(flashes, beeps, strict=True)]
    assert max(offsets) < 0.040, offsets


@pytest.mark.slow
def test_rtmp_reconnects_after_receiver_restart(tmp_path: Path) -> None:
    """The ingest vanishes for 4 s; the program never stops, the push resumes on its clock."""
    port = free_port()
    first = start_receiver(port, tmp_path / "first")
    sink = rtmp_sink(f"rtmp://127.0.0.1:{port}/live/testkey", SETTINGS)
    second: list[subprocess.Popen[bytes]] = []

    def outage() -> None:
        time.sleep(3.0)
        first.send_signal(signal.SIGKILL)
        first.wait()
        time.sleep(4.0)
        second.append(start_receiver(port, tmp_path / "second"))

    thread = threading.Thread(target=outage)
    started = time.monotonic()
    thread.start()
    stats = run_program([sink], 12.0)
    wall = time.monotonic() - started
    thread.join()
    second[0].wait(timeout=20)

    # the program kept its clock: every frame, on time give or take a busy shared machine
    assert stats.frames == 300 and not stats.sink_errors
    assert wall < 12.0 + 1.0 and stats.max_lateness_ms < 1000, stats
    assert stats.late_frames < 30, stats
    assert sink.stats.connects == 2 and len(sink.stats.gaps_s) == 1
    before, after = packets(tmp_path / "first"), packets(tmp_path / "second")
    last_before = max(p["dts"] for p in before if p["stream"] == "video")
    first_after = min(p["dts"] for p in after if p["stream"] == "video")
    assert 2.5 < last_before < 3.5
    assert first_after >= last_before + 4.0  # the program went on while the ingest was away
    assert first_after % 2.0 == pytest.approx(0.0, abs=0.002)  # resumed on a keyframe
    assert sink.stats.gaps_s[0] == pytest.approx(first_after - last_before, abs=0.2)
    video_after = [p["dts"] for p in after if p["stream"] == "video"]
    assert video_after[-1] == pytest.approx(11.96, abs=0.002)
    assert np.allclose(np.diff(video_after), 1 / 25, atol=0.0015)


def wait_for(condition: Callable[[], object], within_s: float) -> float:
    """Seconds until `condition()` held; fails the test if it did not within `within_s`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < within_s, "did not happen in time"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.slow
def test_rtmp_stalled_ingest_is_noticed_cut_and_reconnected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The ingest stops reading (SIGSTOP) without closing anything: no error ever comes back,
    so only a sender that watches its own progress notices; it reports, cuts and reconnects."""
    port = free_port()
    first = start_receiver(port, tmp_path / "first")
    settings = SETTINGS.model_copy(update={"rtmp_stall_s": 1.5})
    sink = rtmp_sink(f"rtmp://127.0.0.1:{port}/live/STALLKEY77", settings)
    seen: dict[str, float] = {}
    second: list[subprocess.Popen[bytes]] = []

    def stall() -> None:
        wait_for(lambda: sink.stats.connects == 1, 10)
        time.sleep(2.0)
        first.send_signal(signal.SIGSTOP)
        seen["noticed"] = wait_for(lambda: sink.stats.stalls == 1, 8)
        seen["retried"] = wait_for(lambda: sink.stats.attempts >= 2, 4)  # at the next keyframe
        first.send_signal(signal.SIGCONT)  # it reads what was buffered, sees the cut, exits
        first.wait(timeout=10)
        second.append(start_receiver(port, tmp_path / "second"))

    thread = threading.Thread(target=stall)
    with caplog.at_level(logging.WARNING):
        thread.start()
        stats = run_program([sink], 16.0)
        thread.join()
    second[0].wait(timeout=20)

    assert stats.frames == 400 and not stats.sink_errors
    assert stats.max_lateness_ms < 1000, stats
    # noticed within a few seconds: the receiver's own buffer, then stall_s
    assert seen["noticed"] < 6.0 and seen["retried"] < 4.0, seen
    assert sink.stats.stalls == 1 and sink.stats.connects == 2
    assert sink.stats.attempts > sink.stats.connects  # refused attempts while it was away
    stall_lines = [r.getMessage() for r in caplog.records if "took nothing" in r.getMessage()]
    assert stall_lines and sink.name in stall_lines[0]
    assert "STALLKEY77" not in caplog.text + repr(sink.stats)
    after = [p for p in packets(tmp_path / "second") if p["stream"] == "video"]
    assert after[0]["key"] and after[0]["dts"] % 2.0 == pytest.approx(0.0, abs=0.002)
    assert after[-1]["dts"] == pytest.approx(15.96, abs=0.002)  # packets flow again, to the end
    assert np.allclose(np.diff([p["dts"] for p in after]), 1 / 25, atol=0.0015)


class Relay:
    """A TCP relay on 127.0.0.1 that passes its n-th connection, byte for byte, to the n-th
    of `ports`: one ingest address in front of receivers that each take one push, all
    listening before the pusher reconnects."""

    def __init__(self, ports: list[int]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.ports = ports
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with suppress(OSError):
            for port in self.ports:
                pusher = self.server.accept()[0]
                ingest = socket.create_connection(("127.0.0.1", port))
                for source, target in ((pusher, ingest), (ingest, pusher)):
                    threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)  # the receiver sees the pusher hang up, and ends

    def close(self) -> None:
        self.server.close()


@pytest.mark.slow
def test_rtmp_reconnects_as_planned_before_the_platform_limit_without_a_gap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection older than RTMP_MAX_CONNECTION_H (Twitch ends a broadcast at 48 h) is
    closed at a keyframe and opened again at once: the platform gets every packet, the
    reconnect is counted and logged as planned, never as a failure."""
    first, second = free_port(), free_port()
    receivers = [
        start_receiver(first, tmp_path / "first"),
        start_receiver(second, tmp_path / "second"),
    ]
    relay = Relay([first, second])
    settings = SETTINGS.model_copy(update={"rtmp_max_connection_h": 3.0 / 3600})
    sink = rtmp_sink(f"rtmp://127.0.0.1:{relay.port}/live/testkey", settings)
    try:
        with caplog.at_level(logging.INFO, logger="host.stream.sinks.rtmp"):
            stats = run_program([sink], 8.0)
        for receiver in receivers:
            receiver.wait(timeout=20)
    finally:
        relay.close()

    assert stats.frames == 200 and not stats.sink_errors
    assert sink.stats.planned_reconnects == 1 and sink.stats.connects == 2, sink.stats
    assert sink.stats.gaps_s == [] and sink.stats.last_error is None, sink.stats
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert not [message for level, message in said if level >= logging.WARNING], said
    assert [message for level, message in said if "as planned" in message]
    before = [p for p in packets(tmp_path / "first") if p["stream"] == "video"]
    after = [p for p in packets(tmp_path / "second") if p["stream"] == "video"]
    assert after[0]["key"] and after[0]["dts"] in (4.0, 6.0)  # the first keyframe past 3 s
    assert before[-1]["dts"] == pytest.approx(after[0]["dts"] - 0.04, abs=0.002)
    dts = [p["dts"] for p in before + after]
    assert dts[0] == 0.0 and dts[-1] == pytest.approx(7.96, abs=0.002)
    assert np.allclose(np.diff(dts), 1 / 25, atol=0.0015)  # every frame, once, in order


class SilentIngest:
    """A TCP listener on 127.0.0.1 that accepts connections and never says a word: an ingest
    whose port is open but whose server is hung (a SIGSTOPped nginx, a black hole)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with suppress(OSError):  # closed at the end of the test
            while True:
                self.accepted.append(self.server.accept()[0])

    def close(self) -> None:
        for connection in self.accepted:
            connection.close()
        self.server.close()


@contextmanager
def process_deadline(seconds: float) -> Iterator[None]:
    """Ends the whole test process, printing every thread's traceback, if the block outlives
    `seconds`. pytest-timeout cannot: its alarm runs Python code, which waits for the GIL, and
    a frozen process never gives the GIL back; faulthandler's watchdog is a C thread."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_ingest_that_never_answers_does_not_freeze_the_program(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Connecting to an ingest that accepts TCP but never answers the RTMP handshake blocks
    the connect for good; the program, its clock and the recording beside it must not notice:
    the push is cut after RTMP_STALL_S and tried again, and again."""
    with capfd.disabled(), process_deadline(50):  # the traceback reaches the terminal
        stats, sink, ingest = run_against_silent_ingest(tmp_path)

    assert stats.frames == 250 and not stats.sink_errors
    assert stats.max_lateness_ms < 500 and stats.late_frames < 10, stats
    with av.open(str(tmp_path / "rec.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 250
    assert sink.stats.connects == 0 and sink.stats.stalls >= 2, sink.stats
    assert sink.stats.attempts >= 2 and len(ingest.accepted) >= 2
    assert sink.stats.last_error is not None and "SILENTKEY9" not in repr(sink.stats)


def run_against_silent_ingest(tmp_path: Path) -> tuple[ProgramStats, RtmpSink, SilentIngest]:
    ingest = SilentIngest()
    settings = SETTINGS.model_copy(update={"rtmp_stall_s": 1.5})
    sink = rtmp_sink(f"rtmp://127.0.0.1:{ingest.port}/live/SILENTKEY9", settings)
    try:
        stats = run_program([sink, mp4_sink(tmp_path / "rec.mp4")], 10.0)
    finally:
        ingest.close()
    return stats, sink, ingest


NGINX_CONF = """
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off; master_process off; error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{
    live on; record all; record_path {dir}/rec; record_unique off; }} }} }}
"""


@pytest.mark.slow
def test_nginx_rtmp_ingest_records_a_playable_stream(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path("/usr/lib/nginx/modules/ngx_rtmp_module.so").exists() or not Path(nginx).exists():
        pytest.skip("nginx-light + libnginx-mod-rtmp are not installed")
    port = free_port()
    (tmp_path / "rec").mkdir()
    (tmp_path / "logs").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp_path, port=port))
    server = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf)])
    try:
        wait_until_listening(server, port, tmp_path / "error.log")
        sink = rtmp_sink(f"rtmp://127.0.0.1:{port}/live/nginxkey", SETTINGS)
        stats = run_program([sink], 4.0)
        assert stats.frames == 100 and sink.stats.connects == 1
        time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=10)
    recorded = tmp_path / "rec" / "nginxkey.flv"
    with av.open(str(recorded)) as container:
        v = container.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (640, 360)
        assert container.streams.audio[0].codec_context.sample_rate == 48000
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 95


def test_rtmp_push_and_mp4_recording_share_one_encode(tmp_path: Path) -> None:
    """A dead ingest next to a recording: the recording is complete, the program on time."""
    sink = rtmp_sink(f"rtmp://127.0.0.1:{free_port()}/live/k", SETTINGS)
    stats = run_program([sink, mp4_sink(tmp_path / "rec.mp4")], 2.0)
    assert stats.frames == 50 and not stats.sink_errors
    with av.open(str(tmp_path / "rec.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 50
