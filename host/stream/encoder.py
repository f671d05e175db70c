"""One H.264 + AAC encode of the program, shared by every sink.

Encoding once and muxing the same packets into each container keeps the CPU cost flat as
sinks are added, and makes the recording, the preview and the platform push identical.
Timestamps come only from the program frame index (video pts = index at 1/fps, audio pts =
index * samples_per_frame at 1/audio_rate), so audio and video cannot drift apart.

The encoders live as streams of a `null` container: sinks copy their parameters (size,
profile, SPS/PPS, AudioSpecificConfig) with `add_stream_from_template`, which wants a
stream, not a bare codec context.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
import cv2
import numpy as np
from av.audio.stream import AudioStream
from av.codec.context import Flags
from av.video.stream import VideoStream

from host.config import Settings

MediaKind = Literal["video", "audio"]
KEYFRAME_SECONDS = 2
AAC_CODER = "fast"


@dataclass(frozen=True)
class EncodedPacket:
    kind: MediaKind
    packet: av.Packet


class Encoder:
    def __init__(self, settings: Settings) -> None:
        if settings.audio_rate % settings.fps:
            raise ValueError(
                f"audio_rate {settings.audio_rate} is not a whole number of samples per frame"
                f" at {settings.fps} fps"
            )
        self.fps = settings.fps
        self.width, self.height = settings.width, settings.height
        self.audio_rate = settings.audio_rate
        self.samples_per_frame = settings.audio_rate // settings.fps
        self._templates = av.open("program", "w", format="null")
        self.video: VideoStream = self._templates.add_stream("libx264", rate=self.fps)
        video = self.video.codec_context
        video.width, video.height, video.pix_fmt = self.width, self.height, "yuv420p"
        video.time_base = Fraction(1, self.fps)
        bitrate = settings.stream_video_bitrate
        video.bit_rate = bitrate
        video.gop_size = KEYFRAME_SECONDS * self.fps
        video.max_b_frames = 0
        video.profile = "Main"
        video.thread_count = settings.x264_threads
        video.options = {
            "preset": settings.x264_preset,
            "tune": "zerolatency",
            "keyint_min": str(KEYFRAME_SECONDS * self.fps),
            "sc_threshold": "0",  # keyframes on the 2 s grid only, so segments cut evenly
            # CBR as ingests ask for it: a 1 s buffer, padded so the rate never dips
            "maxrate": str(bitrate),
            "minrate": str(bitrate),
            "bufsize": str(bitrate),
            "x264-params": "nal-hrd=cbr",
        }
        video.flags |= Flags.global_header
        self.audio: AudioStream = self._templates.add_stream(
            "aac", rate=self.audio_rate, layout="stereo"
        )
        self.audio.codec_context.bit_rate = settings.audio_bitrate
        # FFmpeg's default "twoloop" coder costs ~1 ms of CPU per program frame of speech;
        # "fast" a third of that, at a higher SNR on Piper speech (bench/encode_settings.py)
        self.audio.codec_context.options = {"aac_coder": AAC_CODER}
        self.audio.codec_context.flags |= Flags.global_header
        self._templates.start_encoding()  # opens both encoders; their extradata is now known
        self._audio_frame = self.audio.codec_context.frame_size
        self._pending = np.zeros((2, 0), np.float32)
        self._next_index = 0

    def encode(self, index: int, image: np.ndarray, audio: np.ndarray) -> list[EncodedPacket]:
        """Encode program frame `index` (RGB uint8 image, int16 mono audio), in index order."""
        return self.encode_video(self.video_frame(index, image)) + self.encode_audio(index, audio)

    def video_frame(self, index: int, image: np.ndarray) -> av.VideoFrame:
        """The RGB image as the encoder's YUV 4:2:0 frame, stamped with its index.

        Separate from `encode_video` so the stage profile (bench/profile_stages.py) can
        time colour conversion and compression apart.
        """
        if index != self._next_index:
            raise ValueError(f"frame {index} encoded out of order; expected {self._next_index}")
        self._next_index += 1
        frame = av.VideoFrame.from_ndarray(self.to_yuv(image), format="yuv420p")
        frame.pts, frame.time_base, frame.duration = index, Fraction(1, self.fps), 1
        return frame

    @staticmethod
    def to_yuv(image: np.ndarray) -> np.ndarray:
        """RGB (h, w, 3) as planar YUV 4:2:0, (h * 3 / 2, w): Y, then U, then V."""
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)

    def encode_video(self, frame: av.VideoFrame) -> list[EncodedPacket]:
        return self._wrap("video", self.video.codec_context.encode(frame))

    def encode_audio(self, index: int, audio: np.ndarray) -> list[EncodedPacket]:
        """Frame `index`'s samples, buffered into whole AAC frames stamped by sample count."""
        samples = audio.astype(np.float32) / 32768.0
        self._pending = np.concatenate([self._pending, np.stack([samples, samples])], axis=1)
        first = (index + 1) * self.samples_per_frame - self._pending.shape[1]
        packets: list[EncodedPacket] = []
        while self._pending.shape[1] >= self._audio_frame:
            chunk, self._pending = np.split(self._pending, [self._audio_frame], axis=1)
            packets += self._encode_audio(chunk, first)
            first += self._audio_frame
        return packets

    def flush(self) -> list[EncodedPacket]:
        """Drain both encoders (the last, short audio frame included); call once at the end."""
        packets = self._wrap("video", self.video.codec_context.encode(None))
        if self._pending.shape[1]:
            first = self._next_index * self.samples_per_frame - self._pending.shape[1]
            packets += self._encode_audio(self._pending, first)
            self._pending = np.zeros((2, 0), np.float32)
        packets += self._wrap("audio", self.audio.codec_context.encode(None))
        return packets

    def close(self) -> None:
        self._templates.close()

    def _encode_audio(self, chunk: np.ndarray, pts: int) -> list[EncodedPacket]:
        planar = np.ascontiguousarray(chunk)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = self.audio_rate, pts
        frame.time_base = Fraction(1, self.audio_rate)
        return self._wrap("audio", self.audio.codec_context.encode(frame))

    @staticmethod
    def _wrap(kind: MediaKind, packets: list[av.Packet]) -> list[EncodedPacket]:
        return [EncodedPacket(kind, packet) for packet in packets]
