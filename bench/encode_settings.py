"""x264 settings for the talking-head program: CPU, bitrate and quality on the same frames.

    .venv/bin/python bench/encode_settings.py                 # 250 frames (10 s)
    .venv/bin/python bench/encode_settings.py --frames 500
    .venv/bin/python bench/encode_settings.py --photo     # a detailed photo behind the host

The frames are `bench/stream.py`'s session (the illustrated avatar speaking under every
overlay, the caption's highlight moving), composited once and kept as the encoder's YUV
input; each setting then encodes exactly those frames through `host.stream.encoder.Encoder`
(CBR at the program's bitrate, keyframes every 2 s, no B-frames, as on air). Printed per
setting: CPU per frame (`process_time`, so x264's own threads count), the bitrate that came
out, and the decoded pictures against the input: PSNR (luma and all planes, dB) and SSIM
(luma, every 5th frame). The first row is the settings the project had before issue 20.
Then the AAC coders on a Piper sentence: CPU per program frame and SNR of the decoded
audio (SNR is not loudness-weighted: "twoloop" shapes its noise by a psychoacoustic model,
so its lower SNR is not by itself worse sound).

The illustrated studio is flat colour, easy for any setting at the program's bitrate;
`--photo` lays a detailed photograph (scikit-image's astronaut, public domain) half
transparent over every frame, as a photo or loop-video avatar's studio would look, to see
which settings lose detail first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np
from machine import describe
from skimage.data import astronaut
from skimage.metrics import structural_similarity
from stream import TalkingWithOverlays

from host.config import Settings
from host.stream.encoder import AAC_CODER, Encoder
from host.stream.overlays import OverlayCompositor
from host.voice.piper import Piper
from host.voice.resample import resample

SSIM_EVERY = 5


@dataclass(frozen=True)
class Variant:
    name: str
    preset: str
    threads: int  # 0: x264's choice


VARIANTS = (
    Variant("before: veryfast, threads auto", "veryfast", 0),
    Variant("veryfast, 1 thread", "veryfast", 1),
    Variant("default: superfast, 1 thread", "superfast", 1),
    Variant("ultrafast, 1 thread", "ultrafast", 1),
    Variant("faster, 1 thread", "faster", 1),
)


def program_frames(settings: Settings, frames: int, photo: bool) -> list[np.ndarray]:
    """The session's composited frames (RGB), as the program hands them to the encoder."""
    source = TalkingWithOverlays(settings)
    compositor = OverlayCompositor(settings)
    detail = None
    if photo:
        picture = cv2.resize(astronaut(), (settings.width, settings.height))
        detail = picture.astype(np.uint16)

    async def make() -> list[np.ndarray]:
        made = []
        for index in range(frames):
            frame = await source.next_frame(index)
            image = compositor.composite(frame.image, frame.overlay)
            if detail is not None:
                image = ((image + detail) >> 1).astype(np.uint8)
            made.append(image)
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
    parser.add_argument("--photo", action="store_true", help="a detailed photo in every frame")
    args = parser.parse_args()
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {describe()}; load average {load} before the run")
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}; {base.width}x{base.height} {base.fps} fps,"
        f" {args.frames} frames{' with a photo' if args.photo else ''},"
        f" CBR {base.stream_video_bitrate // 1000} kb/s, zerolatency"
    )
    images = program_frames(base, args.frames, args.photo)
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
    voice = speech(base)
    print(
        f"AAC {base.audio_bitrate // 1000} kb/s stereo,"
        f" {len(voice) / base.audio_rate:.1f} s of Piper speech"
    )
    for coder in ("twoloop", "fast"):
        cpu_ms, snr = aac(coder, voice, base)
        default = " (default)" if coder == AAC_CODER else ""
        print(f"aac_coder={coder}{default}: {cpu_ms:.2f} ms CPU per frame, SNR {snr:.1f} dB")


def aac(coder: str, speech: np.ndarray, settings: Settings) -> tuple[float, float]:
    """CPU ms per program frame and SNR (dB) of `speech` (float, program rate) through AAC."""
    rate, size = settings.audio_rate, 1024
    encoder = av.CodecContext.create("aac", "w")
    encoder.sample_rate, encoder.layout, encoder.format = rate, "stereo", "fltp"
    encoder.bit_rate = settings.audio_bitrate
    encoder.options = {"aac_coder": coder}
    encoder.open()
    packets = []
    start = time.process_time()
    for at in range(0, len(speech), size):
        chunk = np.ascontiguousarray(np.stack([speech[at : at + size]] * 2))
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    cpu_ms = (time.process_time() - start) * 1000 / (len(speech) / (rate // settings.fps))
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = encoder.extradata
    decoded = np.concatenate([f.to_ndarray()[0] for p in packets for f in decoder.decode(p)])
    decoded = decoded[size : size + len(speech)]  # the encoder's priming frame first
    error = decoded - speech[: len(decoded)]
    return cpu_ms, 10 * float(np.log10(np.sum(speech[: len(decoded)] ** 2) / np.sum(error**2)))


def speech(settings: Settings) -> np.ndarray:
    """A Piper reply at the program rate, float, whole AAC frames long."""
    text = "Hi Lily, the jacket is three hundred ninety nine yuan today. Tap link one to order."
    pcm = np.concatenate(
        [c.pcm for c in Piper({"en": settings.piper_model_en}).synthesize(text, "en")]
    )
    audio = resample(pcm, 22050, settings.audio_rate).astype(np.float32) / 32768
    return audio[: len(audio) // 1024 * 1024]


if __name__ == "__main__":
    main()
