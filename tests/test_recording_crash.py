"""A recording session killed with SIGKILL still leaves an MP4 that plays, sound included."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av

RECORDER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import numpy as np
    from host.config import Settings
    from host.face.builtin import IllustratedAnimator
    from host.stream.base import Overlay, ProgramFrame
    from host.stream.clock import WallClock
    from host.stream.program import Program
    from host.stream.sinks.mp4 import mp4_sink

    settings = Settings(_env_file=None, width=360, height=640)
    animator = IllustratedAnimator(settings.width, settings.height, settings.fps)
    spf = settings.audio_rate // settings.fps

    class Idle:
        async def next_frame(self, index):
            t = (np.arange(spf) + index * spf) / settings.audio_rate
            tone = (np.sin(2 * np.pi * 330 * t) * 6000).astype(np.int16)
            return ProgramFrame(animator.idle(index), tone, Overlay(caption="录制中 recording"))

    program = Program(settings, [mp4_sink(Path(sys.argv[1]))], WallClock())
    asyncio.run(program.run(Idle(), 600.0))
    """
)


def test_mp4_recording_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "session.mp4"
    process = subprocess.Popen([sys.executable, "-c", RECORDER, str(path)])
    try:
        deadline = time.monotonic() + 60
        # two keyframe intervals written: at least one complete fragment is on disk
        while not path.exists() or path.stat().st_size < 200_000:
            assert process.poll() is None, "the recorder exited on its own"
            assert time.monotonic() < deadline, "the recorder wrote too little"
            time.sleep(0.2)
        time.sleep(2.5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL

    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (360, 640)
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(path)) as container:
        sound = [frame.to_ndarray() for frame in container.decode(audio=0)]
    assert frames >= 50  # at least one whole 2 s fragment
    seconds_of_sound = sum(chunk.shape[1] for chunk in sound) / audio.codec_context.sample_rate
    assert abs(seconds_of_sound - frames / 25) < 0.1
    assert max(float(abs(chunk).max()) for chunk in sound) > 0.1  # the tone, not silence
