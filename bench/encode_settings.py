"""x264 settings for the talking-head program: CPU, bitrate and quality on the same frames.

    .venv/bin/python bench/encode_settings.py                 # 250 frames (10 s)
    .venv/bin/python bench/encode_settings.py --frames 500

The frames are `bench/stream.py`'s session (the illustrated avatar speaking under every
overlay, the caption's highlight moving), composited once and kept as the encoder's YUV
input; each setting then encodes exactly those frames through `host.stream.encoder.Encoder`
(CBR at the program's bitrate, keyframes every 2 s, no B-frames, as on air). Printed per
setting: CPU per frame (`process_time`, so x264's own threads count), the bitrate that came
out, and the decoded pictures against the input: PSNR (luma and all planes, dB) and SSIM
(luma, every 5th frame). The first row is the settings the project shipped with.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

import av
import numpy as np
from machine import describe
from skimage.metrics import structural_similarity
from stream import TalkingWithOverlays

from host.config import Settings
from host.stream.encoder import Encoder
from host.stream.overlays import OverlayCompositor

SSIM_EVERY = 5


@dataclass(frozen=True)
class Variant:
    name: str
    preset: str
    threads: int  # 0: x264's choice


VARIANTS = (
    Variant("shipped: veryfast, threads auto", "veryfast", 0),
    Variant("veryfast, 1 thread", "veryfast", 1),
    Variant("superfast, 1 thread", "superfast", 1),
    Variant("ultrafast, 1 thread", "ultrafast", 1),
    Variant("faster, 1 thread", "faster", 1),
)


def program_frames(settings: Settings, frames: int) -> list[np.ndarray]:
    """The session's composited frames (RGB), as the program hands them to the encoder."""
    source = TalkingWithOverlays(settings)
    compositor = OverlayCompositor(settings)

    async def make() -> list[np.ndarray]:
        made = []
        for index in range(frames):
            frame = await source.next_frame(index)
            made.append(compositor.composite(frame.image, frame.overlay))
        return made

    return asyncio.run(make())


def measure(settings: Settings, images: list[np.ndarray], silence: np.ndarray) -> dict[str, float]:
    encoder = Encoder(settings)
    packets: list[av.Packet] = []
    cpu = 0.0
    for index, image in enumerate(images):
        frame = encoder.video_frame(index, image)  # conversion, not part of what is compared
        start = time.process_time()
        packets += [p.packet for p in encoder.encode_video(frame)]
        cpu += time.process_time() - start
        encoder.encode_audio(index, silence)
    start = time.process_time()
    packets += [p.packet for p in encoder.flush() if p.kind == "video"]
    cpu += time.process_time() - start
    decoder = av.CodecContext.create("h264", "r")
    decoder.extradata = encoder.video.codec_context.extradata  # SPS/PPS: a global header
    encoder.close()

    decoded = [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
    if len(decoded) != len(images):
        raise RuntimeError(f"{len(decoded)} frames decoded of {len(images)}")
    luma, planes, ssim = [], [], []
    for index, (picture, image) in enumerate(zip(decoded, images, strict=True)):
        reference = Encoder.to_yuv(image)
        got = picture.to_ndarray(format="yuv420p")
        y = settings.height
        luma.append(_mse(got[:y], reference[:y]))
        planes.append(_mse(got, reference))
        if index % SSIM_EVERY == 0:
            ssim.append(structural_similarity(got[:y], reference[:y], data_range=255))
    seconds = len(images) / settings.fps
    return {
        "cpu_ms": cpu * 1000 / len(images),
        "kbps": sum(p.size for p in packets) * 8 / seconds / 1000,
        "psnr_y": _psnr(float(np.mean(luma))),
        "psnr_yuv": _psnr(float(np.mean(planes))),
        "ssim_y": float(np.mean(ssim)),
    }


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))


def _psnr(mse: float) -> float:
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=250)
    args = parser.parse_args()
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {describe()}; load average {load} before the run")
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}; {base.width}x{base.height} {base.fps} fps,"
        f" {args.frames} frames, CBR {base.stream_video_bitrate // 1000} kb/s, zerolatency"
    )
    images = program_frames(base, args.frames)
    silence = np.zeros(base.audio_rate // base.fps, np.int16)
    header = ("CPU ms/frame", "kb/s", "PSNR Y", "PSNR YUV", "SSIM Y")
    print(f"{'setting':34} " + " ".join(f"{h:>12}" for h in header))
    for variant in VARIANTS:
        settings = base.model_copy(
            update={"x264_preset": variant.preset, "x264_threads": variant.threads}
        )
        row = measure(settings, images, silence)
        print(
            f"{variant.name:34} {row['cpu_ms']:12.2f} {row['kbps']:12.0f} {row['psnr_y']:12.2f}"
            f" {row['psnr_yuv']:12.2f} {row['ssim_y']:12.4f}"
        )


if __name__ == "__main__":
    main()
