"""The set behind the host: the lineup's photos on a wall, drawn once per lineup change."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from host.catalog.facts import Candidate, ProductFacts, StorePolicy
from host.catalog.photos import MediaStore, media_dir
from host.config import Settings
from host.face.builtin import IllustratedAnimator
from host.session.director import SET_REFRESH_S, Director
from host.stream.backdrop import lineup_set
from host.stream.brand import colour_of

WIDTH, HEIGHT, FPS = 360, 640, 25
COLOURS = [(230, 30, 30), (30, 160, 40), (30, 60, 220), (240, 200, 20)]


class Lineup:
    """A catalog whose lineup the test changes, as `host catalog lineup` would."""

    def __init__(self, products: list[ProductFacts]) -> None:
        self.products = products

    def lineup(self) -> Sequence[ProductFacts]:
        return self.products

    def current(self) -> ProductFacts | None:
        return self.products[0] if self.products else None

    def search(self, text: str, limit: int = 3) -> Sequence[Candidate]:
        return []

    def get(self, sku: str) -> ProductFacts | None:
        return None

    def policy(self) -> StorePolicy:
        return StorePolicy()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, width=WIDTH, height=HEIGHT, var_dir=tmp_path / "var"
    )


def products(settings: Settings, tmp_path: Path, colours: list[tuple[int, int, int]]) -> list:
    media = MediaStore(media_dir(settings), 1 << 22, 1 << 24)
    made = []
    for link, colour in enumerate(colours, start=1):
        name = f"p{link}-{colour[0]}.png"
        Image.new("RGB", (400, 400), colour).save(tmp_path / name)
        ref = media.ingest(name, tmp_path, write=True)
        made.append(
            ProductFacts(
                sku=f"P{link}",
                name=f"商品{link}",
                price=Decimal(99),
                currency="CNY",
                link=link,
                attributes={"image": ref},
            )
        )
    return made


def near(frame: np.ndarray, colour: tuple[int, int, int]) -> int:
    """Pixels within a few levels of `colour` (the set is softened a little)."""
    return int((np.abs(frame.astype(int) - np.array(colour)).max(axis=2) < 40).sum())


def test_the_set_shows_every_lineup_photo_beside_the_host(
    settings: Settings, tmp_path: Path
) -> None:
    lineup = products(settings, tmp_path, COLOURS)
    wall = lineup_set(settings)(lineup)
    assert wall is not None and wall.shape == (HEIGHT, WIDTH, 3)
    for colour in COLOURS:
        assert near(wall, colour) > 1000, colour  # each photo, large enough to recognise
    left = wall[:, : WIDTH // 2]
    assert near(left, COLOURS[0]) > 1000 and near(left, COLOURS[1]) == 0  # two columns
    assert lineup_set(settings)(lineup) is wall  # drawn once per lineup, then reused
    assert lineup_set(settings)([dataclasses.replace(lineup[0], attributes={})]) is None


def test_the_host_stands_in_front_of_the_set(settings: Settings, tmp_path: Path) -> None:
    animator = IllustratedAnimator(WIDTH, HEIGHT, FPS)
    before = animator.idle(3)
    wall = lineup_set(settings)(products(settings, tmp_path, COLOURS))
    assert wall is not None and animator.set_backdrop(wall)
    after = animator.idle(3)
    x, y, w, h = animator.mouth_box  # grown for motion: its middle is the face, always
    face = np.s_[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4]
    assert np.array_equal(before[face], after[face])  # the host is drawn over it, unchanged
    assert near(after, COLOURS[0]) > 500 and near(before, COLOURS[0]) < 50
    with pytest.raises(ValueError, match="backdrop is"):
        animator.set_backdrop(np.zeros((10, 10, 3), np.uint8))


def test_the_director_draws_the_set_again_only_when_the_lineup_changes(
    settings: Settings, tmp_path: Path
) -> None:
    catalog = Lineup(products(settings, tmp_path, COLOURS[:2]))
    drawn: list[int] = []
    draw = lineup_set(settings)

    def counted(lineup: Sequence[ProductFacts]) -> np.ndarray | None:
        drawn.append(len(lineup))
        return draw(lineup)

    animator = IllustratedAnimator(WIDTH, HEIGHT, FPS)
    director = Director(animator, catalog, 48000, FPS, fast=False, busy=lambda: False,
                        backdrop=counted)  # fmt: skip

    async def play(frames: range) -> np.ndarray:
        frame = None
        for index in frames:
            frame = (await director.next_frame(index)).image
            deadline = time.monotonic() + 5
            while director._set_job is not None and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # the thread drawing the set; frames never wait
        assert frame is not None
        return frame

    refresh = round(SET_REFRESH_S * FPS)
    first = asyncio.run(play(range(0, 2 * refresh)))
    assert drawn == [2]  # once, although the lineup was looked at twice
    assert near(first, COLOURS[0]) > 300 and near(first, COLOURS[2]) == 0
    catalog.products = products(settings, tmp_path, COLOURS[2:])
    second = asyncio.run(play(range(2 * refresh, 3 * refresh + 2)))
    assert drawn == [2, 2]
    assert near(second, COLOURS[2]) > 300 and near(second, COLOURS[0]) == 0
    assert colour_of(settings.brand_colour) == (255, 77, 79)
