"""The set: the merchant's logo and colour, and a timed promotion's countdown, per stream."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from host.catalog.facts import ProductFacts
from host.config import Settings
from host.session.spec import load_stream
from host.stream.base import Overlay
from host.stream.countdown import clock_text
from host.stream.overlays import OverlayCompositor
from host.stream.showcase import TRANSITION_S

START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
JACKET = ProductFacts(
    sku="LH-001", name="轻薄羽绒服", price=Decimal("399"), currency="CNY", stock=9, link=3
)


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> datetime:
        return self.t


def screen(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_clock_text_counts_whole_seconds_up() -> None:
    assert clock_text(299.2) == "05:00"
    assert clock_text(59) == "00:59"
    assert clock_text(3600 + 4 * 60 + 59) == "1:04:59"
    assert clock_text(-3) == "00:00"


def test_the_countdown_ticks_each_second_and_goes_when_the_deal_ends() -> None:
    wall = Wall()
    compositor = OverlayCompositor(screen(countdown_until=START + timedelta(seconds=90)), wall)
    black = np.zeros((1280, 720, 3), np.uint8)
    left, top, right, bottom = compositor.layout.countdown_box()
    box = np.s_[top:bottom, left:right]
    first = compositor.composite(black, Overlay())
    wall.t += timedelta(milliseconds=400)
    same = compositor.composite(black, Overlay())
    wall.t += timedelta(seconds=1)
    later = compositor.composite(black, Overlay())
    assert first[box].any()  # the pill is there
    assert np.array_equal(first[box], same[box])  # the same second: the same pill
    assert not np.array_equal(first[box], later[box])  # the next second: the digits moved
    wall.t = START + timedelta(seconds=90)
    assert not compositor.composite(black, Overlay())[box].any()  # the deal is over
    plain = OverlayCompositor(screen(), wall)
    assert len(plain.patches(Overlay())) == 1  # no countdown set: the label alone


def test_the_showcase_sits_below_the_countdown() -> None:
    wall = Wall()
    compositor = OverlayCompositor(screen(countdown_until=START + timedelta(hours=1)), wall)
    talk = Overlay(caption="羽绒服", product=JACKET, showcase=True)
    for _ in range(round(TRANSITION_S * 25) + 1):
        layers = compositor.patches(talk)
    showcase, countdown = layers[0], layers[1]
    assert countdown.y + countdown.size[1] <= showcase.y


def test_the_merchants_colour_is_the_price_and_badge_colour() -> None:
    def blue(frame: np.ndarray) -> int:
        rgb = frame.astype(int)
        return int(((rgb[..., 2] > 200) & (rgb[..., 0] < 60) & (rgb[..., 1] < 190)).sum())

    frames = {}
    for colour in ("#FF4D4F", "#0A84FF"):
        compositor = OverlayCompositor(screen(brand_colour=colour, noncompliant_hide_ai_label=True))
        talk = Overlay(product=JACKET, showcase=True)
        for _ in range(round(TRANSITION_S * 25) + 1):
            frames[colour] = compositor.composite(np.zeros((1280, 720, 3), np.uint8), talk)
    assert blue(frames["#0A84FF"]) > 2000 and blue(frames["#FF4D4F"]) == 0


def test_the_logo_shares_the_labels_row_at_the_other_end(tmp_path: Path) -> None:
    Image.new("RGBA", (200, 100), (20, 180, 60, 255)).save(tmp_path / "logo.png")
    compositor = OverlayCompositor(screen(brand_logo=tmp_path / "logo.png"))
    logo, label = compositor.logo, compositor.label
    assert logo is not None and label is not None
    assert logo.size[1] == label.size[1] and logo.y == label.y
    assert logo.x > label.x + label.size[0]  # to its right, apart
    right = OverlayCompositor(
        screen(brand_logo=tmp_path / "logo.png", ai_label_position="top-right")
    )
    assert right.logo is not None and right.label is not None
    assert right.logo.x + right.logo.size[0] < right.label.x


def test_an_unreadable_logo_is_left_out_and_the_stream_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "logo.png").write_bytes(b"not a picture")
    with caplog.at_level(logging.WARNING):
        compositor = OverlayCompositor(screen(brand_logo=tmp_path / "logo.png"))
    assert compositor.logo is None
    assert "brand logo" in caplog.text
    assert compositor.composite(np.zeros((1280, 720, 3), np.uint8), Overlay()).any()


def test_the_stream_file_sets_platform_brand_and_countdown(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(
        "name: shop\nmerchant: demo\n"
        "sources:\n  - kind: replay\n    path: products/demo/comments.jsonl\n"
        "sinks:\n  - kind: mp4\n    path: var/shop.mp4\n"
        "output: portrait\nplatform: taobao\n"
        "brand:\n  logo: logo.png\n  colour: '#0A84FF'\n"
        "countdown:\n  until: 2026-12-01T22:00:00+08:00\n  text: 双12预售\n",
        encoding="utf-8",
    )
    settings = load_stream(path).settings_for(screen(), environ={})
    assert settings.platform == "taobao"
    assert settings.brand_logo == Path("logo.png") and settings.brand_colour == "#0A84FF"
    assert settings.countdown_until == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert settings.countdown_text == "双12预售"
    naive = path.read_text(encoding="utf-8").replace("+08:00", "")
    path.write_text(naive, encoding="utf-8")
    with pytest.raises(Exception, match=r"countdown\.until"):
        load_stream(path)  # a time without its zone is ambiguous on air


def test_equal_content_shares_the_showcase_art() -> None:
    compositor = OverlayCompositor(screen())
    talk = Overlay(product=JACKET, showcase=True)
    for _ in range(round(TRANSITION_S * 25) + 1):
        first = compositor.patches(talk)[0]
    again = compositor.patches(dataclasses.replace(talk, caption="还是这件"))[0]
    assert again is first
