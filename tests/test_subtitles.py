"""Subtitles follow the voice: words light up as they are said, never ahead of the speech."""

from __future__ import annotations

import numpy as np

from host.config import Settings
from host.face.base import MouthPose
from host.session.speech import caption_marks
from host.stream.base import Overlay
from host.stream.overlays import OverlayCompositor

TEXT = "The jacket is 399 yuan today"


def poses(pattern: str) -> list[MouthPose]:
    """'.' silent frame, 'o' voiced frame."""
    return [MouthPose(open=0.8 if c == "o" else 0.0) for c in pattern]


def test_marks_only_advance_while_the_voice_is_heard() -> None:
    marks = caption_marks(TEXT, poses("...oooo....oooo..."))
    assert marks == sorted(marks)
    assert marks[:3] == [0, 0, 0]  # leading silence says nothing
    assert marks[-1] == len(TEXT)
    assert marks[7] == marks[10]  # a pause holds the subtitle still


def test_english_marks_land_on_word_boundaries_chinese_on_characters() -> None:
    english = caption_marks(TEXT, poses("o" * 40))
    assert all(m == len(TEXT) or m == 0 or TEXT[m] == " " for m in english)
    chinese = caption_marks("羽绒服今天三百九十九元", poses("o" * 11))
    assert chinese == list(range(1, 12))


def white_pixels(frame: np.ndarray) -> int:
    return int((frame.min(axis=2) > 235).sum())


def test_said_words_are_white_and_the_rest_grey() -> None:
    compositor = OverlayCompositor(Settings(_env_file=None, noncompliant_hide_ai_label=True))  # type: ignore[call-arg]
    black = np.zeros((1280, 720, 3), np.uint8)
    counts = [
        white_pixels(compositor.composite(black, Overlay(caption=TEXT, spoken=n)))
        for n in (0, 10, len(TEXT))
    ]
    assert counts[0] < counts[1] < counts[2]
    full = compositor.composite(black, Overlay(caption=TEXT))
    assert white_pixels(full) == counts[2]
    assert counts[0] < counts[2] // 10
