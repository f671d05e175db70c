"""A long-lived SadTalker process: load the models once, then render one clip per request.

SadTalker spends seconds loading its networks and face detectors, so a process per clip
would pay that on every reply. This script runs under the user's own Python (the one with
SadTalker's dependencies: torch, facexlib, ...), not livehost's, so it imports only the
standard library and the SadTalker checkout, and keeps to syntax Python 3.8 accepts.

Protocol, one JSON object per line. On stdout the worker first writes
`{"ready": true, "load_seconds": S}` or `{"ready": false, "error": "load failed: ..."}`,
then answers each stdin request `{"id", "audio", "image", "out"}` with
`{"id", "ok": true, "video": out, "seconds": S}` or `{"id", "ok": false, "error": "..."}`.
SadTalker prints progress freely, so file descriptor 1 is pointed at stderr and the
protocol goes through a private copy of the original stdout.

    python sadtalker_worker.py --checkout DIR --checkpoints DIR [--size 256] [--preprocess crop]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from typing import IO, Any

# Run as a file, this folder heads sys.path, where host/face's own modules could shadow the
# standard library for SadTalker's imports; the worker needs nothing from it.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]


def _protocol_stream() -> IO[str]:
    """Keep the real stdout for protocol lines; everything else printed goes to stderr."""
    sys.stdout.flush()
    private = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return private


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


class Renderer:
    """SadTalker's three models, loaded once, and the per-image preprocessing they reuse."""

    def __init__(self, checkout: str, checkpoints: str, size: int, preprocess: str, device: str):
        # SadTalker imports itself as `src.*` and finds face-detector weights under
        # ./gfpgan/weights, so it must run from inside its checkout.
        os.chdir(checkout)
        sys.path.insert(0, checkout)
        from src.facerender.animate import AnimateFromCoeff
        from src.test_audio2coeff import Audio2Coeff
        from src.utils.init_path import init_path
        from src.utils.preprocess import CropAndExtract

        paths = init_path(
            checkpoints, os.path.join(checkout, "src", "config"), size, False, preprocess
        )
        self.size, self.preprocess, self.device = size, preprocess, device
        self.crop = CropAndExtract(paths, device)
        self.audio_to_coeff = Audio2Coeff(paths, device)
        self.animate = AnimateFromCoeff(paths, device)
        self._images: dict[tuple[str, float], tuple[str, str, Any]] = {}
        self._image_dir = tempfile.mkdtemp(prefix="sadtalker-images-")

    def _source(self, image: str) -> tuple[str, str, Any]:
        """3DMM coefficients and crop of the avatar image, extracted once per image version."""
        key = (os.path.abspath(image), os.path.getmtime(image))
        if key not in self._images:
            folder = tempfile.mkdtemp(dir=self._image_dir)
            coeff, crop_pic, crop_info = self.crop.generate(
                image, folder, self.preprocess, source_image_flag=True, pic_size=self.size
            )
            if coeff is None:
                raise ValueError(f"no face found in {image}")
            self._images[key] = (coeff, crop_pic, crop_info)
        return self._images[key]

    def render(self, audio: str, image: str, out: str) -> None:
        from src.generate_batch import get_data
        from src.generate_facerender_batch import get_facerender_data

        for path in (audio, image):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no such file: {path}")
        first_coeff, crop_pic, crop_info = self._source(image)
        work = tempfile.mkdtemp(prefix="sadtalker-clip-")
        try:
            batch = get_data(first_coeff, audio, self.device, None, still=True)
            coeff = self.audio_to_coeff.generate(batch, work, 0, None)
            data = get_facerender_data(
                coeff,
                crop_pic,
                first_coeff,
                audio,
                2,
                None,
                None,
                None,
                expression_scale=1.0,
                still_mode=True,
                preprocess=self.preprocess,
                size=self.size,
            )
            video = self.animate.generate(
                data, work, image, crop_info, preprocess=self.preprocess, img_size=self.size
            )
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            shutil.move(video, out)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _device(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def main() -> int:
    parser = argparse.ArgumentParser(description="SadTalker render worker (JSON lines)")
    parser.add_argument("--checkout", required=True)
    parser.add_argument("--checkpoints", required=True)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--preprocess", default="crop")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    out = _protocol_stream()
    started = time.perf_counter()
    try:
        renderer = Renderer(
            os.path.abspath(args.checkout),
            os.path.abspath(args.checkpoints),
            args.size,
            args.preprocess,
            _device(args.device),
        )
    except BaseException as exc:  # any load failure is reported, then exit
        traceback.print_exc()
        _send(out, {"ready": False, "error": f"load failed: {type(exc).__name__}: {exc}"})
        return 1
    _send(out, {"ready": True, "load_seconds": round(time.perf_counter() - started, 3)})
    for line in sys.stdin:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            began = time.perf_counter()
            renderer.render(str(request["audio"]), str(request["image"]), str(request["out"]))
            seconds = round(time.perf_counter() - began, 4)
            _send(out, {"id": request_id, "ok": True, "video": request["out"], "seconds": seconds})
        except Exception as exc:  # one bad clip must not end the worker
            traceback.print_exc()
            _send(out, {"id": request_id, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
