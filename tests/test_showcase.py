"""The product on show: it comes while the host talks about it, and goes when the talk moves on.

Checked on composited frames (the illustrated host under every layer): the showcase is a
white panel in the side zone, so its presence is a count of near-white pixels there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import av
import numpy as np
import pytest

from host.catalog.facts import ProductFacts
from host.config import Settings
from host.demo import run_demo
from host.face.builtin import IllustratedAnimator
from host.stream import showcase as showcase_module
from host.stream.base import Overlay
from host.stream.layout import Layout
from host.stream.overlays import OverlayCompositor
from host.stream.showcase import BADGE_S, HOLD_S, TRANSITION_S

JACKET = ProductFacts(
    sku="LH-001",
    name="轻薄羽绒服",
    name_en="Lightweight Down Jacket",
    price=Decimal("399.00"),
    currency="CNY",
    stock=128,
    link=3,
    list_price=Decimal("699.00"),
    promotion="直播间立减300元",
)
JEANS = dataclasses.replace(JACKET, sku="LH-002", name="高腰阔腿牛仔裤", link=2)
FPS = 25


class Stage:
    """A compositor over the illustrated host, one call per program frame."""

    def __init__(self, settings: Settings) -> None:
        self.compositor = OverlayCompositor(settings)
        self.animator = IllustratedAnimator(settings.width, settings.height, settings.fps)
        self.index = 0
        left, top, right, bottom = self.compositor.layout.zone("side")
        self.side = np.s_[top:bottom, left:right]

    def frame(self, overlay: Overlay) -> np.ndarray:
        image = self.animator.idle(self.index)
        self.index += 1
        return self.compositor.composite(image, overlay)

    def panel(self, frame: np.ndarray) -> float:
        """Share of the side zone that is the showcase's white panel."""
        return float((frame[self.side].min(axis=2) > 246).mean())

    def badge_red(self, frame: np.ndarray) -> int:
        rgb = frame[self.side].astype(int)
        return int(((rgb[..., 0] > 220) & (rgb[..., 1] < 110) & (rgb[..., 2] < 110)).sum())


def test_the_showcase_comes_with_the_talk_about_a_product_and_leaves_after(
    settings: Settings,
) -> None:
    stage = Stage(settings)
    idle = Overlay(product=JACKET)  # the card of the current product, nobody talks about it
    talk = Overlay(caption="这件羽绒服今天只要399元", product=JACKET, showcase=True)
    before = [stage.panel(stage.frame(idle)) for _ in range(10)]
    during = [stage.panel(stage.frame(talk)) for _ in range(40)]
    after = [
        stage.panel(stage.frame(idle)) for _ in range(round((HOLD_S + TRANSITION_S) * FPS) + 5)
    ]
    assert max(before) < 0.02  # the dark card, no white panel
    assert during[0] < during[-1]  # it slides and fades in
    assert min(during[round(TRANSITION_S * FPS) + 1 :]) > 0.15  # then it is there, large
    hold = round(HOLD_S * FPS)
    assert min(after[:hold]) > 0.15  # a pause between sentences does not blink it away
    assert max(after[-3:]) < 0.02  # the talk moved on: gone, the card is back
    assert not stage.compositor.showcase.visible
    card_only = stage.compositor.patches(idle)
    assert len(card_only) == 2  # card and label


def test_a_line_about_nothing_in_particular_leaves_the_card(settings: Settings) -> None:
    stage = Stage(settings)
    greeting = Overlay(caption="欢迎来到直播间！", product=JACKET)
    assert max(stage.panel(stage.frame(greeting)) for _ in range(20)) < 0.02


def test_the_link_badge_pulses_once_the_host_says_shang_lianjie(settings: Settings) -> None:
    caption = "喜欢的姐妹们，3号上链接！"
    cue_end = caption.index("上链接") + 3
    stage = Stage(settings)
    entered = round(TRANSITION_S * FPS) + 1
    for _ in range(entered):
        stage.frame(Overlay(caption=caption, spoken=0, product=JACKET, showcase=True))
    layers = [
        len(stage.compositor.patches(Overlay(caption, spoken, product=JACKET, showcase=True)))
        for spoken in range(cue_end)
    ]
    assert set(layers) == {3}  # showcase, caption and label: the cue is not said yet
    said = Overlay(caption, cue_end, product=JACKET, showcase=True)
    still = stage.badge_red(stage.frame(dataclasses.replace(said, spoken=cue_end - 1)))
    pulse = [stage.badge_red(stage.frame(said)) for _ in range(round(BADGE_S * FPS) + 3)]
    assert max(pulse) > still * 1.3  # the badge grows
    assert pulse[-1] == pytest.approx(still, rel=0.05)  # and settles, once per cue
    assert len(stage.compositor.patches(said)) == 3


def test_english_link_cue_and_not_other_words(settings: Settings) -> None:
    stage = Stage(settings)
    for _ in range(round(TRANSITION_S * FPS) + 1):
        stage.compositor.patches(Overlay("Hello", product=JACKET, showcase=True))
    linked = Overlay("We linked it before", product=JACKET, showcase=True)
    assert len(stage.compositor.patches(linked)) == 3  # showcase, caption, label
    link = Overlay("Tap link 3 below", product=JACKET, showcase=True)
    assert len(stage.compositor.patches(link)) == 4  # and the badge


def test_the_showcase_shows_the_live_price_at_once(settings: Settings) -> None:
    stage = Stage(settings)
    talk = Overlay(caption="羽绒服", product=JACKET, showcase=True)
    for _ in range(round(TRANSITION_S * FPS) + 1):
        first = stage.frame(talk)
    repriced = dataclasses.replace(JACKET, price=Decimal("359.00"))
    second = stage.frame(dataclasses.replace(talk, product=repriced))
    assert stage.panel(second) > 0.15  # no new entrance for the same product
    assert np.any(first[stage.side] != second[stage.side])
    again = OverlayCompositor(settings)
    for _ in range(round(TRANSITION_S * FPS) + 1):
        fresh = again.composite(stage.animator.idle(stage.index - 1), talk)
    assert not np.array_equal(fresh[stage.side], second[stage.side])  # 359, not 399


def test_another_product_enters_anew(settings: Settings) -> None:
    stage = Stage(settings)
    for _ in range(20):
        stage.frame(Overlay(caption="羽绒服", product=JACKET, showcase=True))
    entering = stage.panel(stage.frame(Overlay(caption="牛仔裤", product=JEANS, showcase=True)))
    settled = [
        stage.panel(stage.frame(Overlay("牛仔裤", product=JEANS, showcase=True))) for _ in range(20)
    ]
    assert entering < settled[-1]


@pytest.mark.parametrize("platform", ["douyin", "taobao", "youtube", "none"])
def test_the_showcase_side_is_where_the_panel_is(platform: str) -> None:
    width, height = (1280, 720) if platform == "youtube" else (720, 1280)
    layout = Layout(width, height, "top-left", platform=platform)  # type: ignore[arg-type]
    left, _, right, _ = layout.zone("side")
    expected = "right" if (left + right) / 2 > width / 2 else "left"
    assert layout.showcase_side == expected
    assert {"douyin": "right", "taobao": "right", "youtube": "right", "none": "left"}[
        platform
    ] == expected


@pytest.mark.slow
def test_a_session_shows_the_product_while_answering_about_it(
    settings: Settings, tmp_path: Path
) -> None:
    """The demo session end to end, judged on its MP4: no showcase through a greeting, the
    jacket on show while the host answers about it, gone once the answer is over."""
    rows = [
        {"t": 0.3, "user": "Lily", "text": "Hi everyone!", "id": "hi"},
        {"t": 4.0, "user": "Tom", "text": "How much is the down jacket?", "id": "q"},
    ]
    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    quick = settings.model_copy(update={"idle_pitch_s": 0.0, "width": 360, "height": 640})
    duration = 16.0
    result = asyncio.run(
        run_demo(quick, tmp_path / "out", duration=duration, realtime=False, comments=comments)
    )
    answered = {r.message_id: r for r in result.records}
    assert set(answered) == {"hi", "q"}
    with av.open(str(tmp_path / "out" / "session.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    layout = Layout(360, 640, "top-left")
    left, top, right, bottom = layout.zone("side")
    shown = [float((f[top:bottom, left:right].min(axis=2) > 246).mean()) > 0.1 for f in frames]
    answer_at = round(answered["q"].stamps["first_frame_out"] * FPS)
    assert not any(shown[:answer_at]), "a showcase before anyone talked about a product"
    assert sum(shown[answer_at:]) > 2 * FPS, "the jacket was not on show while answered"
    assert not any(shown[-FPS // 2 :]), "the showcase stayed after the talk moved on"


def test_on_a_wall_clock_an_unannounced_product_never_holds_the_frame(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Art not drawn yet: the frame has the card, and the showcase enters once it is ready."""
    release = threading.Event()
    draw = showcase_module._art
    monkeypatch.setattr(
        showcase_module, "_art", lambda *args: release.wait(10) and draw(*args)
    )  # a slow artist, held until released
    stage = Stage(settings)
    stage.compositor.showcase.waits = False  # as on a wall clock
    talk = Overlay(caption="这件羽绒服今天只要399元", product=JACKET, showcase=True)
    started = time.monotonic()
    held = [stage.compositor.patches(talk) for _ in range(5)]
    assert time.monotonic() - started < 1.0  # nothing waited on the artist
    assert not stage.compositor.showcase.visible
    assert all(len(p) == 3 for p in held)  # the card, the caption and the label
    release.set()
    deadline = time.monotonic() + 10
    while not stage.compositor.showcase.visible and time.monotonic() < deadline:
        stage.frame(talk)
        time.sleep(0.01)
    assert max(stage.panel(stage.frame(talk)) for _ in range(FPS)) > 0.2


def test_art_that_cannot_be_drawn_leaves_the_card(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise OSError("cannot identify image file")

    monkeypatch.setattr(showcase_module, "_art", broken)
    stage = Stage(settings)
    talk = Overlay(caption="这件羽绒服今天只要399元", product=JACKET, showcase=True)
    layers = [stage.compositor.patches(talk) for _ in range(FPS)]
    assert all(len(p) == 3 for p in layers)  # the card, the caption and the label
