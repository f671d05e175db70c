"""Voice profiles from real media: the reference is clean speech, 6-15 s, at a standard level."""

from __future__ import annotations

import json
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from host.commands.voice import voice_app
from host.config import Settings
from host.voice.clone import (
    MAX_SECONDS,
    MIN_SECONDS,
    PEAK_CEILING_DBFS,
    REFERENCE_RATE,
    TARGET_RMS_DBFS,
    VoiceProfileError,
    create_voice,
    list_voices,
    load_voice,
    pick_reference,
)
from host.voice.espeak import Espeak

RATE = 22_050
SHORT_PART = ["Hello there."]
LONG_PART = [
    "Welcome to the stream, everybody.",
    "Today we have the lightweight down jacket in three colours.",
    "It packs into its own pocket and weighs almost nothing.",
    "The price today is three hundred ninety nine yuan.",
    "We still have plenty in stock, so take your time.",
    "Ask me anything about the sizes in the comments.",
]
CONSENT = "Lily Chen agreed on 2024-05-01 to clone her voice for the shop's streams (form 17)."


def speech(sentences: list[str], gap_s: float = 0.3, level_dbfs: float = -26.0) -> np.ndarray:
    """Real espeak speech, sentences joined by short pauses, at a chosen speech level."""
    espeak = Espeak()
    pieces = []
    for text in sentences:
        pcm = np.concatenate([c.pcm for c in espeak.synthesize(text, "en")]).astype(np.float64)
        pieces += [pcm / 32768, np.zeros(int(gap_s * RATE))]
    joined = np.concatenate(pieces[:-1])
    rms = np.sqrt(np.mean(joined[np.abs(joined) > 0.01] ** 2))
    return joined * 10 ** (level_dbfs / 20) / rms


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE))


def recording(parts: list[np.ndarray], noise_dbfs: float = -55.0) -> np.ndarray:
    """The parts in a row over a steady noise floor, as a room recording has."""
    signal = np.concatenate(parts)
    noise = np.random.default_rng(7).normal(0, 10 ** (noise_dbfs / 20), len(signal))
    return np.clip(signal + noise, -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def room_take() -> np.ndarray:
    """2 s of room tone, a short phrase, 3 s of room tone, ~20 s of talk, 2 s of room tone."""
    return recording([silence(2), speech(SHORT_PART), silence(3), speech(LONG_PART), silence(2)])


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    stereo = np.repeat(np.round(samples * 32767).astype("<i2")[:, None], 2, axis=1)
    with wave.open(str(path), "wb") as file:
        file.setnchannels(2)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(stereo.tobytes())
    return path


def write_mp4(path: Path, samples: np.ndarray | None, seconds: float = 2.0) -> Path:
    """An H.264 video with (or without) an AAC track of `samples` resampled to 48 kHz."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        audio = container.add_stream("aac", rate=48000) if samples is not None else None
        duration = len(samples) / RATE if samples is not None else seconds
        for index in range(int(duration * 25)):
            image = np.full((64, 64, 3), index % 255, dtype=np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(video.encode(None))
        if audio is not None and samples is not None:
            frame = av.AudioFrame.from_ndarray(
                samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = RATE
            frame.time_base = Fraction(1, RATE)
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
            for piece in [*resampler.resample(frame), *resampler.resample(None)]:
                for offset in range(0, piece.samples, 1024):
                    part = av.AudioFrame.from_ndarray(
                        piece.to_ndarray()[:, offset : offset + 1024],
                        format="fltp",
                        layout="stereo",
                    )
                    part.sample_rate = 48000
                    container.mux(audio.encode(part))
            container.mux(audio.encode(None))
    return path


def read_reference(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as file:
        assert file.getnchannels() == 1 and file.getframerate() == REFERENCE_RATE
        return np.frombuffer(file.readframes(file.getnframes()), "<i2") / 32768


def assert_clean_reference(samples: np.ndarray) -> None:
    """6-15 s, speech at the target level, peaks under the ceiling, silence trimmed at both ends."""
    assert MIN_SECONDS <= len(samples) / REFERENCE_RATE <= MAX_SECONDS
    assert np.abs(samples).max() <= 10 ** (PEAK_CEILING_DBFS / 20) + 1e-3
    frames = samples[: len(samples) // 441 * 441].reshape(-1, 441)
    level = 20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-9)
    loud = level > level.max() - 30
    speech_rms = 20 * np.log10(np.sqrt((frames[loud] ** 2).mean()))
    assert abs(speech_rms - TARGET_RMS_DBFS) < 2.0 or np.abs(samples).max() > 0.85, speech_rms
    first, last = np.flatnonzero(loud)[[0, -1]]
    assert first * 0.02 < 0.3, "leading silence was trimmed"
    assert (len(loud) - 1 - last) * 0.02 < 0.3, "trailing silence was trimmed"


def test_reference_is_the_long_talk_trimmed_and_normalised(room_take: np.ndarray) -> None:
    clip = pick_reference(room_take, RATE)
    short_end = 2 + len(speech(SHORT_PART)) / RATE
    assert clip.start_s > short_end + 2.5, "the long part, not the phrase before the pause"
    assert_clean_reference(clip.samples)
    assert clip.speech_rms_dbfs == pytest.approx(TARGET_RMS_DBFS, abs=0.5)


def test_clipped_speech_is_avoided(room_take: np.ndarray) -> None:
    take = room_take.copy()
    start = int((2 + len(speech(SHORT_PART)) / RATE + 3) * RATE)
    clipped_until = start + 4 * RATE
    take[start:clipped_until] = np.clip(take[start:clipped_until] * 40, -1, 1)
    clip = pick_reference(take, RATE)
    assert clip.start_s >= clipped_until / RATE - 0.2
    assert_clean_reference(clip.samples)


def test_voice_create_from_wav_writes_reference_and_manifest(
    settings: Settings, room_take: np.ndarray, tmp_path: Path
) -> None:
    media = write_wav(tmp_path / "lily.wav", room_take, rate=44_100 // 2)
    profile = create_voice(settings, media, "lily", CONSENT)
    folder = settings.var_dir / "voices" / "lily"
    assert_clean_reference(read_reference(folder / "reference.wav"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["consent"] == CONSENT and manifest["name"] == "lily"
    assert manifest["source_file"] == "lily.wav" and len(manifest["source_sha256"]) == 64
    assert manifest["sample_rate"] == REFERENCE_RATE
    assert MIN_SECONDS <= manifest["duration_s"] <= MAX_SECONDS
    assert manifest["created_at"].endswith("+00:00")
    assert load_voice(settings, "lily") == profile
    assert [p.name for p in list_voices(settings)] == ["lily"]


def test_voice_create_from_mp4_with_a_video_track(
    settings: Settings, room_take: np.ndarray, tmp_path: Path
) -> None:
    media = write_mp4(tmp_path / "stream.mp4", room_take)
    profile = create_voice(settings, media, "lily-mp4", CONSENT)
    assert_clean_reference(read_reference(settings.var_dir / "voices/lily-mp4/reference.wav"))
    assert profile.source_start_s > 6.0


@pytest.mark.parametrize("consent", ["", "   "])
def test_no_profile_without_consent(
    settings: Settings, room_take: np.ndarray, tmp_path: Path, consent: str
) -> None:
    media = write_wav(tmp_path / "lily.wav", room_take)
    with pytest.raises(VoiceProfileError, match="consent record is required"):
        create_voice(settings, media, "lily", consent)
    assert not (settings.var_dir / "voices").exists()


def test_bad_media_is_refused_with_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    silent_video = write_mp4(tmp_path / "silent.mp4", None)
    with pytest.raises(VoiceProfileError, match="has no audio track"):
        create_voice(settings, silent_video, "a", CONSENT)
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video", encoding="utf-8")
    with pytest.raises(VoiceProfileError, match=r"cannot read junk\.mp4"):
        create_voice(settings, junk, "a", CONSENT)
    brief = write_wav(tmp_path / "brief.wav", recording([silence(1), speech(SHORT_PART * 2)]))
    with pytest.raises(VoiceProfileError, match=r"only \d\.\d s of speech"):
        create_voice(settings, brief, "a", CONSENT)
    with pytest.raises(VoiceProfileError, match="no such file"):
        create_voice(settings, tmp_path / "missing.wav", "a", CONSENT)
    with pytest.raises(VoiceProfileError, match="lowercase letters"):
        create_voice(settings, brief, "../escape", CONSENT)
    assert list_voices(settings) == []


def test_existing_profile_is_kept_unless_replaced(
    settings: Settings, room_take: np.ndarray, tmp_path: Path
) -> None:
    media = write_wav(tmp_path / "lily.wav", room_take)
    create_voice(settings, media, "lily", CONSENT)
    with pytest.raises(VoiceProfileError, match="already exists"):
        create_voice(settings, media, "lily", "someone else")
    assert load_voice(settings, "lily").consent == CONSENT
    assert create_voice(settings, media, "lily", "renewed", replace=True).consent == "renewed"
    assert [p.name for p in (settings.var_dir / "voices").iterdir()] == ["lily"]


def test_cli_creates_and_lists_and_fails_in_one_line(
    settings: Settings, room_take: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI reads .env from where it runs: never the developer's
    media = write_wav(tmp_path / "lily.wav", room_take)
    env = {"VAR_DIR": str(settings.var_dir)}
    runner = CliRunner()
    made = runner.invoke(
        voice_app,
        ["create", "--from-media", str(media), "--name", "lily", "--consent", CONSENT],
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "voice lily:" in made.output
    listed = runner.invoke(voice_app, ["list"], env=env)
    assert listed.exit_code == 0 and "lily" in listed.output and "(form 17)" in listed.output
    refused = runner.invoke(
        voice_app,
        ["create", "--from-media", str(media), "--name", "other", "--consent", ""],
        env=env,
    )
    assert refused.exit_code == 1
    assert "consent record is required" in refused.output
    assert "Traceback" not in refused.output
