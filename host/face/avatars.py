"""Avatars cloned from a real person's photo or video, each kept with its consent record.

An avatar is a folder `var/avatars/NAME/`:
- `source.png`: the frame the face was taken from (the photo itself, or the best frame of a
  video: one usable frontal face, sharpest, best lit);
- `landmarks.json`: the face mesh of that frame (478 points, pixels), found once here so
  an animator never runs face detection on air;
- `manifest.json`: name, kind, consent text, source file name and sha256, creation time;
- for `loop` avatars, whatever `host.face.loop.build_loop` writes beside them.

The folder is built under a temporary name and renamed into place only once complete and
recorded in the `avatars` table, so a failure never leaves half an avatar, and no avatar
exists without a consent record.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal, get_args

import av
import cv2
import numpy as np
from sqlalchemy import Engine, select

from host.config import Settings
from host.db.engine import make_sessionmaker
from host.db.models import Avatar
from host.face.landmarks import Face, FaceError, FaceFinder, detect_faces, usable_face
from host.face.loop import build_loop
from host.likeness import check_request, load_stored, sha256_file

AvatarKind = Literal["photo", "loop"]
AVATAR_KINDS: tuple[AvatarKind, ...] = get_args(AvatarKind)
VIDEO_SAMPLES = 16  # frames of a video judged for the best face


class AvatarError(FaceError):
    """The avatar request is incomplete, or the media cannot give an avatar."""


@dataclass(frozen=True)
class AvatarManifest:
    """What `manifest.json` records about one avatar."""

    name: str
    kind: str
    consent: str
    source_file: str
    source_sha256: str
    source_time_s: float | None  # where in a video the face frame was taken; None for a photo
    width: int
    height: int
    created_at: str


@dataclass(frozen=True)
class StoredAvatar:
    """An avatar on disk, checked to be complete and to carry its consent."""

    manifest: AvatarManifest
    folder: Path

    def image(self) -> np.ndarray:
        """The face frame as RGB uint8."""
        image = _decode_image(self.folder / "source.png")
        if image is None:
            raise AvatarError("cannot read source.png as an image")
        return image

    def face(self) -> Face:
        data = json.loads((self.folder / "landmarks.json").read_text(encoding="utf-8"))
        return Face.from_json(data["points"])


def avatar_folder(settings: Settings, name: str) -> Path:
    return settings.var_dir / "avatars" / name


def _decode_image(path: Path) -> np.ndarray | None:
    """The file as an RGB uint8 image; None when it is not one (a video, say)."""
    data = np.fromfile(path, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _video_frames(media: Path, count: int) -> list[tuple[float, np.ndarray]]:
    """About `count` RGB frames spread evenly over the video, with their times in seconds."""
    try:
        container = av.open(str(media))
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise AvatarError(f"cannot read {media.name}: not an image or a video ({error})") from None
    with container:
        if not container.streams.video:
            raise AvatarError(f"{media.name} has no picture: not an image or a video")
        stream = container.streams.video[0]
        total = stream.frames or 0
        step = max(1, total // count) if total else 1
        frames: list[tuple[float, np.ndarray]] = []
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i % step == 0:
                    frames.append((float(frame.time or 0.0), frame.to_ndarray(format="rgb24")))
        except av.FFmpegError as error:
            if not frames:
                raise AvatarError(
                    f"cannot read {media.name}: not an image or a video ({error})"
                ) from None
    if not frames:
        raise AvatarError(f"{media.name} has no decodable frames")
    if len(frames) > count:
        keep = np.linspace(0, len(frames) - 1, count).round().astype(int)
        frames = [frames[i] for i in keep]
    return frames


def _sharpness(image: np.ndarray, face: Face) -> float:
    x, y, w, h = face.box
    gray = cv2.cvtColor(
        np.ascontiguousarray(image[max(y, 0) : y + h, max(x, 0) : x + w]), cv2.COLOR_RGB2GRAY
    )
    return float(cv2.Laplacian(gray, cv2.CV_64F).var()) if gray.size else 0.0


def best_face_frame(media: Path) -> tuple[np.ndarray, Face, float | None]:
    """(RGB frame, its face, time in the video or None) of the media's best usable face.

    A photo must have one usable face. A video is sampled; the frame kept is the most
    frontal and sharpest one whose single face passes every check. When no frame passes,
    the error is the one from the video's middle sample (the most typical).
    """
    image = _decode_image(media)
    if image is not None:
        return image, usable_face(image, detect_faces(image), media.name), None
    candidates: list[tuple[float, np.ndarray, Face, float]] = []
    errors: list[FaceError] = []
    frames = _video_frames(media, VIDEO_SAMPLES)
    with FaceFinder() as finder:
        for time_s, frame in frames:
            try:
                face = usable_face(frame, finder.faces(frame), f"{media.name} at {time_s:.1f} s")
            except FaceError as error:
                errors.append(error)
                continue
            turn = abs(face.yaw_deg) + abs(face.roll_deg)
            candidates.append((_sharpness(frame, face) / (1 + turn / 10), frame, face, time_s))
    if not candidates:
        raise errors[len(errors) // 2]
    _, frame, face, time_s = max(candidates, key=lambda c: c[0])
    return frame, face, round(time_s, 3)


def create_avatar(
    settings: Settings,
    engine: Engine,
    media: Path,
    name: str,
    consent: str,
    *,
    kind: str = "photo",
    replace: bool = False,
) -> StoredAvatar:
    """Build avatar `name` from a photo or video of the person, with their consent."""
    check_request("avatar", name, consent, AvatarError)
    if kind not in AVATAR_KINDS:
        raise AvatarError(f"avatar kind {kind!r} is not one of {', '.join(AVATAR_KINDS)}")
    folder = avatar_folder(settings, name)
    if folder.exists() and not replace:
        raise AvatarError(f"avatar {name!r} already exists (use --replace to overwrite it)")
    if not media.is_file():
        raise AvatarError(f"no such file: {media}")
    image, face, time_s = best_face_frame(media)
    manifest = AvatarManifest(
        name=name,
        kind=kind,
        consent=consent.strip(),
        source_file=media.name,
        source_sha256=sha256_file(media),
        source_time_s=time_s,
        width=image.shape[1],
        height=image.shape[0],
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}-"))
    try:
        if not cv2.imwrite(str(staging / "source.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise AvatarError(f"cannot write the avatar image under {folder.parent}")
        landmarks = {"points": face.to_json(), "yaw_deg": face.yaw_deg, "roll_deg": face.roll_deg}
        (staging / "landmarks.json").write_text(json.dumps(landmarks) + "\n", encoding="utf-8")
        if kind == "loop":
            build_loop(media, staging)
        (staging / "manifest.json").write_text(
            json.dumps(asdict(manifest), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        _record(engine, manifest, folder, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StoredAvatar(manifest, folder)


def _record(engine: Engine, manifest: AvatarManifest, folder: Path, staging: Path) -> None:
    """Row and folder appear together: the rename happens inside the row's transaction."""
    with make_sessionmaker(engine).begin() as db:
        row = db.scalars(select(Avatar).where(Avatar.name == manifest.name)).one_or_none()
        if row is None:
            row = Avatar(name=manifest.name, kind=manifest.kind, path=str(folder))
            db.add(row)
        row.kind, row.path, row.consent = manifest.kind, str(folder), manifest.consent
        db.flush()
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)


def load_avatar(settings: Settings, name: str) -> StoredAvatar:
    """Avatar `name`, checked to have its consent record, face frame and landmarks."""
    folder = avatar_folder(settings, name)
    try:
        manifest = AvatarManifest(
            **json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        )
    except FileNotFoundError:
        raise AvatarError(f"no avatar {name!r} (host avatar list)") from None
    except (ValueError, TypeError) as error:
        raise AvatarError(f"avatar {name!r} has a broken manifest: {error}") from None
    if not manifest.consent.strip():
        raise AvatarError(f"avatar {name!r} has no consent record")
    for part in ("source.png", "landmarks.json"):
        if not (folder / part).is_file():
            raise AvatarError(f"avatar {name!r} lost its {part}")
    return StoredAvatar(manifest, folder)


def list_avatars(settings: Settings) -> list[StoredAvatar]:
    """Every stored avatar, by name; folders that do not load are skipped."""
    return load_stored(settings.var_dir / "avatars", partial(load_avatar, settings), AvatarError)
