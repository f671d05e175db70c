"""Where each platform's app draws over the video, and where our layers go instead.

A viewer never sees the program as we encode it: the Douyin or Taobao app paints its host
badge and viewer count across the top, a comment feed over the lower left, a shop or input
bar along the bottom and pendants down the right; a desktop player (Twitch, YouTube,
Bilibili) covers the top and bottom with its title and controls while the mouse is over it.
A label, card or subtitle under that chrome is not seen, and an AI label that is not seen
is no disclosure. So each preset names the regions the app covers and three zones that stay
clear of them, all as fractions of the frame (so 1080x1920 lays out like 720x1280):

- `top`: the AI label and the viewer comment being answered, under the app's top bar;
- `caption`: the spoken line, above the comment feed;
- `side`: the product card, or the product showcase while the host talks about it.

The numbers are approximations measured by eye on public screenshots and creator guides of
each app as of 2025 (phones of 9:19.5 showing a 9:16 picture, desktop players at 16:9);
apps change their chrome and differ between phones, so every zone keeps a margin of one to
two percent from the nearest covered region. `none` is a recording nobody watches in an
app: nothing is covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["douyin", "kuaishou", "taobao", "bilibili", "twitch", "youtube", "none"]
Orientation = Literal["portrait", "landscape"]


@dataclass(frozen=True)
class Rect:
    """(left, top, right, bottom) as fractions of the frame's width and height."""

    left: float
    top: float
    right: float
    bottom: float

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (
            round(self.left * width),
            round(self.top * height),
            round(self.right * width),
            round(self.bottom * height),
        )


@dataclass(frozen=True)
class PlatformLayout:
    platform: Platform
    orientation: Orientation
    size: tuple[int, int]  # the size the platform recommends for this orientation
    covered: tuple[tuple[str, Rect], ...]  # what the app draws over the video, by name
    top: Rect
    caption: Rect
    side: Rect
    source: str  # where the numbers come from

    @property
    def name(self) -> str:
        return f"{self.platform}-{self.orientation}"


def _r(left: float, top: float, right: float, bottom: float) -> Rect:
    return Rect(left, top, right, bottom)


_PHONE = "public screenshots of the {app} app's live room (2025), 9:16 picture on a 9:19.5 phone"

PRESETS: tuple[PlatformLayout, ...] = (
    PlatformLayout(
        "douyin",
        "portrait",
        (1080, 1920),  # 抖音直播伴侣 recommends 1080x1920 (720x1280 for weak uplinks)
        (
            ("host badge", _r(0, 0, 0.60, 0.105)),
            ("viewers", _r(0.60, 0, 1, 0.085)),
            ("pendants", _r(0.78, 0.085, 1, 0.24)),
            ("comment feed", _r(0, 0.61, 0.72, 0.875)),
            ("shop pop-up", _r(0, 0.71, 0.52, 0.875)),
            ("bottom bar", _r(0, 0.885, 1, 1)),
        ),
        top=_r(0.03, 0.115, 0.77, 0.245),
        caption=_r(0.03, 0.455, 0.60, 0.60),
        side=_r(0.62, 0.25, 0.97, 0.60),
        source=_PHONE.format(app="Douyin"),
    ),
    PlatformLayout(
        "douyin",
        "landscape",
        (1920, 1080),  # 横屏直播 (games, shows) shown full screen with the phone turned
        (
            ("top bar", _r(0, 0, 1, 0.12)),
            ("comment feed", _r(0, 0.50, 0.36, 0.85)),
            ("gift column", _r(0.93, 0.25, 1, 0.86)),
            ("bottom bar", _r(0, 0.87, 1, 1)),
        ),
        top=_r(0.025, 0.13, 0.36, 0.49),
        caption=_r(0.37, 0.625, 0.92, 0.86),
        side=_r(0.62, 0.13, 0.92, 0.61),
        source="public screenshots of Douyin's full-screen landscape live room (2025)",
    ),
    PlatformLayout(
        "kuaishou",
        "portrait",
        (1080, 1920),
        (
            ("host badge", _r(0, 0, 0.62, 0.10)),
            ("viewers", _r(0.62, 0, 1, 0.08)),
            ("pendants", _r(0.80, 0.08, 1, 0.22)),
            ("comment feed", _r(0, 0.62, 0.70, 0.88)),
            ("bottom bar", _r(0, 0.89, 1, 1)),
        ),
        top=_r(0.03, 0.11, 0.79, 0.245),
        caption=_r(0.03, 0.465, 0.60, 0.61),
        side=_r(0.62, 0.25, 0.97, 0.61),
        source=_PHONE.format(app="Kuaishou"),
    ),
    PlatformLayout(
        "kuaishou",
        "landscape",
        (1920, 1080),
        (
            ("top bar", _r(0, 0, 1, 0.12)),
            ("comment feed", _r(0, 0.52, 0.36, 0.86)),
            ("gift column", _r(0.92, 0.30, 1, 0.86)),
            ("bottom bar", _r(0, 0.87, 1, 1)),
        ),
        top=_r(0.025, 0.13, 0.36, 0.51),
        caption=_r(0.37, 0.625, 0.91, 0.865),
        side=_r(0.62, 0.13, 0.91, 0.61),
        source="public screenshots of Kuaishou's full-screen landscape live room (2025)",
    ),
    PlatformLayout(
        "taobao",
        "portrait",
        (1080, 1920),  # 淘宝直播 is portrait only
        (
            ("host badge", _r(0, 0, 0.62, 0.105)),
            ("viewers", _r(0.62, 0, 1, 0.085)),
            ("coupons and bag", _r(0.78, 0.085, 1, 0.25)),
            ("comment feed", _r(0, 0.58, 0.70, 0.86)),
            ("product pop-up", _r(0, 0.68, 0.56, 0.86)),
            ("shop bar", _r(0, 0.87, 1, 1)),
        ),
        top=_r(0.03, 0.115, 0.77, 0.245),
        caption=_r(0.03, 0.43, 0.60, 0.57),
        side=_r(0.62, 0.255, 0.97, 0.57),
        source=_PHONE.format(app="Taobao (淘宝直播)"),
    ),
    PlatformLayout(
        "bilibili",
        "portrait",
        (1080, 1920),  # 竖屏直播 in the app
        (
            ("host badge", _r(0, 0, 0.62, 0.10)),
            ("viewers and rank", _r(0.62, 0, 1, 0.09)),
            ("pendants", _r(0.80, 0.09, 1, 0.24)),
            ("comment feed", _r(0, 0.60, 0.74, 0.87)),
            ("bottom bar", _r(0, 0.88, 1, 1)),
        ),
        top=_r(0.03, 0.11, 0.79, 0.245),
        caption=_r(0.03, 0.455, 0.60, 0.595),
        side=_r(0.62, 0.25, 0.97, 0.595),
        source=_PHONE.format(app="Bilibili"),
    ),
    PlatformLayout(
        "bilibili",
        "landscape",
        (1920, 1080),
        (
            ("title bar", _r(0, 0, 1, 0.10)),
            ("danmaku lanes", _r(0, 0.10, 1, 0.27)),  # the common "top quarter" setting
            ("player controls", _r(0, 0.86, 1, 1)),
        ),
        top=_r(0.025, 0.28, 0.40, 0.55),
        caption=_r(0.12, 0.615, 0.60, 0.855),
        side=_r(0.62, 0.28, 0.975, 0.855),
        source="bilibili.com player and app player with controls shown (2025)",
    ),
    PlatformLayout(
        "twitch",
        "landscape",
        (1920, 1080),  # Twitch ingest guidance: up to 1080p60
        (
            ("title on hover", _r(0, 0, 1, 0.09)),
            ("player controls", _r(0, 0.885, 1, 1)),
        ),
        top=_r(0.025, 0.10, 0.40, 0.40),
        caption=_r(0.2, 0.64, 0.8, 0.875),
        side=_r(0.62, 0.10, 0.975, 0.625),
        source="twitch.tv player in theatre and full-screen mode, controls shown (2025)",
    ),
    PlatformLayout(
        "youtube",
        "landscape",
        (1920, 1080),
        (
            ("title bar", _r(0, 0, 1, 0.12)),
            ("player controls", _r(0, 0.85, 1, 1)),
        ),
        top=_r(0.025, 0.13, 0.40, 0.45),
        caption=_r(0.2, 0.605, 0.8, 0.845),
        side=_r(0.62, 0.13, 0.975, 0.59),
        source="youtube.com and YouTube app player with controls shown (2025)",
    ),
    PlatformLayout(
        "youtube",
        "portrait",
        (1080, 1920),  # vertical live, shown in the Shorts feed
        (
            ("top bar", _r(0, 0, 1, 0.08)),
            ("action column", _r(0.84, 0.40, 1, 0.90)),
            ("live chat", _r(0, 0.56, 0.80, 0.80)),
            ("channel and title", _r(0, 0.80, 0.84, 0.90)),
            ("bottom navigation", _r(0, 0.90, 1, 1)),
        ),
        top=_r(0.03, 0.09, 0.97, 0.225),
        caption=_r(0.03, 0.41, 0.80, 0.55),
        side=_r(0.52, 0.235, 0.97, 0.395),
        source="public screenshots of YouTube vertical live in the Shorts feed (2025)",
    ),
    PlatformLayout(
        "none",
        "portrait",
        (720, 1280),
        (),
        top=_r(0.033, 0.019, 0.967, 0.20),
        caption=_r(0.033, 0.79, 0.967, 0.981),
        side=_r(0.033, 0.33, 0.50, 0.775),
        source="nothing covers a recording",
    ),
    PlatformLayout(
        "none",
        "landscape",
        (1280, 720),
        (),
        top=_r(0.019, 0.033, 0.35, 0.40),
        caption=_r(0.2, 0.72, 0.8, 0.967),
        side=_r(0.66, 0.033, 0.981, 0.70),
        source="nothing covers a recording",
    ),
)

_BY_KEY = {(p.platform, p.orientation): p for p in PRESETS}


def orientation_of(width: int, height: int) -> Orientation:
    return "portrait" if height >= width else "landscape"


def orientations(platform: str) -> list[Orientation]:
    return [p.orientation for p in PRESETS if p.platform == platform]


def preset_for(platform: str, width: int, height: int) -> PlatformLayout:
    """The preset for a frame of this shape; KeyError when the platform has no such layout."""
    return _BY_KEY[(platform, orientation_of(width, height))]  # type: ignore[index]
