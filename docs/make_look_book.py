"""Draw the look book and the safe-area pictures from real program frames.

    .venv/bin/python docs/make_look_book.py

Every picture is a frame as the program hands it to the encoder: the built-in illustrated
host (`IllustratedAnimator`) under `OverlayCompositor` with a platform preset, while the
host answers a viewer about a product (caption with its spoken mark, the viewer's comment,
the showcase, the AI label), dressed as a merchant would: a logo, a countdown and the set
behind the host with the lineup's photos. Writes:

- docs/safe-areas/PRESET.png: the frame with what the app covers shaded red (named) and the
  preset's three clear zones outlined in green; docs/safe-areas/all.png puts them side by side;
- docs/screenshots/look-PRESET.png: the same frame as a viewer would get it, unmarked;
- docs/screenshots/showcase.png: the showcase sliding in, at rest, its link badge pulsing
  after "上链接", and sliding out.

The coffee photo is scikit-image's public-domain `coffee` picture; the garments and the
logo are drawn here.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

from host.catalog.facts import ProductFacts
from host.catalog.photos import MediaStore, media_dir
from host.config import Settings
from host.face.base import MouthPose
from host.face.builtin import IllustratedAnimator
from host.face.host_motion import RAMP_S
from host.stream.backdrop import lineup_set
from host.stream.base import Overlay
from host.stream.onair import OnAirComment
from host.stream.overlays import OverlayCompositor
from host.stream.platforms import PRESETS, PlatformLayout
from host.stream.showcase import BADGE_S, HOLD_S, TRANSITION_S
from host.stream.typeset import face

DOCS = Path(__file__).resolve().parent
SHORT_SIDE = 720  # rendered at the default output size ...
SAVED_SHORT_SIDE = 360  # ... and saved at half, to keep the repository small
CAPTION = "这款挂耳咖啡今天只要59元，喜欢的姐妹3号上链接！"
COMMENT = OnAirComment("Lily", "咖啡是什么烘焙度的？")
COVERED = (235, 40, 40, 110)
AT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # the look book's wall clock, for the countdown
ZONE = (40, 200, 90, 255)


def coffee(tmp: Path, settings: Settings) -> ProductFacts:
    return lineup(tmp, settings)[2]


def lineup(tmp: Path, settings: Settings) -> list[ProductFacts]:
    """The look book's lineup: three drawn garments and the coffee photo as link 3."""
    media = MediaStore(media_dir(settings), 1 << 22, 1 << 24)
    Image.fromarray(data.coffee()).save(tmp / "coffee.jpg")
    drawn = []
    for name, colour in (
        ("jacket", (40, 60, 100)),
        ("jeans", (70, 110, 170)),
        ("hoodie", (150, 40, 50)),
    ):
        photo = Image.new("RGB", (600, 600), (238, 234, 228))
        draw = ImageDraw.Draw(photo)
        if name == "jeans":
            draw.polygon(
                [(200, 90), (400, 90), (440, 540), (320, 540), (300, 220), (280, 540), (160, 540)],
                fill=colour,
            )
        else:
            draw.polygon(
                [
                    (180, 120),
                    (420, 120),
                    (540, 300),
                    (470, 340),
                    (440, 290),
                    (440, 520),
                    (160, 520),
                    (160, 290),
                    (130, 340),
                    (60, 300),
                ],
                fill=colour,
            )
            for y in range(170, 520, 55 if name == "jacket" else 600):
                draw.line((165, y, 435, y), fill=tuple(min(255, c + 40) for c in colour), width=6)
        photo.save(tmp / f"{name}.png")
        drawn.append(media.ingest(f"{name}.png", tmp, write=True))
    refs = [drawn[0], drawn[1], media.ingest("coffee.jpg", tmp, write=True), drawn[2]]
    names = ["轻薄羽绒服", "高腰阔腿牛仔裤", "", "加绒卫衣"]
    products = [
        ProductFacts(sku=f"LB-00{k + 1}", name=names[k], price=Decimal(199), currency="CNY",
                     link=k + 1, attributes={"image": ref})
        for k, ref in enumerate(refs)
    ]  # fmt: skip
    products[2] = ProductFacts(
        sku="LB-003",
        name="精品挂耳咖啡 20包",
        name_en="Drip-bag coffee, 20 bags",
        price=Decimal("59"),
        currency="CNY",
        stock=8,
        link=3,
        list_price=Decimal("99"),
        promotion="拍2件再减10元",
        attributes={"image": refs[2]},
    )
    return products


def logo(tmp: Path) -> Path:
    """A made-up shop's logo: a round mark and its name, on transparency."""
    image = Image.new("RGBA", (330, 100), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 96, 96), fill=(255, 77, 79, 255))
    face(54).draw(image, (22, 50), "优", (255, 255, 255), "lm")
    face(46).draw(image, (110, 50), "小林优选", (60, 30, 30), "lm")
    image.save(tmp / "logo.png")
    return tmp / "logo.png"


def size_of(preset: PlatformLayout) -> tuple[int, int]:
    width, height = preset.size
    short = min(width, height)
    return width * SHORT_SIDE // short, height * SHORT_SIDE // short


def frames(preset: PlatformLayout, tmp: Path) -> tuple[np.ndarray, Settings]:
    """The frame once the showcase has come in and the spoken mark is past "今天"."""
    width, height = size_of(preset)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        width=width,
        height=height,
        platform=preset.platform,
        var_dir=tmp,
        brand_logo=logo(tmp),
        countdown_until=AT + timedelta(minutes=14, seconds=59),
        countdown_text="双12预售 还剩",
    )
    products = lineup(tmp, settings)
    product = products[2]
    compositor = OverlayCompositor(settings, now=lambda: AT)
    animator = IllustratedAnimator(width, height, settings.fps)
    wall = lineup_set(settings)(products)
    assert wall is not None
    animator.set_backdrop(wall)
    spoken = CAPTION.index("今天") + 2
    frame = np.zeros(0)
    animator.present(compositor.layout.showcase_side, 0)  # as the director does while on show
    for index in range(round(max(TRANSITION_S, RAMP_S) * settings.fps) + 2):
        overlay = Overlay(CAPTION, spoken, COMMENT, product, showcase=True)
        frame = compositor.composite(speaking(animator, index), overlay)
    return frame, settings


def speaking(animator: IllustratedAnimator, index: int) -> np.ndarray:
    """The host mid-word (a vowel, mouth half open) at this frame."""
    return next(animator.speak([MouthPose(0.55, "open")], index))


def saved(frame: np.ndarray | Image.Image) -> Image.Image:
    image = frame if isinstance(frame, Image.Image) else Image.fromarray(frame)
    scale = SAVED_SHORT_SIDE / min(image.size)
    return image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
    )


def annotated(frame: np.ndarray, preset: PlatformLayout) -> Image.Image:
    """The frame with the app's regions shaded and named, and the clear zones outlined."""
    image = Image.fromarray(frame).convert("RGBA")
    width, height = image.size
    shade = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shade)
    label = face(max(14, height // 60))
    for name, rect in preset.covered:
        box = rect.pixels(width, height)
        draw.rectangle(box, fill=COVERED, outline=(180, 0, 0, 255), width=2)
        label.draw(shade, (box[0] + 6, box[1] + 4), name, (255, 255, 255, 255), "la")
    for name in ("top", "caption", "side"):
        box = getattr(preset, name).pixels(width, height)
        draw.rectangle(box, outline=ZONE, width=3)
    image.alpha_composite(shade)
    title = face(max(16, height // 45))
    ImageDraw.Draw(image).rectangle((0, height - height // 28, width, height), fill=(0, 0, 0, 200))
    title.draw(image, (8, height - height // 28), preset.name, (255, 255, 255, 255), "la")
    return image.convert("RGB")


def contact_sheet(images: list[Image.Image]) -> Image.Image:
    """Portrait pictures on the first row, landscape ones below, on white."""
    rows = [[i for i in images if i.height >= i.width], [i for i in images if i.height < i.width]]
    gap = 12
    width = max(sum(i.width for i in row) + gap * (len(row) + 1) for row in rows if row)
    height = sum(max(i.height for i in row) + gap for row in rows if row) + gap
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    y = gap
    for row in rows:
        x = gap
        for image in row:
            sheet.paste(image, (x, y))
            x += image.width + gap
        y += max((i.height for i in row), default=0) + gap
    return sheet


def showcase_strip(tmp: Path) -> Image.Image:
    """Douyin portrait frames: entering, at rest, the badge at the top of its pulse, leaving."""
    preset = next(p for p in PRESETS if p.name == "douyin-portrait")
    width, height = size_of(preset)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, width=width, height=height, platform="douyin", var_dir=tmp
    )
    product = coffee(tmp, settings)
    compositor = OverlayCompositor(settings)
    animator = IllustratedAnimator(width, height, settings.fps)
    fps = settings.fps
    before = CAPTION.index("上链接")
    talk = [Overlay(CAPTION, before, COMMENT, product, showcase=True)]
    cue = [Overlay(CAPTION, len(CAPTION), COMMENT, product, showcase=True)]
    after = [Overlay("好的，我们来看下一款。", 4, None, product)]
    script = (
        talk * (round(TRANSITION_S * fps) + 4)
        + cue * round(BADGE_S * fps)
        + after * (round((HOLD_S + TRANSITION_S) * fps) + 3)
    )
    keep = {
        2: "sliding in",
        round(TRANSITION_S * fps) + 3: "on show",
        round(TRANSITION_S * fps) + 4 + round(BADGE_S * fps / 4): "上链接: the badge pulses",
        len(script) - 4 - round(TRANSITION_S * fps / 2): "sliding out",
        len(script) - 1: "gone, the card is back",
    }
    shots = []
    for index, overlay in enumerate(script):
        animator.present(compositor.layout.showcase_side if overlay.showcase else None, index)
        frame = compositor.composite(speaking(animator, index), overlay)
        if index in keep:
            shot = saved(frame)
            title = face(18)
            ImageDraw.Draw(shot).rectangle((0, 0, shot.width, 30), fill=(0, 0, 0))
            title.draw(shot, (8, 4), keep[index], (255, 255, 255), "la")
            shots.append(shot)
    return contact_sheet(shots)


def main() -> None:
    (DOCS / "safe-areas").mkdir(exist_ok=True)
    (DOCS / "screenshots").mkdir(exist_ok=True)
    marked = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            frame, _ = frames(preset, Path(tmp))
            saved(frame).save(DOCS / "screenshots" / f"look-{preset.name}.png", optimize=True)
            picture = saved(annotated(frame, preset))
            picture.save(DOCS / "safe-areas" / f"{preset.name}.png", optimize=True)
            marked.append(picture)
            print("wrote", preset.name)
        contact_sheet(marked).save(DOCS / "safe-areas" / "all.png", optimize=True)
        showcase_strip(Path(tmp)).save(DOCS / "screenshots" / "showcase.png", optimize=True)
    print("wrote docs/safe-areas/all.png and docs/screenshots/showcase.png")


if __name__ == "__main__":
    main()
