"""Which product an idle pitch names: the rotation never pitches what cannot be bought."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from host.catalog.facts import ProductFacts
from host.reply.answerer import CatalogAnswerer
from host.session.pitching import PitchPlan


class Shelf:
    """A fixed lineup and on-screen product; `PitchPlan.product` only reads these two."""

    def __init__(self, lineup: Sequence[ProductFacts], current: ProductFacts | None = None):
        self._lineup = lineup
        self._current = current

    def lineup(self) -> Sequence[ProductFacts]:
        return self._lineup

    def current(self) -> ProductFacts | None:
        return self._current


def product(sku: str, stock: int | None) -> ProductFacts:
    return ProductFacts(sku=sku, name=sku, price=Decimal("10"), currency="CNY", stock=stock)


def plan(rotate_s: float) -> PitchPlan:
    return PitchPlan(CatalogAnswerer(), idle_s=5.0, rotate_s=rotate_s, language="zh")


def test_rotation_skips_sold_out_products_and_keeps_unknown_stock() -> None:
    shelf = Shelf([product("A", 3), product("GONE", 0), product("B", None), product("C", 1)])
    pitched = [plan(10.0).product(shelf, now) for now in range(0, 60, 10)]
    assert [p.sku for p in pitched if p is not None] == ["A", "B", "C", "A", "B", "C"]


def test_rotation_pitches_nothing_when_every_product_is_sold_out() -> None:
    shelf = Shelf([product("A", 0), product("B", 0)], current=product("A", 0))
    assert [plan(10.0).product(shelf, now) for now in (0, 10, 20)] == [None, None, None]


def test_without_a_schedule_a_sold_out_screen_product_gives_way_to_one_in_stock() -> None:
    gone, cup = product("GONE", 0), product("CUP", 4)
    assert plan(0).product(Shelf([gone, cup], current=cup), 0) == cup
    assert plan(0).product(Shelf([gone, cup], current=gone), 0) == cup
    assert plan(0).product(Shelf([gone], current=gone), 0) is None
