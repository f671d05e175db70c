"""A streamer's face and voice are theirs: what avatars and voice profiles both check and
record before anything is made from a person's media."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from host.errors import HostError

T = TypeVar("T")

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_request(what: str, name: str, consent: str, error: type[HostError]) -> None:
    """Refuse before any work: no consent record, no likeness; names become folder names."""
    if not consent.strip():
        raise error(f"a consent record is required: --consent must state who agreed to the {what}")
    if not _NAME.match(name):
        raise error(f"{what} name {name!r} must be 1-64 lowercase letters, digits, '-' or '_'")


def sha256_file(path: Path) -> str:
    """The source media's fingerprint, kept with the consent record."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_stored(root: Path, load: Callable[[str], T], error: type[HostError]) -> list[T]:
    """Every folder under `root` that `load` accepts, by name: staging folders (dot-named)
    and ones that fail with `error` are skipped, so one broken record hides no others."""
    loaded = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            loaded.append(load(folder.name))
        except error:
            continue
    return loaded
