"""Voice profiles: a clean reference clip of a real streamer, kept with their consent.

A cloning model (XTTS) copies whatever it hears in the reference: room noise, long pauses,
clipping, a level far from its training data. So the clip is cut from the streamer's own
video or audio the way an engineer would: decoded to mono at the model's rate, silence
found against the recording's own noise floor, the best continuous 6-15 s picked (most
speech, no pause over 0.6 s, no clipped samples), then brought to a standard loudness.

A profile is a folder `var/voices/NAME/` with `reference.wav` and `manifest.json`; the
manifest carries the consent text, so no profile exists without one. It is written under
a temporary name and renamed into place, so a failure never leaves half a profile.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import wave
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import av
import numpy as np

from host.config import Settings
from host.errors import HostError
from host.likeness import check_request, load_stored, sha256_file

REFERENCE_RATE = 22_050  # XTTS's own rate: the reference is used without resampling
MIN_SECONDS = 6.0
MAX_SECONDS = 15.0
TARGET_RMS_DBFS = -20.0  # of the speech, not of the pauses
PEAK_CEILING_DBFS = -1.0
_FRAME_S = 0.02
_BRIDGE_S = 0.2  # dips shorter than this are inside a word, not silence
_MAX_PAUSE_S = 0.6  # a reference may pause between phrases, not longer
_PAD_S = 0.1  # breath of silence kept at each end of the clip
_CLIP_LEVEL = 0.995


class VoiceProfileError(HostError):
    """The media cannot give a usable reference, or the profile request is incomplete."""


@dataclass(frozen=True)
class VoiceProfile:
    """What `manifest.json` records about one profile."""

    name: str
    consent: str
    source_file: str
    source_sha256: str
    source_start_s: float
    source_end_s: float
    created_at: str
    duration_s: float
    sample_rate: int
    speech_rms_dbfs: float

    @staticmethod
    def folder(settings: Settings, name: str) -> Path:
        return settings.var_dir / "voices" / name

    @staticmethod
    def reference(settings: Settings, name: str) -> Path:
        return VoiceProfile.folder(settings, name) / "reference.wav"


@dataclass(frozen=True)
class Clip:
    """The chosen reference: normalised mono float samples and where they came from."""

    samples: np.ndarray
    start_s: float
    end_s: float
    speech_rms_dbfs: float


def create_voice(
    settings: Settings, media: Path, name: str, consent: str, *, replace: bool = False
) -> VoiceProfile:
    """Cut a reference clip from `media` and store it as profile `name` with its consent."""
    check_request("voice", name, consent, VoiceProfileError)
    folder = VoiceProfile.folder(settings, name)
    if folder.exists() and not replace:
        raise VoiceProfileError(f"voice {name!r} already exists (use --replace to overwrite it)")
    if not media.is_file():
        raise VoiceProfileError(f"no such file: {media}")
    clip = pick_reference(decode_mono(media, REFERENCE_RATE), REFERENCE_RATE, source=media.name)
    profile = VoiceProfile(
        name=name,
        consent=consent.strip(),
        source_file=media.name,
        source_sha256=sha256_file(media),
        source_start_s=round(clip.start_s, 3),
        source_end_s=round(clip.end_s, 3),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=round(len(clip.samples) / REFERENCE_RATE, 3),
        sample_rate=REFERENCE_RATE,
        speech_rms_dbfs=round(clip.speech_rms_dbfs, 2),
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}-"))
    try:
        _write_wav(staging / "reference.wav", clip.samples, REFERENCE_RATE)
        (staging / "manifest.json").write_text(
            json.dumps(asdict(profile), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return profile


def load_voice(settings: Settings, name: str) -> VoiceProfile:
    """Profile `name`, checked to have its consent record and reference clip."""
    folder = VoiceProfile.folder(settings, name)
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        profile = VoiceProfile(**data)
    except FileNotFoundError:
        raise VoiceProfileError(f"no voice profile {name!r} (host voice list)") from None
    except (ValueError, TypeError) as error:
        raise VoiceProfileError(f"voice profile {name!r} has a broken manifest: {error}") from None
    if not profile.consent.strip():
        raise VoiceProfileError(f"voice profile {name!r} has no consent record")
    if not (folder / "reference.wav").is_file():
        raise VoiceProfileError(f"voice profile {name!r} lost its reference.wav")
    return profile


def list_voices(settings: Settings) -> list[VoiceProfile]:
    """Every stored profile, by name; folders without a readable manifest are skipped."""
    return load_stored(
        settings.var_dir / "voices", partial(load_voice, settings), VoiceProfileError
    )


def decode_mono(media: Path, rate: int) -> np.ndarray:
    """The first audio track of any file FFmpeg reads, as mono float32 in [-1, 1] at `rate`."""
    try:
        container = av.open(str(media))
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise VoiceProfileError(f"cannot read {media.name}: not a media file ({error})") from None
    with container:
        if not container.streams.audio:
            raise VoiceProfileError(f"{media.name} has no audio track")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        pieces: list[np.ndarray] = []
        try:
            for frame in container.decode(container.streams.audio[0]):
                pieces += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        except av.FFmpegError as error:
            raise VoiceProfileError(f"cannot decode the audio of {media.name}: {error}") from None
        pieces += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    if not pieces:
        raise VoiceProfileError(f"{media.name} has an empty audio track")
    return np.clip(np.concatenate(pieces).astype(np.float32), -1.0, 1.0)


def pick_reference(samples: np.ndarray, rate: int, *, source: str = "the media") -> Clip:
    """The best continuous 6-15 s of speech in `samples`, trimmed and loudness-normalised."""
    frame = round(rate * _FRAME_S)
    count = len(samples) // frame
    if count == 0:
        raise VoiceProfileError(f"{source} has no audio")
    frames = samples[: count * frame].reshape(count, frame).astype(np.float64)
    level = 20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-9)
    clipped = (np.abs(frames) >= _CLIP_LEVEL).sum(axis=1) >= 2
    active = _speech_frames(level)
    speech_s = active.sum() * _FRAME_S
    if speech_s < MIN_SECONDS:
        raise VoiceProfileError(
            f"{source} has only {speech_s:.1f} s of speech; a reference needs at least "
            f"{MIN_SECONDS:.0f} s"
        )
    first, last = _best_window(_runs(active), clipped)
    pad = round(_PAD_S / _FRAME_S)
    start = max(0, first - pad)
    end = min(count, last + pad, start + round(MAX_SECONDS / _FRAME_S))
    clip = samples[start * frame : end * frame].astype(np.float64)
    speech = frames[first:last][active[first:last]]
    speech_rms = float(np.sqrt((speech**2).mean()))
    gain = 10 ** (TARGET_RMS_DBFS / 20) / speech_rms
    peak = float(np.abs(clip).max())
    gain = min(gain, 10 ** (PEAK_CEILING_DBFS / 20) / peak)
    return Clip(
        samples=(clip * gain).astype(np.float32),
        start_s=start * _FRAME_S,
        end_s=end * _FRAME_S,
        speech_rms_dbfs=20 * float(np.log10(speech_rms * gain)),
    )


def _speech_frames(level: np.ndarray) -> np.ndarray:
    """Frames louder than the recording's own noise floor, with in-word dips bridged.

    The threshold sits 12 dB above the quiet end of the recording, but never above 25 dB
    under its loud end, so an all-speech file still counts its speech.
    """
    floor, loud = np.percentile(level, 5), np.percentile(level, 95)
    threshold = max(-50.0, min(floor + 12.0, loud - 25.0))
    active = level > threshold
    bridge = round(_BRIDGE_S / _FRAME_S)
    for start, end in _gaps(active):
        if end - start <= bridge and start > 0 and end < len(active):
            active[start:end] = True
    for start, end in _runs(active):
        if end - start < bridge // 2:  # clicks and pops
            active[start:end] = False
    return active


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
    return list(zip(starts, ends, strict=True))


def _gaps(mask: np.ndarray) -> list[tuple[int, int]]:
    return _runs(~mask)


def _best_window(runs: list[tuple[int, int]], clipped: np.ndarray) -> tuple[int, int]:
    """The span of whole speech runs with the most speech: 6-15 s, short pauses, no clipping."""
    shortest = round(MIN_SECONDS / _FRAME_S)
    longest = round(MAX_SECONDS / _FRAME_S) - 2 * round(_PAD_S / _FRAME_S)
    max_pause = round(_MAX_PAUSE_S / _FRAME_S)
    best: tuple[int, int, int] | None = None  # (speech frames, first, last)
    for i, (first, _) in enumerate(runs):
        speech = 0
        for j in range(i, len(runs)):
            start, end = runs[j]
            if end - first > longest or clipped[start:end].any():
                break
            if j > i and start - runs[j - 1][1] > max_pause:
                break
            speech += end - start
            if end - first >= shortest and (best is None or speech > best[0]):
                best = (speech, first, end)
    if best is None:
        raise VoiceProfileError(
            f"no continuous {MIN_SECONDS:.0f} s of speech without a pause over "
            f"{_MAX_PAUSE_S} s or clipping; record a cleaner, longer take"
        )
    return best[1], best[2]


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(pcm.tobytes())
