"""The music bed, measured: its level under silence and under speech, the duck's ramp, the
loop point, a bad file failing at construction, and music in the idle parts of a real MP4.

Levels are relative to the file's own: the chord written below is the 0 dB reference.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import av
import numpy as np
import pytest

from host.config import Settings
from host.errors import HostError
from host.face.builtin import IllustratedAnimator
from host.session.director import Director
from host.session.speech import Segment, assemble
from host.stream.base import Overlay
from host.stream.clock import ProgramClock
from host.stream.music import MusicBed
from host.stream.program import Program
from host.stream.sinks.mp4 import mp4_sink
from host.voice.base import SpeechChunk
from tests.test_splice import NoProduct, QueueAt

RATE, FPS = 48000, 25
SPF = RATE // FPS
FILE_RATE = 44100  # not the program rate, so decoding resamples
CHORD_HZ = (220.0, 277.18, 329.63)  # whole cycles never fit 2 s: a plain wrap would click


def chord(rate: int = FILE_RATE, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (sum(0.2 * np.sin(2 * np.pi * f * t) for f in CHORD_HZ) * 32767).astype(np.int16)


def write_music(path: Path, codec: str = "pcm_s16le", layout: str = "mono") -> np.ndarray:
    """Write the chord with PyAV (the same samples on every channel); return the samples."""
    pcm = chord()
    channels = 2 if layout == "stereo" else 1
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=FILE_RATE, layout=layout)
        assert isinstance(stream, av.AudioStream)
        for i in range(0, len(pcm), 1024):
            block = np.tile(pcm[i : i + 1024].astype(np.float32) / 32767, (channels, 1))
            if codec == "pcm_s16le":
                frame = av.AudioFrame.from_ndarray(
                    (block.T.reshape(1, -1) * 32767).astype(np.int16), format="s16", layout=layout
                )
            else:
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
            frame.sample_rate = FILE_RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return pcm


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def db(ratio: float) -> float:
    return 20 * float(np.log10(ratio))


def play(bed: MusicBed, frames: int, speaking: bool, speech: int = 0) -> np.ndarray:
    silence = np.full(SPF, speech, np.int16)
    return np.concatenate([bed.mix(silence, speaking) for _ in range(frames)])


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    path = tmp_path_factory.mktemp("music") / "chord.wav"
    return path, rms(write_music(path))


def bed(path: Path, level_db: float = -18.0, duck_db: float = -12.0) -> MusicBed:
    return MusicBed(path, RATE, SPF, level_db=level_db, duck_db=duck_db, ramp_s=0.3)


def test_level_under_silence_and_ducked_under_speech(music: tuple[Path, float]) -> None:
    path, own = music
    b = bed(path)
    idle = play(b, 2 * FPS, speaking=False)
    assert abs(db(rms(idle[RATE // 2 :]) / own) - -18.0) < 0.3
    ducked = play(b, 2 * FPS, speaking=True)
    assert abs(db(rms(ducked[RATE // 2 :]) / own) - -30.0) < 0.3  # past the 0.3 s ramp
    back = play(b, 2 * FPS, speaking=False)
    assert abs(db(rms(back[RATE // 2 :]) / own) - -18.0) < 0.3


def test_speech_rides_on_top_and_saturates_instead_of_wrapping(music: tuple[Path, float]) -> None:
    b = bed(music[0], level_db=0.0, duck_db=0.0)
    loud = play(b, FPS, speaking=True, speech=30000)
    assert loud.dtype == np.int16 and len(loud) == FPS * SPF
    assert loud.min() > 0, "speech + music wrapped around instead of clipping"
    assert loud.max() == 32767


def test_duck_ramps_smoothly_over_ramp_s_and_back(music: tuple[Path, float]) -> None:
    """The ducked bed divided by an unducked twin is the gain itself, sample by sample."""
    path, _ = music
    ducked, plain = bed(path, level_db=0.0), bed(path, level_db=0.0, duck_db=0.0)
    plan = [(False, 10), (True, FPS), (False, FPS)]  # idle 0.4 s, speak 1 s, idle 1 s
    out = np.concatenate([play(ducked, n, s) for s, n in plan]).astype(np.float64)
    ref = np.concatenate([play(plain, n, s) for s, n in plan]).astype(np.float64)
    valid = np.abs(ref) > 2000
    gain_db = np.full(len(out), np.nan)
    gain_db[valid] = 20 * np.log10(np.abs(out[valid]) / np.abs(ref[valid]))

    t = np.arange(len(out)) / RATE
    start, stop = 10 / FPS, 10 / FPS + 1.0
    ideal = np.where(
        t < stop,
        -np.clip((t - start) / 0.3, 0, 1) * 12.0,
        -12.0 + np.clip((t - stop) / 0.3, 0, 1) * 12.0,
    )
    error = np.abs(gain_db[valid] - ideal[valid])
    assert error.max() < 0.1, f"gain strays {error.max():.3f} dB from a 0.3 s linear-dB ramp"
    # int16 rounding alone moves the measured gain by up to ~0.02 dB from sample to sample;
    # a per-frame gain step (zipper) would jump by over a decibel
    at = np.flatnonzero(valid)  # measured samples, with gaps near the chord's zero crossings
    per_sample = np.abs(np.diff(gain_db[at])) / np.diff(at)
    assert per_sample.max() < 0.05, f"gain jumps {per_sample.max():.3f} dB/sample (zipper)"


def test_loop_point_has_no_discontinuity(music: tuple[Path, float]) -> None:
    path, _ = music
    pcm = chord().astype(np.int64)
    typical = int(np.abs(np.diff(pcm)).max())
    assert abs(pcm[-1] - pcm[0]) > 5 * typical, "the chord must click if looped naively"

    out = play(bed(path, level_db=0.0), 4 * FPS, speaking=False).astype(np.int64)  # 4 s, 2 loops
    steps = np.abs(np.diff(out))
    assert steps.max() <= typical * FILE_RATE / RATE * 1.05 + 2  # finer grid, smaller steps
    assert rms(out[int(1.9 * RATE) : int(2.0 * RATE)]) > 0.8 * rms(out[:RATE])  # no dip


def test_reads_compressed_stereo(tmp_path: Path) -> None:
    path = tmp_path / "chord.m4a"
    own = rms(write_music(path, codec="aac", layout="stereo"))
    idle = play(bed(path), 2 * FPS, speaking=False)
    assert abs(db(rms(idle[RATE // 2 :]) / own) - -18.0) < 1.0  # stereo averaged, not summed


def test_bad_files_fail_at_construction_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp3"
    with pytest.raises(HostError, match=re.escape(str(missing))):
        bed(missing)

    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(b"this is not music" * 100)
    with pytest.raises(HostError, match=re.escape(str(garbage))):
        bed(garbage)

    silent_video = tmp_path / "video.mp4"
    with av.open(str(silent_video), "w") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(HostError, match=re.escape(f"{silent_video} has no audio track")):
        bed(silent_video)


def test_idle_parts_of_a_real_mp4_carry_the_music(
    music: tuple[Path, float], tmp_path: Path
) -> None:
    """Idle → a spoken segment → idle, through Director and Program into an MP4 (fast mode)."""
    path, own = music
    settings = Settings(_env_file=None, width=360, height=640)  # type: ignore[call-arg]
    tone = (np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE) * 8000).astype(np.int16)
    audio, poses = assemble([SpeechChunk(tone, RATE)], RATE, FPS)
    segment = Segment(audio=audio, poses=poses, overlay=Overlay(caption="Hello"))
    director = Director(
        IllustratedAnimator(settings.width, settings.height, FPS),
        NoProduct(),
        RATE,
        FPS,
        fast=True,
        busy=lambda: False,
        music=bed(path),
    )
    out = tmp_path / "music.mp4"
    program = Program(settings, [mp4_sink(out)], ProgramClock())
    total = 20 + segment.frames + 25  # QueueAt starts the segment at frame 20
    stats = asyncio.run(program.run(QueueAt(director, segment), total / FPS))
    assert stats.frames == total

    with av.open(str(out)) as container:
        sound = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)]) * 32767
    before = sound[int(0.2 * RATE) : 20 * SPF]
    after = sound[-int(0.5 * RATE) :]  # past the 0.3 s release
    for idle in (before, after):
        assert abs(db(rms(idle) / own) - -18.0) < 1.5, db(rms(idle) / own)
