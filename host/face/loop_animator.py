"""The loop-video animator: the streamer's own idle loop, with the mouth and eyelids warped.

Frames are decoded in order from a copy of the loop at the program size (made once and kept
next to the loop), so memory stays at one frame however long the loop is; the program asks
for consecutive frames, and a jump or the wrap back to frame 0 seeks to the keyframe before
it. The cached landmarks of each loop frame give that frame's eyelid warps
(`host.face.mouth_warp`), built only for frames that blink, and where the person's real
mouths go (`host.face.mouth_bank`): a speaking frame wears the kept mouth nearest its pose,
an idle frame the most closed one wherever the loop's own mouth is open, so the host is
silent between lines even when the loop was cut from talking footage. A loop whose video
never opened its mouth has no kept mouths and is lip-synced by the warp a photo gets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from host.face.base import MouthPose, PosedAnimator
from host.face.blinks import eyelid_closure
from host.face.landmarks import Face, FaceError
from host.face.loop import LoopInfo, load_info
from host.face.mouth_bank import BANK, MouthBank, lip_gap_px
from host.face.mouth_warp import JAW_OPEN, FaceRig, animate, build_rig, move_jaw

# The program-size copy is decoded live, so it trades the master's losslessness for speed
# (lossless 720x1280 decodes at about 40 fps on one core); 10 keeps the seam's noise faint.
PROGRAM_CRF = 10
_OPEN_AT_REST = 0.08  # a loop frame whose own lips part more (of the range) gets a closed mouth
FACE_CENTRE_Y = 0.36  # where the face centre sits in the program frame, in heights, if it can


def _cover(info: LoopInfo, points: np.ndarray, width: int, height: int) -> np.ndarray:
    """The 2x3 affine that scales the loop to cover the program frame, face near the centre."""
    scale = max(width / info.width, height / info.height)
    cx, cy = points[:, :, 0].mean(), points[:, :, 1].mean()
    dx = float(np.clip(width / 2 - cx * scale, width - info.width * scale, 0.0))
    dy = float(np.clip(FACE_CENTRE_Y * height - cy * scale, height - info.height * scale, 0.0))
    return np.array([[scale, 0.0, dx], [0.0, scale, dy]], np.float64)


def _program_copy(info: LoopInfo, affine: np.ndarray, width: int, height: int) -> Path:
    """The loop re-encoded at the program size, made on first use."""
    path = info.video.with_name(f"loop_{width}x{height}.mp4")
    if path.is_file():
        return path
    partial = path.with_suffix(".part.mp4")
    rate = round(info.fps)
    with av.open(str(info.video)) as src, av.open(str(partial), "w", format="mp4") as dst:
        stream = dst.add_stream(
            "libx264",
            rate=rate,
            options={"crf": str(PROGRAM_CRF), "g": str(rate), "tune": "fastdecode"},
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for frame in src.decode(video=0):
            picture: np.ndarray = cv2.warpAffine(
                frame.to_ndarray(format="rgb24"), affine, (width, height), flags=cv2.INTER_AREA
            ).astype(np.uint8)
            dst.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        dst.mux(stream.encode())
    partial.replace(path)
    return path


class _LoopReader:
    """Frame k of a video, decoding forward; other jumps seek to the keyframe before k."""

    def __init__(self, path: Path, fps: float) -> None:
        self._container = av.open(str(path))
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "NONE"
        self._fps = fps
        self._frames: Iterator[av.VideoFrame] | None = None
        self._next = 0
        self._last: np.ndarray | None = None

    def _index(self, frame: av.VideoFrame) -> int:
        assert frame.pts is not None and frame.time_base is not None
        return round(float(frame.pts * frame.time_base) * self._fps)

    def frame(self, k: int) -> np.ndarray:
        if self._last is not None and k == self._next - 1:
            return self._last
        if self._frames is None or k != self._next:
            assert self._stream.time_base is not None
            self._container.seek(int(k / self._fps / self._stream.time_base), stream=self._stream)
            self._frames = self._container.decode(self._stream)
        for decoded in self._frames:
            if self._index(decoded) >= k:
                self._last = decoded.to_ndarray(format="rgb24")
                self._next = k + 1
                return self._last
        raise FaceError(f"loop video ends before frame {k}")

    def close(self) -> None:
        self._container.close()


class LoopAnimator(PosedAnimator):
    """`Animator` over a loop built by `host.face.loop.build_loop` in `loop_dir`."""

    def __init__(
        self, loop_dir: Path, width: int = 720, height: int = 1280, fps: int = 25, seed: int = 7
    ) -> None:
        info = load_info(loop_dir)
        if info is None:
            raise FaceError(
                f"no loop in {loop_dir}: build it with `host avatar create --kind loop`"
            )
        self.width, self.height, self.fps, self.seed = width, height, fps, seed
        self.info = info
        with np.load(info.landmarks) as stored:
            points = stored["points"].astype(np.float32)
        affine = _cover(info, points, width, height)
        scale = affine[0, 0]
        self._points = points * np.float32(scale) + np.array(
            [affine[0, 2], affine[1, 2], 0.0], np.float32
        )
        self._reader = _LoopReader(_program_copy(info, affine, width, height), info.fps)
        self.frames = info.frames
        self.bank = MouthBank.load(loop_dir / BANK)
        if self.bank is not None:
            self._placements = [self.bank.placement(p) for p in self._points]
            self._open = self.bank.norms.features(self._points)[:, 0] > _OPEN_AT_REST
            self._gaps = lip_gap_px(self._points)

    def face(self, frame_index: int) -> Face:
        """The landmarks at this program position, in program pixels."""
        return Face(self._points[frame_index % self.frames])

    def rig(self, frame_index: int) -> FaceRig:
        """The mouth and eyelid warps of the loop frame at this program position."""
        return build_rig(self.face(frame_index), (self.height, self.width, 3))

    def _render(self, frame_index: int, pose: MouthPose | None) -> np.ndarray:
        if self.bank is None:
            return self._warped(frame_index, pose)
        k = frame_index % self.frames
        return self.frame(frame_index, self.bank.rest if self._open[k] else None)

    def speak(self, poses: Sequence[MouthPose], start_frame: int) -> Iterator[np.ndarray]:
        if self.bank is None:
            yield from super().speak(poses, start_frame)
            return
        for i, mouth in enumerate(self.bank.choose(poses)):
            yield self.frame(start_frame + i, mouth)

    def _warped(self, frame_index: int, pose: MouthPose | None) -> np.ndarray:
        base = self._reader.frame(frame_index % self.frames)
        frame = base.copy()
        closure = eyelid_closure(frame_index, self.fps, self.seed)
        if closure > 0 or pose is not None:
            animate(frame, base, self.rig(frame_index), pose, closure)
        return frame

    def frame(self, frame_index: int, mouth: int | None, *, blend: bool = True) -> np.ndarray:
        """The loop frame at this position, blinking, wearing kept mouth `mouth` (None: the
        loop's own). The jaw is first moved to where the kept mouth's lower lip is, so the
        chin under it agrees with the mouth; `blend=False` stops there (what the mouth is
        blended into, for measuring the seam)."""
        if mouth is None or self.bank is None:
            return self._warped(frame_index, None)
        k = frame_index % self.frames
        base = self._reader.frame(k)
        frame = base.copy()
        rig = self.rig(frame_index)
        animate(frame, base, rig, None, eyelid_closure(frame_index, self.fps, self.seed))
        placement = self._placements[k]
        drop = self.bank.gap(mouth, placement) - float(self._gaps[k])
        move_jaw(frame, base, rig, drop / (JAW_OPEN * rig.mouth.width))
        if blend:
            self.bank.paste(frame, mouth, placement)
        return frame

    def mouth_weight(self, frame_index: int) -> np.ndarray:
        """Where a kept mouth is blended in at this position (0..1 per pixel; for measures)."""
        if self.bank is None:
            return np.zeros((self.height, self.width), np.float32)
        k = frame_index % self.frames
        return self.bank.footprint(self._placements[k], (self.height, self.width))

    def close(self) -> None:
        self._reader.close()
