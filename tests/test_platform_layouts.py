"""Every platform preset keeps every layer where the app leaves the picture visible.

Each preset is rendered with every layer at its largest (a three-line caption, a two-line
comment, the merchant's logo, a countdown, the product card with its photo, then the
showcase with its link badge at the top of its pulse), and no layer's box may touch a
region that preset's app covers. The AI label is checked on frames that went through the
real encoder: present on every sampled frame, and at least 3% of the frame height.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from host.catalog.facts import ProductFacts
from host.catalog.photos import MediaStore, media_dir
from host.config import Settings
from host.face.builtin import IllustratedAnimator
from host.stream.base import Overlay, ProgramFrame
from host.stream.clock import ProgramClock
from host.stream.onair import OnAirComment
from host.stream.overlays import OverlayCompositor
from host.stream.platforms import PRESETS, PlatformLayout, Rect, preset_for
from host.stream.program import Program
from host.stream.showcase import BADGE_S, TRANSITION_S
from host.stream.sinks.mp4 import mp4_sink

Box = tuple[int, int, int, int]
LEGIBLE = 0.03  # the label's least height, of the frame's (issue 22)
IDS = [p.name for p in PRESETS]
CAPTION = (
    "这件轻薄羽绒服今天直播间只要三百九十九元，比原价便宜了整整三百块，库存不多了，上链接！"
    "It is light and warm, so grab one before they are gone."
)
COMMENT = OnAirComment("小红书用户Lily", "有黑色M码吗？" * 6)
JACKET = ProductFacts(
    sku="LH-001",
    name="轻薄羽绒服（冬季加厚款）",
    name_en="Lightweight Down Jacket, winter weight",
    price=Decimal("399.00"),
    currency="CNY",
    stock=3,
    link=12,
    list_price=Decimal("699.00"),
    promotion="直播间立减300元，前100名再送收纳袋",
)


def small(preset: PlatformLayout) -> tuple[int, int]:
    """The preset's shape at a 720-pixel short side (the default output; fast to encode)."""
    width, height = preset.size
    short = min(width, height)
    return width * 720 // short, height * 720 // short


def settings_for(
    preset: PlatformLayout, tmp_path: Path, size: tuple[int, int], *, dressed: bool = False
) -> Settings:
    """The preset's settings; `dressed` adds the merchant's logo and a running countdown."""
    extra: dict[str, Any] = {}
    if dressed:
        Image.new("RGBA", (300, 120), (200, 30, 30, 255)).save(tmp_path / "logo.png")
        until = datetime.now(UTC) + timedelta(hours=2)
        extra = {"brand_logo": tmp_path / "logo.png", "countdown_until": until}
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        width=size[0],
        height=size[1],
        platform=preset.platform,
        var_dir=tmp_path / "var",
        **extra,
    )


def with_photo(settings: Settings, tmp_path: Path) -> ProductFacts:
    """The jacket with a photo in the media store, as the catalog import leaves it."""
    Image.new("RGB", (900, 1200), (40, 60, 90)).save(tmp_path / "jacket.png")
    media = MediaStore(media_dir(settings), 1 << 22, 1 << 24)
    ref = media.ingest("jacket.png", tmp_path, write=True)
    return dataclasses.replace(JACKET, attributes={"image": ref})


def covered(preset: PlatformLayout, width: int, height: int) -> list[tuple[str, Box]]:
    return [(name, rect.pixels(width, height)) for name, rect in preset.covered]


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def box_of(patch: object) -> Box:
    x, y = patch.x, patch.y  # type: ignore[attr-defined]
    w, h = patch.size  # type: ignore[attr-defined]
    return x, y, x + w, y + h


def test_presets_cover_every_platform_in_each_shape_it_streams() -> None:
    names = {p.name for p in PRESETS}
    for platform in ("douyin", "kuaishou", "bilibili", "youtube"):
        assert {f"{platform}-portrait", f"{platform}-landscape"} <= names
    assert "taobao-portrait" in names and "twitch-landscape" in names
    assert "taobao-landscape" not in names and "twitch-portrait" not in names
    assert preset_for("douyin", 1080, 1920).name == "douyin-portrait"
    assert preset_for("youtube", 1280, 720).name == "youtube-landscape"


def test_a_platform_without_the_shape_is_a_one_line_settings_error() -> None:
    with pytest.raises(ValueError, match="PLATFORM=twitch has no portrait live room"):
        Settings(_env_file=None, platform="twitch", output_preset="portrait")  # type: ignore[call-arg]


@pytest.mark.parametrize("preset", PRESETS, ids=IDS)
def test_each_presets_zones_are_clear_of_its_app_and_of_each_other(preset: PlatformLayout) -> None:
    zones = {"top": preset.top, "caption": preset.caption, "side": preset.side}
    for name, zone in zones.items():
        assert 0 <= zone.left < zone.right <= 1 and 0 <= zone.top < zone.bottom <= 1, name
        for chrome, rect in preset.covered:
            assert not overlaps(_hundredths(zone), _hundredths(rect)), (name, chrome)
    assert not overlaps(_hundredths(preset.caption), _hundredths(preset.side))
    assert not overlaps(_hundredths(preset.top), _hundredths(preset.side))


def _hundredths(rect: Rect) -> Box:
    return tuple(round(v * 1000) for v in (rect.left, rect.top, rect.right, rect.bottom))  # type: ignore[return-value]


@pytest.mark.parametrize("preset", PRESETS, ids=IDS)
@pytest.mark.parametrize("full_size", [False, True], ids=["720", "recommended"])
def test_no_layer_touches_what_the_app_covers(
    preset: PlatformLayout, full_size: bool, tmp_path: Path
) -> None:
    width, height = preset.size if full_size else small(preset)
    settings = settings_for(preset, tmp_path, (width, height), dressed=True)
    product = with_photo(settings, tmp_path)
    compositor = OverlayCompositor(settings)
    assert compositor.logo is not None
    card = Overlay(caption=CAPTION, comment=COMMENT, product=product)
    talked_about = dataclasses.replace(card, showcase=True)
    frames = [compositor.patches(card)]  # the card
    steps = round((TRANSITION_S + BADGE_S) * settings.fps) + 2
    frames += [compositor.patches(talked_about) for _ in range(steps)]  # in, then the pulse
    assert compositor.showcase.visible
    # showcase, countdown, comment, caption, logo, label: the pulse has ended
    assert len(frames[-1]) == 6
    assert any(len(layers) == 7 for layers in frames)  # the badge pulsed over the showcase
    chrome = covered(preset, width, height)
    for index, layers in enumerate(frames):
        boxes = [box_of(patch) for patch in layers]
        for k, box in enumerate(boxes):
            assert box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
            for name, region in chrome:
                assert not overlaps(box, region), (index, k, box, name, region)
        # the badge sits on the showcase; every other pair of layers is apart
        apart = boxes[:1] + boxes[2:] if len(boxes) == 7 else boxes  # [1] is the badge
        for k, box in enumerate(apart):
            assert not any(overlaps(box, other) for other in apart[k + 1 :]), (index, apart)


@pytest.mark.parametrize("preset", PRESETS, ids=IDS)
def test_the_label_is_legible_on_every_encoded_frame(
    preset: PlatformLayout, tmp_path: Path
) -> None:
    """Frames through the real program and H.264: the label's dark box and white text are on
    every sampled frame, whatever else is shown, and the box is at least 3% of the height."""
    width, height = small(preset)
    settings = settings_for(preset, tmp_path, (width, height))
    product = with_photo(settings, tmp_path)
    animator = IllustratedAnimator(width, height, settings.fps)
    silence = np.zeros(settings.audio_rate // settings.fps, np.int16)
    overlays = [
        Overlay(),
        Overlay(caption=CAPTION, comment=COMMENT, product=product),
        Overlay(caption=CAPTION, product=product, showcase=True),
    ]

    class Frames:
        async def next_frame(self, index: int) -> ProgramFrame:
            return ProgramFrame(animator.idle(index), silence, overlays[index * 3 // 30])

    path = tmp_path / "out.mp4"
    program = Program(settings, [mp4_sink(path)], ProgramClock())
    label = program.compositor.label
    assert label is not None
    assert label.size[1] >= LEGIBLE * height
    left, top, right, bottom = box_of(label)
    for name, region in covered(preset, width, height):
        assert not overlaps((left, top, right, bottom), region), name
    asyncio.run(program.run(Frames(), 1.2))
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 30
    for index, frame in enumerate(frames[::3]):
        region = frame[top:bottom, left:right].astype(int).sum(axis=2)
        assert (region < 200).mean() > 0.4, index  # the dark box
        assert (region > 660).sum() > 0.02 * region.size, index  # the white letters
        # the box's own extent, found on the picture: dark rows across the label's columns
        dark = (frame[top:bottom, left:right].astype(int).sum(axis=2) < 200).mean(axis=1)
        rows = np.flatnonzero(dark > 0.5)
        assert rows[-1] - rows[0] + 1 >= LEGIBLE * height, index
