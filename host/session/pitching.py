"""Idle pitches: what the session says when nobody has asked anything for a while.

A stream that goes quiet loses viewers, so after `idle_s` with nothing queued the host
pitches a lineup product, moving to the next one every `rotate_s` seconds of session time
(the operator's schedule); with no schedule it pitches the product on screen.
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
        lineup = catalog.lineup()
        if self.rotate_s <= 0 or not lineup:
            return catalog.current() or next(iter(lineup), None)
        return lineup[self.slot(now) % len(lineup)]
