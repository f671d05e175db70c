"""What the layers above the host cost per frame: the card as before, the showcase now.

    .venv/bin/python bench/overlays.py                 # 720x1280, Douyin preset
    .venv/bin/python bench/overlays.py --size 1080x1920 --platform taobao

Each scenario composites FRAMES frames of the illustrated host (the frames are rendered
first, so only the compositor is timed) with the same caption (its spoken mark moving),
viewer comment and AI label, and:

- card: the product card, as every frame had it before the showcase;
- showcase entering: the panel sliding in (its drawing and each step's derivation, once);
- showcase: the panel at rest;
- badge pulse: the panel with the link badge pulsing after "上链接";
- leaving: the panel sliding out.

Printed: milliseconds per frame (p50, p95, max) of `OverlayCompositor.composite`, which is
what the program's worker runs before the encoder. A frame lasts 40 ms at 25 fps.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
from machine import describe
from PIL import Image

from host.catalog.facts import ProductFacts
from host.catalog.photos import MediaStore, media_dir
from host.config import Settings
from host.face.builtin import IllustratedAnimator
from host.stream.base import Overlay
from host.stream.onair import OnAirComment
from host.stream.overlays import OverlayCompositor
from host.stream.showcase import BADGE_S, HOLD_S, TRANSITION_S

CAPTION = "这件轻薄羽绒服今天直播间只要399元，喜欢的姐妹们3号上链接！"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="720x1280")
    parser.add_argument("--platform", default="douyin")
    parser.add_argument("--frames", type=int, default=250)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    work = Path("var/bench-overlays")
    settings = Settings(width=width, height=height, platform=args.platform, var_dir=work)
    Image.new("RGB", (1024, 1024), (40, 60, 90)).save(work.parent / "bench-jacket.png")
    media = MediaStore(media_dir(settings), 1 << 22, 1 << 24)
    ref = media.ingest("bench-jacket.png", work.parent, write=True)
    jacket = ProductFacts(
        sku="LH-001",
        name="轻薄羽绒服",
        name_en="Lightweight Down Jacket",
        price=Decimal("399"),
        currency="CNY",
        stock=8,
        link=3,
        list_price=Decimal("699"),
        promotion="直播间立减300元",
        attributes={"image": ref},
    )
    animator = IllustratedAnimator(width, height, settings.fps)
    images = [animator.idle(i) for i in range(50)]
    comment = OnAirComment("Lily", "羽绒服有黑色吗？")
    fps = settings.fps
    cue = CAPTION.index("上链接") + 3

    def overlay(k: int, showcase: bool, spoken: int | None = None) -> Overlay:
        mark = spoken if spoken is not None else k % cue  # the mark moves, short of the cue
        return Overlay(CAPTION, mark, comment, jacket, showcase)

    scenarios: list[tuple[str, int, bool, int | None]] = [
        ("card (before the showcase)", args.frames, False, None),
        ("showcase entering", round(TRANSITION_S * fps), True, None),
        ("showcase", args.frames, True, None),
        ("badge pulse", round(BADGE_S * fps), True, len(CAPTION)),
        ("leaving (hold, then slide out)", round((HOLD_S + TRANSITION_S) * fps) + 1, False, None),
    ]
    compositor = OverlayCompositor(settings)
    print(f"machine: {describe()}; {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{width}x{height} {args.platform}: composite ms per frame")
    print(f"{'scenario':34} {'frames':>6} {'p50':>6} {'p95':>6} {'max':>6}")
    for name, frames, showcase, spoken in scenarios:
        times = []
        for k in range(frames):
            image = images[k % len(images)]
            shown = overlay(k, showcase, spoken)
            t0 = time.perf_counter()
            compositor.composite(image, shown)
            times.append((time.perf_counter() - t0) * 1000)
        p50, p95 = np.percentile(times, [50, 95])
        print(f"{name:34} {frames:6d} {p50:6.2f} {p95:6.2f} {max(times):6.2f}")


if __name__ == "__main__":
    main()
