"""Photograph each built-in host as a viewer sees it: mid-word, pointing at the product
while talking about it, with the program's overlays, in portrait and landscape.

    python docs/host_pictures.py [--out docs/screenshots]

Writes host-<look>-<shape>.png; the README links them. Everything is drawn by the
program's own code (the animator, the director's gesture hint, the overlay compositor),
so the pictures change when the hosts or the layouts do.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from PIL import Image

from host.catalog.facts import ProductFacts
from host.config import Settings
from host.face.avatar_looks import LOOKS
from host.face.base import MouthPose
from host.face.builtin import IllustratedAnimator
from host.face.host_motion import RAMP_S
from host.stream.base import Overlay
from host.stream.layout import Layout
from host.stream.overlays import OverlayCompositor

JACKET = ProductFacts(
    sku="LH-001",
    name="轻薄羽绒服",
    name_en="Lightweight Down Jacket",
    price=Decimal("399.00"),
    list_price=Decimal("699.00"),
    currency="CNY",
    stock=128,
    link=1,
    promotion="直播间立减300元",
)
LINE = "这款轻薄羽绒服，今天直播间立减三百元！"
SHAPES = {"portrait": (720, 1280), "landscape": (1280, 720)}


def picture(look: str, width: int, height: int) -> Image.Image:
    """One frame a little after the host started pointing, the mouth open on a vowel."""
    settings = Settings(_env_file=None, width=width, height=height)  # type: ignore[call-arg]
    animator = IllustratedAnimator(width, height, settings.fps, look=look)  # type: ignore[arg-type]
    side = Layout(
        width, height, settings.ai_label_position, platform=settings.platform
    ).showcase_side
    start = 10 * settings.fps
    animator.present(side, start)
    frame_index = start + round(2 * RAMP_S * settings.fps)
    image = next(animator.speak([MouthPose(0.75, "open")], frame_index))
    overlay = Overlay(caption=LINE, spoken=9, product=JACKET, showcase=True)
    return Image.fromarray(OverlayCompositor(settings).composite(image, overlay))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for look in LOOKS:
        for shape, (width, height) in SHAPES.items():
            path = args.out / f"host-{look}-{shape}.png"
            picture(look, width, height).save(path, optimize=True)
            print(path)


if __name__ == "__main__":
    main()
