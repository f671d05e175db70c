"""The catalog as a live session reads it: an in-memory snapshot a background task refreshes.

A session must never wait on the database: frames, replies and the guard read the snapshot,
and a refresh runs in a worker thread. The refresh asks a cheap version question first
(count and newest `updated_at`: every edit, import and lineup change stamps it) and reloads
only when the catalog moved. Before each reply the session asks for a refresh with a short
deadline, so a price changed a second ago is the price spoken now; when the database is away
the last snapshot stays on air and the refresh is retried.

A stream may sell a lineup of its own (`lineup:` in the stream file): its products get link
numbers 1..n in that order, in memory only, so two streams of one merchant can differ.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from host.catalog.facts import Candidate, ProductFacts
from host.catalog.policy import StorePolicy, read_policy
from host.catalog.product_rows import active_products, facts_of
from host.catalog.retrieval import ProductIndex
from host.catalog.skus import normalise_sku
from host.db.models import Merchant, Product

log = logging.getLogger(__name__)

Version = tuple[int, datetime | None]


@dataclass(frozen=True)
class Snapshot:
    version: Version
    products: dict[str, ProductFacts]  # every active product by SKU
    lineup: tuple[ProductFacts, ...]  # in link order
    index: ProductIndex
    policy: StorePolicy


def catalog_version(session: Session, merchant: str) -> Version:
    count, newest = session.execute(
        select(func.count(Product.id), func.max(Product.updated_at))
        .join(Merchant)
        .where(Merchant.name == merchant, Product.active.is_(True))
    ).one()
    return int(count), newest


def load_snapshot(engine: Engine, merchant: str, lineup: Sequence[str] | None) -> Snapshot:
    """One consistent read of the merchant's products, with the stream's lineup applied."""
    with Session(engine) as session, session.begin():
        version = catalog_version(session, merchant)
        rows = [facts_of(p) for p in session.scalars(active_products(merchant))]
    if lineup is not None:
        links = {sku: n for n, sku in enumerate(lineup, start=1)}
        rows = [dataclasses.replace(p, link=links.get(p.sku)) for p in rows]
    products = {p.sku: p for p in rows}
    linked = sorted((p for p in rows if p.link is not None), key=lambda p: (p.link, p.sku))
    policy = read_policy(engine, merchant)
    return Snapshot(version, products, tuple(linked), ProductIndex(rows), policy)


class LiveCatalog:
    """`CatalogView` over the newest snapshot; every read is memory only."""

    def __init__(
        self,
        engine: Engine,
        merchant: str,
        *,
        lineup: Sequence[str] | None = None,
        refresh_s: float = 1.0,
        deadline_s: float = 0.5,
    ) -> None:
        self._engine = engine
        self.merchant = merchant
        self._lineup = [normalise_sku(sku) for sku in lineup] if lineup is not None else None
        self.refresh_s = refresh_s
        self.deadline_s = deadline_s
        self._snapshot: Snapshot | None = None
        self._current_sku: str | None = None
        self._inflight: asyncio.Future[bool] | None = None
        self.failures = 0  # refreshes that failed or missed their deadline, for metrics
        self.last_error: str | None = None

    def load(self) -> None:
        """The first snapshot, read before the stream starts (a missing catalog fails here)."""
        self._snapshot = self._checked(self._lineup)

    def set_lineup(self, skus: Sequence[str] | None) -> None:
        """This stream's own lineup from now on (None: the merchant's links), read at once;
        a SKU the merchant does not sell raises LookupError and changes nothing."""
        lineup = [normalise_sku(sku) for sku in skus] if skus is not None else None
        self._snapshot = self._checked(lineup)
        self._lineup = lineup

    def _checked(self, lineup: list[str] | None) -> Snapshot:
        snapshot = load_snapshot(self._engine, self.merchant, lineup)
        missing = [sku for sku in lineup or () if sku not in snapshot.products]
        if missing:
            raise LookupError(
                f"lineup names products merchant {self.merchant!r} does not sell: "
                + ", ".join(missing)
            )
        return snapshot

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("LiveCatalog.load() was not called")
        return self._snapshot

    async def refresh(self) -> bool:
        """Bring the snapshot up to date within the deadline; False leaves the old one on air.

        One refresh runs at a time: a database that hangs costs one worker thread, not one
        per caller.
        """
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(asyncio.to_thread(self._refresh_now))
        try:
            return await asyncio.wait_for(asyncio.shield(self._inflight), self.deadline_s)
        except TimeoutError:
            self._failed("catalog refresh missed its deadline")
        except Exception as error:
            self._failed(f"{type(error).__name__}: {error}")
        return False

    async def keep_fresh(self) -> None:
        """Refresh for ever (a session task): the idle product card follows live edits."""
        while True:
            await asyncio.sleep(self.refresh_s)
            await self.refresh()

    def _refresh_now(self) -> bool:
        with Session(self._engine) as session:
            moved = catalog_version(session, self.merchant) != self.snapshot.version
        if moved:
            self._snapshot = load_snapshot(self._engine, self.merchant, self._lineup)
        else:  # the policy is one small row: read it every time rather than version it
            policy = read_policy(self._engine, self.merchant)
            if policy != self.snapshot.policy:
                self._snapshot = dataclasses.replace(self.snapshot, policy=policy)
        return True

    def _failed(self, reason: str) -> None:
        self.failures += 1
        if reason != self.last_error:
            log.warning("catalog of %s: %s; the last snapshot stays on air", self.merchant, reason)
        self.last_error = reason

    # CatalogView
    def lineup(self) -> Sequence[ProductFacts]:
        return self.snapshot.lineup

    def current(self) -> ProductFacts | None:
        snap = self.snapshot
        if self._current_sku is not None and self._current_sku in snap.products:
            return snap.products[self._current_sku]
        return snap.lineup[0] if snap.lineup else None

    def set_current(self, sku: str | None) -> None:
        """Present `sku` from now on (None: back to the first product of the lineup)."""
        if sku is not None and self.get(sku) is None:
            raise KeyError(f"no active product {sku!r} for merchant {self.merchant!r}")
        self._current_sku = None if sku is None else normalise_sku(sku)

    def policy(self) -> StorePolicy:
        return self.snapshot.policy

    def get(self, sku: str) -> ProductFacts | None:
        return self.snapshot.products.get(sku) or self.snapshot.products.get(normalise_sku(sku))

    def search(self, text: str, limit: int = 3) -> list[Candidate]:
        snap = self.snapshot
        found = snap.index.search(text, snap.index.lineup_skus, limit)
        return [Candidate(snap.products[c.product.sku], c.score) for c in found]
