"""`host avatar create`: one usable face, stored with its consent record, or a clear refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from host.commands.avatar import avatar_app
from host.config import Settings
from host.db.engine import make_sessionmaker
from host.db.migrate import migrated_engine
from host.db.models import Avatar
from host.face.avatars import AvatarError, create_avatar, load_avatar
from host.face.landmarks import FaceError
from host.face.photo import PhotoAnimator

CONSENT = "Eileen agreed on camera, 2024-05-01, release form 17"


def _png(path: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = migrated_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return _png(tmp_path / "eileen.png", data.astronaut())


def _avatar_rows(engine: Engine) -> list[Avatar]:
    with make_sessionmaker(engine)() as session:
        return list(session.scalars(select(Avatar)))


def test_photo_avatar_is_stored_with_manifest_consent_landmarks_and_a_row(
    settings: Settings, db: Engine, photo: Path
) -> None:
    avatar = create_avatar(settings, db, photo, "eileen", CONSENT)
    folder = settings.var_dir / "avatars" / "eileen"
    assert avatar.folder == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "landmarks.json",
        "manifest.json",
        "source.png",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["consent"] == CONSENT and manifest["kind"] == "photo"
    assert manifest["source_file"] == "eileen.png" and len(manifest["source_sha256"]) == 64
    assert manifest["source_time_s"] is None
    assert len(json.loads((folder / "landmarks.json").read_text())["points"]) == 478
    (row,) = _avatar_rows(db)
    assert (row.name, row.kind, row.path, row.consent) == ("eileen", "photo", str(folder), CONSENT)
    loaded = load_avatar(settings, "eileen")
    anim = PhotoAnimator.from_avatar(loaded, 512, 512)
    assert anim.idle(0).shape == (512, 512, 3)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_existing_avatar_is_kept_unless_replaced(
    settings: Settings, db: Engine, photo: Path
) -> None:
    create_avatar(settings, db, photo, "eileen", CONSENT)
    with pytest.raises(AvatarError, match="already exists"):
        create_avatar(settings, db, photo, "eileen", "someone else")
    create_avatar(settings, db, photo, "eileen", "renewed consent", replace=True)
    assert [r.consent for r in _avatar_rows(db)] == ["renewed consent"]
    assert load_avatar(settings, "eileen").manifest.consent == "renewed consent"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (lambda a: np.linspace(0, 255, a.size).reshape(a.shape).astype(np.uint8), "no face found"),
        (lambda a: (a * 0.05).astype(np.uint8), "too dark"),
        (lambda a: np.concatenate([a, a], axis=1), "2 faces found"),
        (lambda a: a[::4, ::4].copy(), "too small"),
    ],
    ids=["gradient", "dark", "two-people", "tiny"],
)
def test_unusable_photos_are_refused_and_nothing_is_stored(
    settings: Settings, db: Engine, tmp_path: Path, image, message: str
) -> None:
    media = _png(tmp_path / "bad.png", image(data.astronaut()))
    with pytest.raises(FaceError, match=message):
        create_avatar(settings, db, media, "bad", CONSENT)
    assert not (settings.var_dir / "avatars" / "bad").exists()
    assert _avatar_rows(db) == []


def test_no_consent_no_avatar(settings: Settings, db: Engine, photo: Path) -> None:
    with pytest.raises(AvatarError, match="consent record is required"):
        create_avatar(settings, db, photo, "eileen", "  ")
    assert not (settings.var_dir / "avatars").exists() and _avatar_rows(db) == []


def test_unreadable_media_is_refused(settings: Settings, db: Engine, tmp_path: Path) -> None:
    junk = tmp_path / "face.jpg"
    junk.write_bytes(b"\x00not an image at all" * 50)
    with pytest.raises(AvatarError, match=r"cannot read face\.jpg: not an image or a video"):
        create_avatar(settings, db, junk, "junk", CONSENT)
    with pytest.raises(AvatarError, match="no such file"):
        create_avatar(settings, db, tmp_path / "missing.png", "junk", CONSENT)


def test_video_gives_its_best_frame(settings: Settings, db: Engine, tmp_path: Path) -> None:
    """The first second is too dark; the face frame must come from the well-lit second."""
    face = data.astronaut()
    media = tmp_path / "take.mp4"
    with av.open(str(media), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 512, 512, "yuv420p"
        for i in range(20):
            frame = (face * (0.05 if i < 10 else 1.0)).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    avatar = create_avatar(settings, db, media, "take", CONSENT)
    assert avatar.manifest.source_time_s is not None and avatar.manifest.source_time_s >= 1.0
    assert avatar.image().mean() > 0.5 * face.mean()


def test_cli_creates_and_lists_and_fails_in_one_line(
    settings: Settings, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI reads .env from where it runs: never the developer's
    env = {"VAR_DIR": str(settings.var_dir), "DATABASE_URL": settings.database_url}
    runner = CliRunner()
    made = runner.invoke(
        avatar_app,
        ["create", "--from-media", str(photo), "--name", "eileen", "--consent", CONSENT],
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "avatar eileen (photo)" in made.output
    listed = runner.invoke(avatar_app, ["list"], env=env)
    assert listed.exit_code == 0 and "eileen" in listed.output and "form 17" in listed.output
    dark = _png(tmp_path / "dark.png", (data.astronaut() * 0.05).astype(np.uint8))
    refused = runner.invoke(
        avatar_app,
        ["create", "--from-media", str(dark), "--name", "dark", "--consent", CONSENT],
        env=env,
    )
    assert refused.exit_code == 1 and "too dark" in refused.output
    assert "Traceback" not in refused.output
    loop = runner.invoke(
        avatar_app,
        [
            "create",
            "--from-media",
            str(photo),
            "--name",
            "x",
            "--consent",
            CONSENT,
            "--kind",
            "gif",
        ],
        env=env,
    )
    assert loop.exit_code == 1 and "not one of photo, loop" in loop.output
