"""SadTalker as a face backend: a persistent worker, and when the session should use it.

SadTalker renders a whole clip from an audio file and a face image, usually slower than
real time. So the models stay loaded in one worker process (`sadtalker_worker.py`, run by
the user's Python that has SadTalker's dependencies), its speed is measured on every clip,
and `SadTalkerFace` uses it for speech known ahead (pitches, FAQ answers, cached clips) and
for live replies only while the worker keeps up with real time. Any failure falls back to
the built-in animator, so the stream never waits on it.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import logging
import queue
import shutil
import subprocess
import threading
import time
import wave
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import av
import cv2
import numpy as np

from host.config import Settings
from host.errors import HostError
from host.face.base import Animator, MouthPose, Side

log = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("sadtalker_worker.py")
_CODE = (
    "src/utils/init_path.py",
    "src/utils/preprocess.py",
    "src/test_audio2coeff.py",
    "src/facerender/animate.py",
    "src/generate_batch.py",
    "src/generate_facerender_batch.py",
    "src/config/auido2pose.yaml",
    "src/config/auido2exp.yaml",
    "src/config/similarity_Lm3D_all.mat",
)
# facexlib downloads these when missing, which fails offline: check them up front
_FACE_DETECTORS = (
    "gfpgan/weights/alignment_WFLW_4HG.pth",
    "gfpgan/weights/detection_Resnet50_Final.pth",
)
_OLD_CHECKPOINTS = (
    "auido2pose_00140-model.pth",
    "auido2exp_00300-model.pth",
    "facevid2vid_00189-model.pth.tar",
    "epoch_20.pth",
)
_SPEED_WINDOW = 5  # clips in the running speed figure


class SadTalkerError(HostError):
    """SadTalker cannot be used: missing files, a failed load, a failed or stuck render."""


class SadTalkerTimeout(SadTalkerError):
    """The worker took longer than its limit; it was stopped and restarts on the next clip."""


@dataclass(frozen=True)
class SadTalkerInstall:
    """Where the user's SadTalker lives, checked to be complete before any process starts."""

    checkout: Path
    checkpoints: Path
    python: str
    size: int = 256
    preprocess: str = "crop"

    def required_files(self) -> list[Path]:
        """Every file SadTalker's loaders open, following its own `init_path` rules."""
        files = [self.checkout / rel for rel in _CODE + _FACE_DETECTORS]
        full = "full" in self.preprocess
        files.append(
            self.checkout / "src/config" / ("facerender_still.yaml" if full else "facerender.yaml")
        )
        if any(self.checkpoints.glob("*.safetensors")):
            files.append(self.checkpoints / f"SadTalker_V0.0.2_{self.size}.safetensors")
        else:
            files += [self.checkpoints / name for name in _OLD_CHECKPOINTS]
        mapping = "mapping_00109-model.pth.tar" if full else "mapping_00229-model.pth.tar"
        return [*files, self.checkpoints / mapping]

    def check(self) -> None:
        """Raise naming the first missing thing, so the user knows what to fetch or fix."""
        if shutil.which(self.python) is None:
            raise SadTalkerError(f"SadTalker Python not found: {self.python} (SADTALKER_PYTHON)")
        for folder, setting in (
            (self.checkout, "SADTALKER_DIR"),
            (self.checkpoints, "SADTALKER_CHECKPOINTS"),
        ):
            if not folder.is_dir():
                raise SadTalkerError(f"SadTalker folder missing: {folder} ({setting})")
        for path in self.required_files():
            if not path.is_file():
                kind = "checkpoint" if path.is_relative_to(self.checkpoints) else "file"
                raise SadTalkerError(f"SadTalker {kind} missing: {path}")

    @classmethod
    def from_settings(cls, settings: Settings) -> SadTalkerInstall:
        if settings.sadtalker_dir is None:
            raise SadTalkerError("SadTalker is not configured: set SADTALKER_DIR to its checkout")
        checkout = settings.sadtalker_dir.expanduser().resolve()
        checkpoints = settings.sadtalker_checkpoints or checkout / "checkpoints"
        return cls(
            checkout,
            checkpoints.expanduser().resolve(),
            settings.sadtalker_python,
            settings.sadtalker_size,
            settings.sadtalker_preprocess,
        )


@dataclass(frozen=True)
class Clip:
    """One rendered clip: where it is, how long it plays and how long it took."""

    video: Path
    duration: float  # seconds of video
    seconds: float  # seconds of compute in the worker


def _video_seconds(path: Path) -> float:
    """Playing time from the frames actually decoded, which also proves the file is readable."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
            rate = float(stream.average_rate or 25)
    except (av.error.FFmpegError, IndexError) as exc:
        raise SadTalkerError(f"SadTalker wrote an unreadable video: {path} ({exc})") from exc
    if frames == 0:
        raise SadTalkerError(f"SadTalker wrote a video with no frames: {path}")
    return frames / rate


class SadTalkerClient:
    """Drives one worker process: start and wait for ready, render with a time limit, restart."""

    def __init__(
        self,
        install: SadTalkerInstall,
        *,
        timeout_s: float = 120.0,
        load_timeout_s: float = 300.0,
        device: str = "auto",
    ) -> None:
        self.install, self.timeout_s, self.load_timeout_s, self.device = (
            install,
            timeout_s,
            load_timeout_s,
            device,
        )
        self.starts = 0
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=40)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._speeds: deque[tuple[float, float]] = deque(maxlen=_SPEED_WINDOW)

    @classmethod
    def from_settings(cls, settings: Settings) -> SadTalkerClient:
        return cls(
            SadTalkerInstall.from_settings(settings),
            timeout_s=settings.sadtalker_timeout_s,
            load_timeout_s=settings.sadtalker_load_timeout_s,
            device=settings.sadtalker_device,
        )

    def __enter__(self) -> SadTalkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def speed(self) -> float | None:
        """Seconds of compute per second of video over the last few clips; None before any."""
        if not self._speeds:
            return None
        return sum(s for s, _ in self._speeds) / sum(d for _, d in self._speeds)

    @property
    def faster_than_realtime(self) -> bool:
        speed = self.speed
        return speed is not None and speed < 1.0

    def _pump_stdout(self, stream: IO[str], lines: queue.Queue[dict[str, Any] | None]) -> None:
        for line in stream:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                self._stderr.append(line.rstrip())
                continue
            if isinstance(message, dict):
                lines.put(message)
        lines.put(None)

    def _pump_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line.rstrip())

    def _why(self) -> str:
        tail = [line for line in self._stderr if line.strip()]
        return tail[-1] if tail else "no output"

    def start(self) -> None:
        """Check the install, launch the worker and wait until its models are loaded."""
        self.install.check()
        self.close()
        cmd = [
            self.install.python,
            "-u",
            str(WORKER),
            "--checkout",
            str(self.install.checkout),
            "--checkpoints",
            str(self.install.checkpoints),
            "--size",
            str(self.install.size),
            "--preprocess",
            self.install.preprocess,
            "--device",
            self.device,
        ]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None and proc.stderr is not None
        self._proc, self._lines = proc, queue.Queue()
        self.starts += 1
        threading.Thread(
            target=self._pump_stdout, args=(proc.stdout, self._lines), daemon=True
        ).start()
        threading.Thread(target=self._pump_stderr, args=(proc.stderr,), daemon=True).start()
        try:
            message = self._lines.get(timeout=self.load_timeout_s)
        except queue.Empty:
            self.close()
            raise SadTalkerTimeout(
                f"SadTalker did not load its models within {self.load_timeout_s:g} s"
            ) from None
        if message is None or not message.get("ready"):
            self.close()
            reason = message.get("error") if message else f"worker exited: {self._why()}"
            raise SadTalkerError(f"SadTalker {reason}")
        log.info("SadTalker worker ready in %.1f s", message.get("load_seconds", 0.0))

    def render(self, audio: Path, image: Path, out: Path) -> Clip:
        """One clip of `image` speaking `audio`, written to `out`; restarts a dead worker first."""
        with self._lock:
            if not self.alive:
                self.start()
            proc = self._proc
            assert proc is not None and proc.stdin is not None
            request_id = next(self._ids)
            request = {"id": request_id, "audio": str(audio), "image": str(image), "out": str(out)}
            try:
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self.close()
                raise SadTalkerError(f"SadTalker worker is gone: {exc}") from exc
            deadline = time.monotonic() + self.timeout_s
            while True:
                try:
                    message = self._lines.get(timeout=max(deadline - time.monotonic(), 0.0))
                except queue.Empty:
                    self.close()
                    raise SadTalkerTimeout(
                        f"SadTalker took over {self.timeout_s:g} s on {audio}; worker stopped"
                    ) from None
                if message is None:
                    code = proc.wait()
                    raise SadTalkerError(
                        f"SadTalker worker died (exit code {code}) on {audio}: {self._why()}"
                    )
                if message.get("id") == request_id:
                    break
        if not message.get("ok"):
            raise SadTalkerError(f"SadTalker could not render {audio}: {message.get('error')}")
        clip = Clip(Path(message["video"]), _video_seconds(out), float(message["seconds"]))
        self._speeds.append((clip.seconds, clip.duration))
        return clip

    def close(self) -> None:
        """Stop the worker (a stuck render cannot be interrupted any other way)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def fit_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale a clip frame to fit the program picture, centred on black (aspect kept)."""
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - nw) // 2, (height - nh) // 2
    out[y : y + nh, x : x + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


def iter_clip_frames(video: Path, width: int, height: int, count: int) -> Iterator[np.ndarray]:
    """Exactly `count` program frames from a clip, decoded as they are needed: the last frame
    holds, extra frames drop, so the clip stays on the audio clock whatever length SadTalker
    rounded to."""
    last: np.ndarray | None = None
    produced = 0
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            last = fit_frame(frame.to_ndarray(format="rgb24"), width, height)
            yield last
            produced += 1
            if produced == count:
                return
    if last is None:
        raise SadTalkerError(f"SadTalker clip has no frames: {video}")
    for _ in range(count - produced):
        yield last


Plan = Literal["cached", "render", "builtin"]


class SadTalkerFace:
    """An `Animator` that speaks through SadTalker clips where that is safe, else built-in.

    `idle` and `speak` (poses only) are the built-in animator's. `speak_audio` knows the
    audio, so it can use a clip: a cached one (from `prerender`) always, a fresh render for
    speech not on the live path, and for live replies only while the worker is faster than
    real time. Errors and timeouts drop to the built-in animator for that utterance.
    """

    def __init__(
        self, client: SadTalkerClient, fallback: Animator, image: Path, cache_dir: Path
    ) -> None:
        self.client, self.fallback, self.image, self.cache_dir = client, fallback, image, cache_dir
        self.width, self.height = fallback.width, fallback.height
        self.fallbacks: list[str] = []
        # What besides the audio decides a clip: read once, not per sentence.
        install = client.install
        self._render_key = hashlib.sha256(image.read_bytes()).digest() + (
            f"{install.size}/{install.preprocess}".encode()
        )

    def close(self) -> None:
        """Stop the worker and release what the fallback holds (a loop video's decoder)."""
        self.client.close()
        close = getattr(self.fallback, "close", None)
        if close is not None:
            close()

    def idle(self, frame_index: int) -> np.ndarray:
        return self.fallback.idle(frame_index)

    def set_backdrop(self, image: np.ndarray) -> bool:
        return False  # SadTalker renders the person's own photo, background and all

    def speak(self, poses: Sequence[MouthPose], start_frame: int) -> Iterator[np.ndarray]:
        return self.fallback.speak(poses, start_frame)

    def present(self, side: Side | None, frame_index: int) -> None:
        self.fallback.present(side, frame_index)

    def _clip_path(self, wav: bytes) -> Path:
        """Where the clip for this WAV and avatar image lives (same speech, same clip)."""
        digest = hashlib.sha256(wav)
        digest.update(self._render_key)
        return self.cache_dir / f"{digest.hexdigest()[:24]}.mp4"

    def cached_clip(self, audio: Path) -> Path:
        return self._clip_path(audio.read_bytes())

    def _plan(self, clip: Path, *, live: bool) -> Plan:
        """A cached clip always plays; a render only off the live path or while the worker
        keeps up with real time (an unmeasured worker does not count as keeping up)."""
        if clip.is_file():
            return "cached"
        if not live or self.client.faster_than_realtime:
            return "render"
        return "builtin"

    def plan(self, audio: Path, *, live: bool) -> Plan:
        return self._plan(self.cached_clip(audio), live=live)

    def _render(self, audio: Path, clip: Path) -> Path | None:
        """Render `audio` into `clip` (via a partial file, so a failure leaves no clip);
        None when SadTalker failed, logged."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = clip.with_suffix(".part.mp4")
        try:
            self.client.render(audio, self.image, partial)
        except SadTalkerError as exc:
            self._fell_back(str(exc))
            return None
        partial.replace(clip)
        return clip

    def clip_for(self, audio: Path, *, live: bool) -> Path | None:
        """The clip to play for `audio` under the plan, rendering it now if the plan says so;
        None means the built-in animator speaks it."""
        clip = self.cached_clip(audio)
        plan = self._plan(clip, live=live)
        if plan != "render":
            return clip if plan == "cached" else None
        return self._render(audio, clip)

    def prerender(self, audio: Path) -> Path | None:
        """Render ahead (pitches, FAQ answers); None when SadTalker failed, logged."""
        return self.clip_for(audio, live=False)

    def speak_audio(
        self, audio: Path, poses: Sequence[MouthPose], start_frame: int, *, live: bool
    ) -> Iterator[np.ndarray]:
        """One frame per pose of `audio` spoken, from a SadTalker clip or the built-in animator."""
        clip = self.clip_for(audio, live=live)
        if clip is None:
            return self.fallback.speak(poses, start_frame)
        try:  # decoded now, so an unreadable clip falls back before any frame is played
            return iter(list(iter_clip_frames(clip, self.width, self.height, len(poses))))
        except (SadTalkerError, av.error.FFmpegError) as exc:
            self._fell_back(f"unreadable SadTalker clip {clip}: {exc}")
            return self.fallback.speak(poses, start_frame)

    def clip_for_speech(self, pcm: np.ndarray, rate: int, *, live: bool) -> Path | None:
        """A clip for this speech when the plan allows one, rendered now (call off-loop);
        None means the built-in animator speaks it. The WAV is built in memory and only
        written to disk when the worker has to read it."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
        wav = buffer.getvalue()
        clip = self._clip_path(wav)
        plan = self._plan(clip, live=live)
        if plan != "render":
            return clip if plan == "cached" else None
        audio = self.cache_dir / "speech" / f"{clip.stem}.wav"
        audio.parent.mkdir(parents=True, exist_ok=True)
        audio.write_bytes(wav)
        return self._render(audio, clip)

    def _fell_back(self, reason: str) -> None:
        log.warning("face falls back to the built-in animator: %s", reason)
        self.fallbacks.append(reason)
