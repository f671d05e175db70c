"""An idle loop from a streamer's own video: the steadiest frontal stretch, made seamless.

A loop avatar keeps the real person's small movements (breathing, sway, the light) under
their own speaking mouth. The video is read twice: a first pass tracks the face mesh on every frame
and keeps a thumbnail, to choose the window whose frames all show one frontal face and
whose end looks most like its start; a second pass writes that window as the loop, with
its last half second crossfaded into the frames before its start, so the cut from the last
frame back to the first is an ordinary step of motion. Landmarks are stored per loop frame
(`landmarks.npz`), so playing the loop never runs the face mesh. A third pass keeps the
person's real mouths, from the whole video, beside it (`host.face.mouth_bank`,
`mouths.npz`) when their lips move in it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from host.face.landmarks import (
    MAX_ROLL_DEG,
    MAX_YAW_DEG,
    MIN_FACE_PX,
    NOSE_TIP,
    Face,
    FaceError,
    FaceMesh,
)
from host.face.mouth_bank import BANK, build_bank

LOOP_VIDEO = "loop.mp4"
LANDMARKS = "landmarks.npz"
INFO = "loop.json"
MAX_SIDE = 1280  # loop frames are stored no larger than this (long side)
CROSSFADE_S = 0.5
MIN_LOOP_S = 1.0
# Lossless: with lossy H.264 the noise of the loop's first (intra) frame differs from the
# last's, a visible pulse at the seam once every loop, for hours.
LOOP_CRF = 0
_MESH_SIDE = 640  # frames are tracked at most this large (long side): enough for the mesh
_THUMB = 32


@dataclass(frozen=True)
class LoopInfo:
    """What `build_loop` made: where the loop and its landmarks are, and where it came from."""

    video: Path
    landmarks: Path
    frames: int
    fps: float
    width: int
    height: int
    source_start_s: float  # where the chosen stretch begins in the source media
    crossfade_frames: int
    fingerprint: str  # of the source media and the request, so a rebuild can be skipped


def _fingerprint(media: Path, seconds: float) -> str:
    stat = media.stat()
    key = f"{media.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{seconds}|{MAX_SIDE}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _frames(media: Path) -> Iterator[np.ndarray]:
    """RGB frames of the media's first video stream, at most MAX_SIDE, even sizes (for H.264)."""
    try:
        container = av.open(str(media))
    except av.error.FFmpegError as exc:
        raise FaceError(f"cannot read {media.name} as a video ({exc.strerror})") from exc
    with container:
        if not container.streams.video:
            raise FaceError(f"{media.name} has no video stream")
        try:
            for frame in container.decode(video=0):
                scale = min(1.0, MAX_SIDE / max(frame.width, frame.height))
                w, h = round(frame.width * scale) // 2 * 2, round(frame.height * scale) // 2 * 2
                yield frame.to_ndarray(format="rgb24", width=w, height=h)
        except av.error.FFmpegError as exc:
            raise FaceError(f"{media.name} is damaged ({exc.strerror})") from exc


def _rate(media: Path) -> float:
    with av.open(str(media)) as container:
        rate = container.streams.video[0].average_rate
    return float(rate) if rate else 25.0


@dataclass
class _Track:
    """First-pass findings per source frame."""

    points: list[np.ndarray | None]
    thumbs: list[np.ndarray]
    size: tuple[int, int] = (0, 0)  # (width, height) of the frames as decoded


def _usable(face: Face) -> bool:
    return (
        face.box[3] >= MIN_FACE_PX
        and abs(face.yaw_deg) <= MAX_YAW_DEG
        and abs(face.roll_deg) <= MAX_ROLL_DEG
    )


def _track(media: Path) -> _Track:
    track = _Track([], [])
    with FaceMesh(static=False, max_faces=2) as mesh:
        for frame in _frames(media):
            scale = min(1.0, _MESH_SIDE / max(frame.shape[:2]))
            small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            faces = (
                [f.scaled(1 / scale) for f in mesh.faces(small)] if scale < 1 else mesh.faces(frame)
            )
            face = faces[0] if len(faces) == 1 else None
            if not track.points:
                track.size = frame.shape[1], frame.shape[0]
            track.points.append(face.points if face is not None and _usable(face) else None)
            thumb = cv2.resize(small, (_THUMB, _THUMB), interpolation=cv2.INTER_AREA)
            track.thumbs.append(thumb.astype(np.float32))
    if not track.points:
        raise FaceError(f"{media.name} has no frames")
    return track


def _choose(track: _Track, length: int, fade: int) -> int:
    """Start of the window of `length + fade` usable frames whose end best matches its start.

    Cost: how far the crossfaded frames are from the ones they fade into (picture and face
    position), plus how much the face jitters inside the window.
    """
    usable = np.array([p is not None for p in track.points])
    span = length + fade
    thumbs = np.stack(track.thumbs)
    nose = np.array([p[NOSE_TIP, :2] if p is not None else (np.nan, np.nan) for p in track.points])
    speed = np.r_[0.0, np.linalg.norm(np.diff(nose, axis=0), axis=1)]
    best, best_cost = -1, np.inf
    run = np.convolve(usable.astype(int), np.ones(span, int), mode="valid")
    for start in np.flatnonzero(run == span):
        head, tail = slice(start, start + fade), slice(start + length, start + span)
        picture = float(np.abs(thumbs[tail] - thumbs[head]).mean())
        place = float(np.linalg.norm(nose[tail] - nose[head], axis=1).mean())
        jitter = float(np.nanmean(speed[start + 1 : start + span]))
        cost = picture + place + 2 * jitter
        if cost < best_cost:
            best, best_cost = int(start), cost
    return best


def _longest_run(usable: list[bool]) -> int:
    best = current = 0
    for ok in usable:
        current = current + 1 if ok else 0
        best = max(best, current)
    return best


def load_info(out_dir: Path) -> LoopInfo | None:
    """The loop already built in `out_dir`, if its files are all there."""
    path = out_dir / INFO
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    info = LoopInfo(
        **{**data, "video": out_dir / data["video"], "landmarks": out_dir / data["landmarks"]}
    )
    return info if info.video.is_file() and info.landmarks.is_file() else None


def build_loop(media: Path, out_dir: Path, *, seconds: float = 8.0) -> LoopInfo:
    """Build (or reuse, when the same media was already looped here) the idle loop."""
    if not media.is_file():
        raise FaceError(f"no such file: {media}")
    fingerprint = _fingerprint(media, seconds)
    existing = load_info(out_dir)
    if existing is not None and existing.fingerprint == fingerprint:
        return existing
    track = _track(media)
    fps = _rate(media)
    fade = max(1, round(CROSSFADE_S * fps))
    longest = _longest_run([p is not None for p in track.points])
    length = min(round(seconds * fps), longest - fade)
    if length < MIN_LOOP_S * fps:
        raise FaceError(
            f"{media.name} has no steady stretch of {MIN_LOOP_S + CROSSFADE_S:g} s with exactly one"
            f" frontal face, at least {MIN_FACE_PX} px tall (longest: {longest / fps:.1f} s)"
        )
    start = _choose(track, length, fade)
    out_dir.mkdir(parents=True, exist_ok=True)
    points = _write_loop(media, out_dir / LOOP_VIDEO, track, start, length, fade, fps)
    np.savez_compressed(out_dir / LANDMARKS, points=points)
    bank = build_bank(_frames(media), track.points)
    if bank is not None:
        bank.save(out_dir / BANK)
    info = LoopInfo(
        video=out_dir / LOOP_VIDEO,
        landmarks=out_dir / LANDMARKS,
        frames=length,
        fps=fps,
        width=track.size[0],
        height=track.size[1],
        source_start_s=(start + fade) / fps,
        crossfade_frames=fade,
        fingerprint=fingerprint,
    )
    record = {**asdict(info), "video": LOOP_VIDEO, "landmarks": LANDMARKS}
    (out_dir / INFO).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return info


def _write_loop(
    media: Path, path: Path, track: _Track, start: int, length: int, fade: int, fps: float
) -> np.ndarray:
    """Encode loop frame i = source frame start+fade+i, the last `fade` ones blended into the
    `fade` frames just before the loop's first, ending on the one right before it, so the
    seam is a natural step of the footage; returns the landmarks per loop frame."""
    head: list[np.ndarray] = []
    points = np.zeros((length, *track.points[start].shape), np.float32)  # type: ignore[union-attr]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            "libx264", rate=round(fps), options={"crf": str(LOOP_CRF), "g": str(round(fps))}
        )
        stream.pix_fmt = "yuv420p"
        for k, frame in enumerate(_frames(media)):
            if k < start:
                continue
            if k < start + fade:
                head.append(frame)
                continue
            i = k - start - fade
            if i >= length:
                break
            pts = track.points[k]
            assert pts is not None
            if i >= length - fade:
                j = i - (length - fade)
                t = (j + 1) / fade  # the last loop frame is the one before the first
                frame = cv2.addWeighted(frame, 1 - t, head[j], t, 0.0)
                pts = (1 - t) * pts + t * track.points[start + j]  # type: ignore[operator]
            if i == 0:
                stream.width, stream.height = frame.shape[1], frame.shape[0]
            points[i] = pts
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return points
