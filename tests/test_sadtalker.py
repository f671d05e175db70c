"""The SadTalker backend against a fake checkout: protocol, loading, errors, fallback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from host.config import REPO_ROOT, Settings
from host.face.builtin import IllustratedAnimator
from host.face.mouth import mouth_track
from host.face.sadtalker import (
    WORKER,
    SadTalkerClient,
    SadTalkerError,
    SadTalkerFace,
    SadTalkerInstall,
    SadTalkerTimeout,
)

FAKE = REPO_ROOT / "tests" / "sadtalker_fake"
RATE = 16_000


def _checkpoints(folder: Path, content: str = '{"slowdown": 0.0}') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SadTalker_V0.0.2_256.safetensors").write_text(content)
    (folder / "mapping_00229-model.pth.tar").write_bytes(b"")
    return folder


def _wav(path: Path, seconds: float = 0.4) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    pcm = (np.sin(2 * np.pi * 3 * t).clip(0) * np.sin(2 * np.pi * 180 * t) * 20_000).astype(
        np.int16
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return path


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "avatar.png"
    Image.fromarray(np.full((96, 96, 3), 180, np.uint8)).save(path)
    return path


@pytest.fixture
def install(tmp_path: Path) -> SadTalkerInstall:
    return SadTalkerInstall(FAKE, _checkpoints(tmp_path / "ckpt"), sys.executable)


def _loads(install: SadTalkerInstall) -> list[str]:
    log = install.checkpoints / "loads.log"
    return log.read_text().split() if log.exists() else []


def test_missing_checkpoint_is_named_before_any_process_starts(
    install: SadTalkerInstall,
) -> None:
    (install.checkpoints / "mapping_00229-model.pth.tar").unlink()
    client = SadTalkerClient(install)
    with pytest.raises(
        SadTalkerError, match=r"checkpoint missing: .*mapping_00229-model\.pth\.tar"
    ):
        client.start()
    assert client.starts == 0 and not client.alive


def test_without_safetensors_the_old_checkpoints_are_required(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    install = SadTalkerInstall(FAKE, folder, sys.executable)
    with pytest.raises(SadTalkerError, match=r"auido2pose_00140-model\.pth"):
        install.check()


def test_incomplete_checkout_names_the_missing_face_detector(
    tmp_path: Path, install: SadTalkerInstall
) -> None:
    checkout = tmp_path / "SadTalker"
    shutil.copytree(FAKE, checkout)
    (checkout / "gfpgan/weights/detection_Resnet50_Final.pth").unlink()
    with pytest.raises(SadTalkerError, match=r"file missing: .*detection_Resnet50_Final\.pth"):
        SadTalkerInstall(checkout, install.checkpoints, sys.executable).check()


def test_settings_without_a_checkout_say_how_to_configure(settings: Settings) -> None:
    with pytest.raises(SadTalkerError, match="SADTALKER_DIR"):
        SadTalkerClient.from_settings(settings)


def test_settings_point_the_client_at_checkout_and_default_checkpoints(
    settings: Settings,
) -> None:
    configured = settings.model_copy(update={"sadtalker_dir": FAKE, "sadtalker_timeout_s": 7.0})
    client = SadTalkerClient.from_settings(configured)
    assert client.install.checkpoints == FAKE.resolve() / "checkpoints"
    assert client.timeout_s == 7.0


def test_worker_loads_models_once_and_renders_each_clip(
    tmp_path: Path, install: SadTalkerInstall, image: Path
) -> None:
    with SadTalkerClient(install) as client:
        clips = [
            client.render(_wav(tmp_path / f"a{k}.wav", 0.4 + 0.2 * k), image, tmp_path / f"{k}.mp4")
            for k in range(3)
        ]
        assert client.starts == 1
    assert len(_loads(install)) == 3 and len(set(_loads(install))) == 1  # 3 models, 1 process
    for k, clip in enumerate(clips):
        assert clip.video.is_file()
        assert clip.duration == pytest.approx((10, 15, 20)[k] / 25)
        assert clip.seconds > 0
    assert client.speed is not None and client.speed < 1.0
    assert client.faster_than_realtime


def test_stdout_carries_only_protocol_lines_though_sadtalker_prints(
    tmp_path: Path, install: SadTalkerInstall, image: Path
) -> None:
    audio = _wav(tmp_path / "hello.wav")
    requests = [
        "not json\n",
        json.dumps(
            {"id": 9, "audio": str(audio), "image": str(image), "out": str(tmp_path / "o.mp4")}
        )
        + "\n",
    ]
    done = subprocess.run(
        [
            sys.executable,
            str(WORKER),
            "--checkout",
            str(FAKE),
            "--checkpoints",
            str(install.checkpoints),
        ],
        input="".join(requests),
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["ready"] is True
    assert lines[1]["ok"] is False and "JSONDecodeError" in lines[1]["error"]
    assert lines[2] == {
        "id": 9,
        "ok": True,
        "video": str(tmp_path / "o.mp4"),
        "seconds": lines[2]["seconds"],
    }
    assert "3DMM Extraction" in done.stderr
    assert done.returncode == 0


def test_unreadable_checkpoint_reports_load_failed(tmp_path: Path, image: Path) -> None:
    install = SadTalkerInstall(FAKE, _checkpoints(tmp_path / "bad", "\x00garbage"), sys.executable)
    client = SadTalkerClient(install)
    with pytest.raises(SadTalkerError, match="load failed: JSONDecodeError"):
        client.start()
    assert not client.alive


def test_a_failed_clip_is_reported_and_the_worker_keeps_serving(
    tmp_path: Path, install: SadTalkerInstall, image: Path
) -> None:
    with SadTalkerClient(install) as client:
        with pytest.raises(SadTalkerError, match=r"could not render .*bad\.wav: ValueError"):
            client.render(_wav(tmp_path / "bad.wav"), image, tmp_path / "bad.mp4")
        with pytest.raises(SadTalkerError, match="FileNotFoundError"):
            client.render(tmp_path / "absent.wav", image, tmp_path / "x.mp4")
        client.render(_wav(tmp_path / "fine.wav"), image, tmp_path / "fine.mp4")
        assert client.starts == 1


def test_a_stuck_clip_times_out_and_the_next_clip_restarts_the_worker(
    tmp_path: Path, install: SadTalkerInstall, image: Path
) -> None:
    with SadTalkerClient(install, timeout_s=1.0) as client:
        started = time.monotonic()
        with pytest.raises(SadTalkerTimeout, match="took over 1 s"):
            client.render(_wav(tmp_path / "sleep.wav"), image, tmp_path / "s.mp4")
        assert time.monotonic() - started < 5 and not client.alive
        client.render(_wav(tmp_path / "next.wav"), image, tmp_path / "n.mp4")
        assert client.starts == 2


def test_a_crashed_worker_is_reported_and_restarted(
    tmp_path: Path, install: SadTalkerInstall, image: Path
) -> None:
    with SadTalkerClient(install) as client:
        with pytest.raises(SadTalkerError, match="died \\(exit code 3\\)"):
            client.render(_wav(tmp_path / "crash.wav"), image, tmp_path / "c.mp4")
        clip = client.render(_wav(tmp_path / "after.wav"), image, tmp_path / "a.mp4")
        assert clip.video.is_file() and client.starts == 2
    assert len(set(_loads(install))) == 2


def test_a_slow_worker_is_not_faster_than_realtime(tmp_path: Path, image: Path) -> None:
    install = SadTalkerInstall(
        FAKE, _checkpoints(tmp_path / "slow", '{"slowdown": 1.5}'), sys.executable
    )
    with SadTalkerClient(install) as client:
        assert client.speed is None and not client.faster_than_realtime
        client.render(_wav(tmp_path / "x.wav", 0.4), image, tmp_path / "x.mp4")
        assert client.speed is not None and client.speed > 1.0
        assert not client.faster_than_realtime


@pytest.fixture(scope="module")
def builtin() -> IllustratedAnimator:
    return IllustratedAnimator(256, 448)


def _poses(audio: Path) -> list:
    with wave.open(str(audio)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    return mouth_track(pcm, RATE, 25)


def test_live_replies_use_the_builtin_animator_while_sadtalker_is_slow(
    tmp_path: Path, image: Path, builtin: IllustratedAnimator
) -> None:
    install = SadTalkerInstall(
        FAKE, _checkpoints(tmp_path / "slow", '{"slowdown": 1.5}'), sys.executable
    )
    with SadTalkerClient(install) as client:
        face = SadTalkerFace(client, builtin, image, tmp_path / "clips")
        audio = _wav(tmp_path / "reply.wav")
        poses = _poses(audio)
        assert face.plan(audio, live=True) == "builtin"  # speed not measured yet: play safe
        client.render(_wav(tmp_path / "probe.wav"), image, tmp_path / "probe.mp4")
        assert face.plan(audio, live=True) == "builtin"
        frames = list(face.speak_audio(audio, poses, 50, live=True))
        expected = list(builtin.speak(poses, 50))
        assert all(np.array_equal(a, b) for a, b in zip(frames, expected, strict=True))
        assert face.plan(audio, live=False) == "render"


def test_prerendered_clips_play_on_the_audio_clock(
    tmp_path: Path, install: SadTalkerInstall, image: Path, builtin: IllustratedAnimator
) -> None:
    with SadTalkerClient(install) as client:
        face = SadTalkerFace(client, builtin, image, tmp_path / "clips")
        pitch = _wav(tmp_path / "pitch.wav", 0.6)
        clip = face.prerender(pitch)
        assert clip is not None and clip == face.cached_clip(pitch)
        assert face.plan(pitch, live=True) == "cached"
        assert face.plan(_wav(tmp_path / "reply.wav"), live=True) == "render"  # measured fast
        poses = _poses(pitch) + _poses(pitch)[:3]  # program asks for 3 frames more than the clip
        frames = list(face.speak_audio(pitch, poses, 0, live=True))
    assert len(frames) == len(poses) == 18
    assert all(f.shape == (448, 256, 3) and f.dtype == np.uint8 for f in frames)
    assert np.array_equal(frames[-1], frames[-4])  # the last clip frame holds
    assert frames[0][:50].max() == 0  # a square clip in a portrait picture: black bars
    assert not np.array_equal(frames[0], builtin.speak(poses[:1], 0).__next__())


def test_speech_clips_are_keyed_like_audio_files_and_skip_the_disk_when_builtin(
    tmp_path: Path, install: SadTalkerInstall, image: Path, builtin: IllustratedAnimator
) -> None:
    with wave.open(str(_wav(tmp_path / "line.wav"))) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    with SadTalkerClient(install) as client:
        face = SadTalkerFace(client, builtin, image, tmp_path / "clips")
        assert face.clip_for_speech(pcm, RATE, live=True) is None  # speed not measured yet
        assert not face.cache_dir.exists()  # the built-in animator needs nothing on disk
        clip = face.clip_for_speech(pcm, RATE, live=False)
        assert clip is not None and clip.is_file()
        assert clip == face.cached_clip(tmp_path / "line.wav")  # same speech, same clip
        rendered = clip.stat().st_mtime_ns
        assert face.clip_for_speech(pcm, RATE, live=True) == clip
        assert clip.stat().st_mtime_ns == rendered  # played from the cache, not rendered again


@pytest.mark.parametrize("name", ["bad.wav", "sleep.wav", "crash.wav"])
def test_sadtalker_failures_fall_back_to_the_builtin_animator(
    tmp_path: Path, install: SadTalkerInstall, image: Path, builtin: IllustratedAnimator, name: str
) -> None:
    with SadTalkerClient(install, timeout_s=1.0) as client:
        face = SadTalkerFace(client, builtin, image, tmp_path / "clips")
        audio = _wav(tmp_path / name)
        poses = _poses(audio)
        frames = list(face.speak_audio(audio, poses, 10, live=False))
        expected = list(builtin.speak(poses, 10))
    assert all(np.array_equal(a, b) for a, b in zip(frames, expected, strict=True))
    assert len(face.fallbacks) == 1 and not face.cached_clip(audio).exists()


def test_a_missing_install_falls_back_too(
    tmp_path: Path, install: SadTalkerInstall, image: Path, builtin: IllustratedAnimator
) -> None:
    (install.checkpoints / "SadTalker_V0.0.2_256.safetensors").unlink()
    face = SadTalkerFace(SadTalkerClient(install), builtin, image, tmp_path / "clips")
    audio = _wav(tmp_path / "line.wav")
    assert len(list(face.speak_audio(audio, _poses(audio), 0, live=False))) == 10
    assert "auido2pose_00140-model.pth" in face.fallbacks[0]
