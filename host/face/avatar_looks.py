"""What the built-in hosts look like and where they stand in the frame.

There is a look for each voice the project bundles, so the host looks like it sounds: a
woman and a man, sharing the studio and the figure's geometry (so every sprite rectangle
and every motion applies to both). Lengths in a `Look` are in face half-widths (`a`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from host.face.canvas import Color

LookName = Literal["female", "male"]

SKIN: Color = (246, 214, 190)
SKIN_SHADE: Color = (226, 180, 156)
SKIN_DEEP: Color = (204, 150, 128)
SCLERA: Color = (252, 252, 250)
IRIS: Color = (78, 52, 42)
PUPIL: Color = (26, 18, 20)
LASH: Color = (40, 28, 32)
MOUTH_INSIDE: Color = (70, 22, 34)
TONGUE: Color = (150, 60, 72)
TEETH: Color = (250, 248, 244)
BLUSH: Color = (240, 150, 150)
GOLD: Color = (214, 172, 92)


@dataclass(frozen=True)
class Look:
    description: str  # for `host avatar list`
    hair: Color
    hair_shine: Color
    hair_shade: Color
    brow: Color
    brow_width: float  # stroke
    brow_arch: float  # how high the middle of the brow rises
    lip: Color
    lip_line: Color
    blush: float  # opacity of the cheek blush
    lash_wing: bool  # the flick at the outer corner of the upper lid
    jaw_taper: float  # how much the face narrows towards the chin
    long_hair: bool  # long hair falling past the shoulders; else short hair with sideburns
    neck: float  # half-width
    shoulders: float  # half-width of the torso
    top: Color  # the garment on the torso and the sleeves
    top_shade: Color
    top_light: Color
    inner: Color | None  # the shirt in a jacket's opening; None: a blouse, no jacket
    neckline: Literal["vee", "crew"]
    sleeve: float  # how far down the forearm the sleeve reaches (1: to the wrist)
    cuff: Color


LOOKS: dict[LookName, Look] = {
    "female": Look(
        description="illustrated woman: long dark hair, rose blouse, gold necklace",
        hair=(52, 34, 40),
        hair_shine=(110, 78, 86),
        hair_shade=(34, 22, 28),
        brow=(86, 58, 60),
        brow_width=0.07,
        brow_arch=0.1,
        lip=(212, 96, 108),
        lip_line=(178, 70, 86),
        blush=0.4,
        lash_wing=True,
        jaw_taper=0.2,
        long_hair=True,
        neck=0.3,
        shoulders=1.95,
        top=(232, 112, 120),
        top_shade=(190, 76, 92),
        top_light=(248, 160, 160),
        inner=None,
        neckline="vee",
        sleeve=0.55,
        cuff=(200, 84, 98),
    ),
    "male": Look(
        description="illustrated man: short dark hair, navy blazer over a white tee",
        hair=(40, 32, 30),
        hair_shine=(92, 78, 70),
        hair_shade=(24, 18, 18),
        brow=(54, 40, 36),
        brow_width=0.1,
        brow_arch=0.05,
        lip=(198, 124, 118),
        lip_line=(168, 98, 96),
        blush=0.1,
        lash_wing=False,
        jaw_taper=0.12,
        long_hair=False,
        neck=0.38,
        shoulders=2.15,
        top=(46, 66, 104),
        top_shade=(28, 40, 68),
        top_light=(78, 100, 146),
        inner=(246, 246, 242),
        neckline="crew",
        sleeve=1.0,
        cuff=(246, 246, 242),
    ),
}


@dataclass(frozen=True)
class Geometry:
    """Where the figure sits: head centre (cx, cy), face half-width a and half-height b.

    The head is in the upper middle, scaled so both hands (even one held out towards the
    product) stay inside a portrait frame and the bottom third is mostly body, under the
    product card and the captions.
    """

    width: int
    height: int
    cx: float
    cy: float
    a: float
    b: float

    @classmethod
    def for_frame(cls, width: int, height: int) -> Geometry:
        unit = min(width, 0.75 * height)
        a = 0.13 * unit
        portrait = height > 1.2 * width
        return cls(width, height, width / 2, height * (0.33 if portrait else 0.36), a, 1.25 * a)

    @property
    def shoulder_y(self) -> float:
        return self.cy + 1.42 * self.b
