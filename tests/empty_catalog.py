"""A catalog view with nothing in it: for director tests that need no product."""

from __future__ import annotations

from collections.abc import Sequence

from host.catalog.facts import Candidate, ProductFacts


class NoProduct:
    def lineup(self) -> Sequence[ProductFacts]:
        return []

    def current(self) -> ProductFacts | None:
        return None

    def search(self, text: str, limit: int = 3) -> Sequence[Candidate]:
        return []

    def get(self, sku: str) -> ProductFacts | None:
        return None
