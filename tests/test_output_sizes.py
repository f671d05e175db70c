"""Every output size preset runs the whole program: avatar, overlays, one encode, MP4."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import av
import numpy as np
import pytest

from host.catalog.facts import ProductFacts
from host.config import OUTPUT_SIZES, OutputPreset, Settings
from host.face.builtin import IllustratedAnimator
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import ProgramClock
from host.stream.onair import OnAirComment
from host.stream.program import Program
from host.stream.sinks.mp4 import mp4_sink

PRODUCT = ProductFacts(
    sku="J1", name="轻羽绒服 Down jacket", price=Decimal("399"), currency="CNY", link=1
)
OVERLAY = Overlay(
    caption="欢迎来到直播间 Welcome!", comment=OnAirComment("Lily", "多少钱?"), product=PRODUCT
)


class AvatarWithOverlays:
    def __init__(self, settings: Settings) -> None:
        self.animator = IllustratedAnimator(settings.width, settings.height, settings.fps)
        self.silence = np.zeros(settings.audio_rate // settings.fps, np.int16)

    async def next_frame(self, index: int) -> ProgramFrame:
        return ProgramFrame(self.animator.idle(index), self.silence, OVERLAY)


def test_preset_sets_the_output_size_over_width_and_height() -> None:
    settings = Settings(_env_file=None, output_preset="landscape", width=100)  # type: ignore[call-arg]
    assert (settings.width, settings.height) == (1280, 720)
    assert Settings(_env_file=None).width == 720  # type: ignore[call-arg]


def test_1080p_sizes_stream_at_the_1080p_bitrate() -> None:
    hd = Settings(_env_file=None, output_preset="portrait-1080p")  # type: ignore[call-arg]
    sd = Settings(_env_file=None, output_preset="landscape")  # type: ignore[call-arg]
    assert hd.stream_video_bitrate == hd.video_bitrate_1080p > sd.stream_video_bitrate


@pytest.mark.parametrize("preset", sorted(OUTPUT_SIZES))
def test_program_runs_at_each_preset(preset: OutputPreset, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, output_preset=preset)  # type: ignore[call-arg]
    width, height = OUTPUT_SIZES[preset]
    path = tmp_path / "out.mp4"
    program = Program(settings, [mp4_sink(path)], ProgramClock())
    stats = asyncio.run(program.run(AvatarWithOverlays(settings), 0.4))
    assert stats.frames == 10 and not stats.sink_errors
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 10
    assert frames[0].shape == (height, width, 3)
    assert frames[-1].std() > 20  # a picture with content, not a flat frame
