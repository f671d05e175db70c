"""Product photos: copied into the project's media store at import, never read from elsewhere.

A catalog names its photos by path, and a path can name anything: `/etc/shadow`, a FIFO
that blocks whoever opens it, a 60,000 x 60,000 PNG. So a photo is read once, at import,
only from the catalog's own folder (an uploaded catalog has none: its photos must already
be in the store), checked (a regular file, a size cap, a pixel cap before decoding),
decoded once, scaled down and re-encoded (PNG with transparency, JPEG otherwise) into
`VAR_DIR/media/<sha256>.<ext>`. The catalog keeps only that reference, and the product card
shows only files the reference names inside the store.

A photo that cannot be used does not stop the import: a merchant would rather go live with
right prices and no picture than not at all. The row imports without its photo and the
import report carries a warning naming the row.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tempfile
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from host.config import Settings

PHOTO_SIDE = 1024  # stored photos are scaled to fit this square: the card shows ~660x220 at most
_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}
_REF = re.compile(r"^media/([0-9a-f]{64}\.(?:png|jpg))$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


class PhotoError(Exception):
    """Why a photo cell was not used; shown to the merchant as a warning on its row."""


def media_dir(settings: Settings) -> Path:
    return settings.var_dir / "media"


def stored_photo(media_root: Path, ref: str) -> Path | None:
    """The file a catalog's photo reference names inside the store, or None for anything else."""
    match = _REF.match(ref)
    if match is None:
        return None
    path = media_root / match.group(1)
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
    except OSError:
        return None
    return path


class MediaStore:
    """The folder of re-encoded product photos, named by the hash of their content."""

    def __init__(self, root: Path, max_bytes: int, max_pixels: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    def ingest(self, cell: str, photos_from: Path | None, *, write: bool) -> str:
        """The store reference for the photo `cell` names; PhotoError says why there is none.

        `photos_from` is the folder relative names are read from (the catalog file's own);
        None for an upload, whose cells may only name photos already in the store.
        `write=False` (a dry run) checks and names the photo without storing it.
        """
        if stored_photo(self.root, cell) is not None:
            return cell
        if _URL.match(cell):
            raise PhotoError("a web address; photos are not downloaded, name a file instead")
        if photos_from is None:
            raise PhotoError("an uploaded catalog can only name photos already in the store")
        relative = Path(cell)
        if relative.is_absolute():
            raise PhotoError("an absolute path; name a file in the catalog's folder")
        folder = photos_from.resolve()
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder):
            raise PhotoError("outside the catalog's folder")
        data = self._read(path)
        encoded, suffix = self._reencode(data)
        name = f"{hashlib.sha256(encoded).hexdigest()}.{suffix}"
        if write:
            self._store(name, encoded)
        return f"media/{name}"

    def _read(self, path: Path) -> bytes:
        """The file's bytes, if it is a regular file within the size cap (a FIFO never blocks)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        except OSError as exc:
            raise PhotoError(f"cannot open {path.name}: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise PhotoError(f"{path.name} is not a regular file")
            if info.st_size > self.max_bytes:
                raise PhotoError(f"{path.name} is larger than {self.max_bytes} bytes")
            return handle.read(self.max_bytes + 1)[: self.max_bytes]

    def _reencode(self, data: bytes) -> tuple[bytes, str]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as source:
                    if source.format not in _FORMATS:
                        raise PhotoError(f"not a photo format the card takes ({source.format})")
                    width, height = source.size
                    if width * height > self.max_pixels:
                        raise PhotoError(
                            f"{width}x{height} pixels; at most {self.max_pixels}"
                            " (CATALOG_MAX_PHOTO_PIXELS)"
                        )
                    source.draft("RGB", (PHOTO_SIDE, PHOTO_SIDE))  # JPEG: decode at size
                    image = source.convert("RGBA")
        except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
            raise PhotoError("not an image") from exc
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise PhotoError(f"a damaged image: {exc}") from exc
        image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
        out = io.BytesIO()
        if image.getchannel("A").getextrema() != (255, 255):  # some transparency: keep it
            image.save(out, "PNG", optimize=True)
            return out.getvalue(), "png"
        image.convert("RGB").save(out, "JPEG", quality=88)
        return out.getvalue(), "jpg"

    def _store(self, name: str, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        if target.exists():
            return
        fd, temp = tempfile.mkstemp(dir=self.root, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
