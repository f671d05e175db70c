"""Idle pitches: what the session says when nobody has asked anything for a while.

A stream that goes quiet loses viewers, so after `idle_s` with nothing queued the host
pitches a lineup product, moving to the next one every `rotate_s` seconds of session time
(the operator's schedule); with no schedule it pitches the product on screen. Sold-out
products are left out of both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from host.catalog.facts import CatalogView, ProductFacts
from host.config import Settings
from host.reply.events import Pitcher
from host.reply.prompts import Language


@dataclass(frozen=True)
class PitchPlan:
    pitcher: Pitcher
    idle_s: float
    rotate_s: float
    language: Language
    offset: int = 0  # rotation slots already used before a restart (from the checkpoint)

    @classmethod
    def from_settings(cls, settings: Settings, pitcher: Pitcher) -> PitchPlan | None:
        if settings.idle_pitch_s <= 0:
            return None
        return cls(pitcher, settings.idle_pitch_s, settings.pitch_rotate_s, settings.pitch_language)

    def resumed(self, slot: int) -> PitchPlan:
        """The plan continuing a rotation that had reached `slot` before a restart."""
        return dataclasses.replace(self, offset=slot)

    def slot(self, now: float) -> int:
        """The rotation slot at session time `now`, counted across restarts."""
        return self.offset + (int(now // self.rotate_s) if self.rotate_s > 0 else 0)

    def product(self, catalog: CatalogView, now: float) -> ProductFacts | None:
        """The product to pitch at `now`, or None when nothing on offer can be bought.

        A sold-out product is never pitched (a pitch invites a purchase); one whose stock
        is unknown is. The rotation runs over the products still on offer.
        """
        on_offer = [p for p in catalog.lineup() if p.stock_state != "out"]
        if self.rotate_s > 0 and on_offer:
            return on_offer[self.slot(now) % len(on_offer)]
        current = catalog.current()
        if current is not None and current.stock_state != "out":
            return current
        return next(iter(on_offer), None)
