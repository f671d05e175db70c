"""A content-addressed cache of synthesized sentences, on disk.

Pitches, greetings and FAQ answers repeat all night; replaying them from disk costs about a
millisecond instead of a TTS call (and a hosted API's bill). The key is a hash of everything
the audio depends on: backend, its voice or model identity, language and the normalised
text. Entries are written to a temporary file and renamed into place, so a crash leaves
either a whole entry or none; an entry that still fails to read is treated as a miss and
rewritten. The cache is bounded: past its size limit, the least recently used go first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from host.voice.base import MOUTH_SHAPES, SpeechChunk, Viseme, Voice

_LOGGER = logging.getLogger(__name__)
_FORMAT = "1"  # bump when the entry layout changes; old entries then simply miss


def cache_key(backend: str, identity: str, language: str, text: str) -> str:
    """The entry's name: sha256 over the fields, each length-prefixed so none can bleed."""
    digest = hashlib.sha256()
    for part in (_FORMAT, backend, identity, language, text):
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class AudioCache:
    """Sentences' chunks as `.npz` files under `root/ab/abcdef….npz`, at most `max_bytes` in all.

    The recency order lives in memory, seeded from the files' modification times the first
    time it is needed; a hit touches the file so the order survives a restart.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"cache size must be positive, got {max_bytes} bytes")
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Path, int] | None = None  # path -> size, oldest first

    def get(self, key: str) -> list[SpeechChunk] | None:
        """The chunks stored under `key`, or None (a miss, or an entry that cannot be read)."""
        path = self._path(key)
        try:
            chunks = _read(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as error:
            _LOGGER.warning("dropping unreadable TTS cache entry %s: %s", path.name, error)
            with self._lock:
                self._index().pop(path, None)
            path.unlink(missing_ok=True)
            return None
        with self._lock:
            entries = self._index()
            if path in entries:
                entries.move_to_end(path)
        os.utime(path)
        return chunks

    def put(self, key: str, chunks: Sequence[SpeechChunk]) -> None:
        """Store `chunks` under `key` atomically; evict the least recently used if over size."""
        if not chunks:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as file:
                _write(file, chunks)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        size = path.stat().st_size
        with self._lock:
            entries = self._index()
            entries[path] = size
            entries.move_to_end(path)
            self._evict(entries)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return sum(self._index().values())

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def _index(self) -> OrderedDict[Path, int]:
        if self._entries is None:
            found: list[tuple[float, Path, int]] = []
            for path in self.root.glob("*/*.npz"):
                if path.name.startswith(".tmp-"):
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                found.append((stat.st_mtime, path, stat.st_size))
            found.sort()
            self._entries = OrderedDict((path, size) for _, path, size in found)
        return self._entries

    def _evict(self, entries: OrderedDict[Path, int]) -> None:
        total = sum(entries.values())
        while total > self.max_bytes and len(entries) > 1:
            oldest, size = entries.popitem(last=False)
            oldest.unlink(missing_ok=True)
            total -= size


class CachedVoice:
    """A `Voice` that replays a sentence from the cache, or speaks it and then stores it.

    Only a sentence the backend finished is stored: a failure or a listener that stopped early
    leaves nothing behind. The wrapped backend's name and languages show through, so the
    router and its logs see the backend itself.
    """

    def __init__(self, voice: Voice, cache: AudioCache) -> None:
        self.voice = voice
        self.cache = cache
        self.name = voice.name
        self.languages = voice.languages
        self._identity = str(getattr(voice, "identity", ""))

    def warm(self) -> None:
        warm = getattr(self.voice, "warm", None)
        if callable(warm):
            warm()

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        key = cache_key(self.voice.name, self._identity, language, text)
        cached = self.cache.get(key)
        if cached is not None:
            yield from cached
            return
        spoken: list[SpeechChunk] = []
        for chunk in self.voice.synthesize(text, language):
            spoken.append(chunk)
            yield chunk
        self.cache.put(key, spoken)


def _write(file: object, chunks: Sequence[SpeechChunk]) -> None:
    rates = {chunk.sample_rate for chunk in chunks}
    if len(rates) != 1:
        raise ValueError(f"chunks of one sentence must share a sample rate, got {sorted(rates)}")
    visemes = [(i, v) for i, chunk in enumerate(chunks) for v in chunk.visemes]
    np.savez(
        file,  # type: ignore[arg-type]
        pcm=np.concatenate([chunk.pcm.astype(np.int16) for chunk in chunks]),
        lengths=np.array([len(chunk.pcm) for chunk in chunks], dtype=np.int64),
        sample_rate=np.array(rates.pop(), dtype=np.int64),
        viseme_chunk=np.array([i for i, _ in visemes], dtype=np.int64),
        viseme_times=np.array([(v.start, v.end) for _, v in visemes], dtype=np.float64).reshape(
            -1, 2
        ),
        viseme_shape=np.array([MOUTH_SHAPES.index(v.shape) for _, v in visemes], dtype=np.int8),
    )


def _read(path: Path) -> list[SpeechChunk]:
    with np.load(path, allow_pickle=False) as data:
        pcm = data["pcm"]
        lengths = data["lengths"]
        rate = int(data["sample_rate"])
        viseme_chunk = data["viseme_chunk"]
        viseme_times = data["viseme_times"]
        viseme_shape = data["viseme_shape"]
    if pcm.dtype != np.int16 or pcm.ndim != 1 or int(lengths.sum()) != len(pcm) or rate <= 0:
        raise ValueError("entry's audio does not match its own lengths")
    if not len(viseme_chunk) == len(viseme_times) == len(viseme_shape):
        raise ValueError("entry's viseme arrays disagree")
    per_chunk: list[list[Viseme]] = [[] for _ in lengths]
    for index, (start, end), shape in zip(viseme_chunk, viseme_times, viseme_shape, strict=True):
        per_chunk[int(index)].append(Viseme(float(start), float(end), MOUTH_SHAPES[int(shape)]))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return [
        SpeechChunk(pcm=pcm[offsets[i] : offsets[i + 1]].copy(), sample_rate=rate, visemes=tuple(v))
        for i, v in enumerate(per_chunk)
    ]
