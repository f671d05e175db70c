"""The program stage end to end: real frames, real H.264/AAC encoding, real MP4 and HLS files."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from host.config import Settings
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import ProgramClock, WallClock
from host.stream.overlays import OverlayCompositor
from host.stream.program import Program, ProgramStats
from host.stream.sinks import Sink
from host.stream.sinks.container import ContainerSink
from host.stream.sinks.hls import PLAYLIST, hls_sink
from host.stream.sinks.mp4 import mp4_sink
from host.stream.sinks.registry import make_sink
from host.trace import Trace

SETTINGS = Settings(_env_file=None, width=720, height=1280, fps=25, audio_rate=48000)  # type: ignore[call-arg]
SAMPLES = SETTINGS.audio_rate // SETTINGS.fps


class MovingColours:
    """A colour ramp that slides each frame, with a 440 Hz tone; frame 10 carries a trace."""

    def __init__(self, settings: Settings, stop_at: int | None = None) -> None:
        self.settings = settings
        self.stop_at = stop_at
        self.program: Program | None = None
        self.trace = Trace()
        ys, xs = np.mgrid[0 : settings.height, 0 : settings.width]
        self._ramp = ((xs + ys) % 256).astype(np.uint8)

    async def next_frame(self, index: int) -> ProgramFrame:
        if index == self.stop_at and self.program is not None:
            self.program.stop()
        shifted = (self._ramp + 4 * index).astype(np.uint8)
        image = np.stack([shifted, 255 - shifted, np.full_like(shifted, 128)], axis=2)
        t = (np.arange(SAMPLES) + index * SAMPLES) / self.settings.audio_rate
        audio = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        overlay = Overlay(caption="欢迎来到直播间 Welcome!" if index >= 50 else None)
        return ProgramFrame(image, audio, overlay, self.trace if index == 10 else None)


class BrokenSink:
    """Accepts a few packets, then fails like a full disk."""

    name = "broken"

    def __init__(self) -> None:
        self.writes = 0
        self.closed = False

    def open(self, video: object, audio: object) -> None:
        pass

    def write(self, kind: str, packet: av.Packet) -> None:
        self.writes += 1
        if self.writes > 20:
            raise OSError("No space left on device")

    def close(self) -> None:
        self.closed = True


def run_program(
    sinks: list[Sink], source: MovingColours, duration: float, clock: ProgramClock | WallClock
) -> ProgramStats:
    program = Program(source.settings, sinks, clock)
    source.program = program
    return asyncio.run(program.run(source, duration))


@dataclass
class Run:
    mp4: Path
    hls: Path
    stats: ProgramStats
    clock: ProgramClock
    source: MovingColours
    broken: BrokenSink


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("program")
    source = MovingColours(SETTINGS)
    broken = BrokenSink()

    async def main() -> tuple[ProgramStats, ProgramClock]:
        clock = ProgramClock()
        sinks: list[Sink] = [
            mp4_sink(out / "session.mp4"),
            broken,
            hls_sink(out / "hls", SETTINGS.hls_segment_seconds),
        ]
        program = Program(SETTINGS, sinks, clock)
        return await program.run(source, 4.0), clock

    stats, clock = asyncio.run(main())
    return Run(out / "session.mp4", out / "hls", stats, clock, source, broken)


def decode(path: Path | str) -> tuple[list[av.VideoFrame], list[av.AudioFrame]]:
    video: list[av.VideoFrame] = []
    audio: list[av.AudioFrame] = []
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            (video if isinstance(frame, av.VideoFrame) else audio).append(frame)
    return video, audio


def end_times(video: list[av.VideoFrame], audio: list[av.AudioFrame]) -> tuple[float, float]:
    video_end = float(video[-1].time or 0) + 1 / SETTINGS.fps
    audio_end = float(audio[-1].time or 0) + audio[-1].samples / audio[-1].sample_rate
    return video_end, audio_end


def test_mp4_has_h264_and_aac_tracks_at_program_size_and_rate(run: Run) -> None:
    with av.open(str(run.mp4)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.profile == "Main"
        assert (video.codec_context.width, video.codec_context.height) == (720, 1280)
        assert video.average_rate == 25
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == 48000


def test_mp4_holds_every_frame_with_timestamps_from_the_frame_index(run: Run) -> None:
    video, audio = decode(run.mp4)
    assert run.stats.frames == 100
    assert len(video) == 100
    assert [round(float(f.time or 0) * 25) for f in video] == list(range(100))
    video_end, audio_end = end_times(video, audio)
    assert video_end == pytest.approx(4.0)
    assert abs(audio_end - video_end) < 0.1


def test_mp4_audio_is_the_tone_that_went_in(run: Run) -> None:
    _, audio = decode(run.mp4)
    samples = np.concatenate([f.to_ndarray()[0] for f in audio])
    spectrum = np.abs(np.fft.rfft(samples[48000:96000]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)


def test_mp4_is_fragmented_and_a_truncated_copy_still_plays(run: Run, tmp_path: Path) -> None:
    data = run.mp4.read_bytes()
    assert data.count(b"moof") >= 2
    cut = tmp_path / "killed.mp4"
    cut.write_bytes(data[: len(data) // 2])
    video: list[av.VideoFrame] = []
    with av.open(str(cut)) as container:
        try:
            for frame in container.decode(video=0):
                video.append(frame)
        except av.error.FFmpegError:
            pass  # the torn last fragment
    assert 25 <= len(video) < 100


def test_hls_playlist_lists_segments_that_decode(run: Run) -> None:
    playlist = (run.hls / PLAYLIST).read_text()
    segments = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert "#EXT-X-ENDLIST" in playlist
    assert len(segments) == 2
    total = 0
    for name in segments:
        video, audio = decode(run.hls / name)
        assert video and audio
        total += len(video)
    assert total == 100
    video, audio = decode(run.hls / PLAYLIST)
    video_end, audio_end = end_times(video, audio)
    assert abs(audio_end - video_end) < 0.1


def test_failing_sink_is_dropped_and_reported_while_others_finish(run: Run) -> None:
    assert run.broken.closed
    assert run.broken.writes == 21
    assert "No space left" in run.stats.sink_errors["broken"]
    assert set(run.stats.sink_errors) == {"broken"}


def test_ai_label_is_burned_into_every_frame(run: Run) -> None:
    """The label box (dark, with white text) sits where the layout puts it on every frame."""
    label = OverlayCompositor(SETTINGS).label
    assert label is not None
    h, w = label.premultiplied.shape[:2]
    box = np.s_[label.y + 4 : label.y + h - 4, label.x + 4 : label.x + w - 4]
    video, _ = decode(run.mp4)
    for frame in video:
        corner = frame.to_ndarray(format="rgb24")[box].astype(int).sum(axis=2)
        assert (corner < 150).mean() > 0.3
        assert (corner > 600).any()


def test_fast_mode_advances_the_program_clock_and_stamps_traces(run: Run) -> None:
    assert run.clock.now() == pytest.approx(4.0)
    assert run.source.trace.stamps["first_frame_out"] == pytest.approx(10 / 25)
    assert run.stats.encode_ms_p95 > 0


def test_stop_ends_the_run_after_the_current_frame_with_complete_files(tmp_path: Path) -> None:
    source = MovingColours(SETTINGS, stop_at=30)
    stats = run_program([mp4_sink(tmp_path / "a.mp4")], source, 10.0, ProgramClock())
    assert stats.frames == 31
    video, audio = decode(tmp_path / "a.mp4")
    assert len(video) == 31
    assert abs(end_times(video, audio)[1] - 31 / 25) < 0.1


def test_realtime_paces_frames_on_the_wall_clock(tmp_path: Path) -> None:
    small = Settings(_env_file=None, width=320, height=568, fps=25)  # type: ignore[call-arg]
    started = time.monotonic()
    stats = run_program([mp4_sink(tmp_path / "rt.mp4")], MovingColours(small), 0.6, WallClock())
    assert time.monotonic() - started >= 14 / 25
    assert stats.frames == 15


def test_frames_of_the_wrong_shape_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    class ShortAudio(MovingColours):
        async def next_frame(self, index: int) -> ProgramFrame:
            frame = await super().next_frame(index)
            return ProgramFrame(frame.image, frame.audio[:100], frame.overlay)

    with pytest.raises(ValueError, match=r"audio is int16 \(100,\), expected int16 \(1920,\)"):
        run_program([mp4_sink(tmp_path / "x.mp4")], ShortAudio(SETTINGS), 1.0, ProgramClock())


def test_a_sink_that_cannot_open_is_reported_and_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    bad = ContainerSink("bad", str(blocker / "x.mp4"), "mp4", {})
    stats = run_program(
        [bad, mp4_sink(tmp_path / "ok.mp4")], MovingColours(SETTINGS), 0.4, ProgramClock()
    )
    assert "bad" in stats.sink_errors
    assert len(decode(tmp_path / "ok.mp4")[0]) == 10


def test_sinks_are_chosen_by_name(tmp_path: Path) -> None:
    sink = make_sink("hls", str(tmp_path / "preview"), SETTINGS)
    assert sink.name == f"hls:{tmp_path / 'preview'}"
    with pytest.raises(ValueError, match="unknown sink 'rtmpx'; known: hls, mp4"):
        make_sink("rtmpx", "rtmp://example/live", SETTINGS)
