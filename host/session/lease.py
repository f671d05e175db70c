"""A stream's lease: which session may write for it, fenced by an epoch.

When a session is restarted elsewhere (Ray moved its actor after a lost node), the old one
may still be running: a partitioned machine, a process Ray could not reach. Waiting for its
heartbeat to go stale would keep the stream off air for that long, so the successor takes
over at once and raises the stream's epoch instead. Every audit write checks, inside its
transaction, that its session's epoch is still the stream's (`check`), so a zombie's rows are
refused from the moment its successor holds the lease; its `LeaseKeeper` sees the new epoch
at its next renewal and stops the zombie's sinks, so the platform gets one push.

A keeper that cannot reach the database cannot know whether a successor exists; in a
cluster (`lapse_s` set) it gives the stream up after `lapse_s`, the embedded default keeps
streaming through a database outage as it always did.

A warm standby (`Standby`) is a second, fully built session of the stream on another
machine that watches the lease and takes over once it goes unrenewed for `after_s`: a
restart's import and build are paid before the loss, not after it. It measures staleness
on its own monotonic clock (the lease row seen unchanged), so clocks that disagree between
machines do not matter.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from host.db import models as db
from host.db.models import utcnow

log = logging.getLogger(__name__)


class Fenced(Exception):
    """A newer session of the stream holds its lease: this one may no longer write."""


def take(engine: Engine, stream: str, owner: str, *, fresh: bool) -> tuple[int, datetime]:
    """Raise the stream's epoch and hold it; the new epoch and when the stream went on air.

    `fresh`: a new broadcast (no interrupted session to continue), so its program clock
    starts now; a takeover keeps the predecessor's start, so the push continues its clock.
    """
    with Session(engine) as s, s.begin():
        row = s.get(db.StreamLease, stream, with_for_update=True)
        now = utcnow()
        if row is None:
            row = db.StreamLease(stream=stream, epoch=0, on_air_since=now)
            s.add(row)
        row.epoch += 1
        row.owner, row.renewed_at, row.session_id = owner, now, None
        if fresh:
            row.on_air_since = now
        since = row.on_air_since
        return row.epoch, since if since.tzinfo else since.replace(tzinfo=UTC)  # SQLite: naive


def check(s: Session, stream: str, epoch: int) -> None:
    """Inside a write's transaction: raise `Fenced` unless `epoch` is the stream's current
    one. The lease row is read with a share lock, so a takeover waits for this write to
    commit (it is before the fence) or this write waits for the takeover (and is refused)."""
    current = s.scalar(
        select(db.StreamLease.epoch)
        .where(db.StreamLease.stream == stream)
        .with_for_update(read=True)
    )
    if current != epoch:
        raise Fenced(f"stream {stream}: epoch {epoch} was fenced by epoch {current}")


class StreamOver(Exception):
    """The stream a standby waits on ended: there is nothing to take over."""


class Standby:
    """Waits until the stream's lease goes unrenewed for `after_s`, then claims it (so a
    second standby, seeing the row renewed by the claim, keeps waiting); the caller then
    takes it over (`take`) as any restarted session does.

    `armed`: take over a lease not seen renewed. A standby placed beside a new stream's
    first session is not armed until it has seen that session renew (the first session
    may take longer to build than `after_s`); one Ray restarted is armed at once, since
    nobody else may be left to take over.
    """

    def __init__(self, engine: Engine, stream: str, *, after_s: float, armed: bool) -> None:
        self.stream, self.after_s, self.armed = stream, after_s, armed
        self.poll_s = after_s / 10  # the takeover's added delay; 10 reads per `after_s`
        self._engine = engine

    async def wait(self) -> None:
        """Until this standby holds the claim; `StreamOver` when the stream ended."""
        seen: tuple[int, datetime] | None = None
        since = time.monotonic()
        while True:
            try:
                row = await asyncio.to_thread(self._look)
            except (OperationalError, InterfaceError) as error:
                # the database is away for the session on air too: its keeper gives the
                # stream up after LEASE_LAPSE_S, and staleness counts from when it is back
                log.warning("stream %s: standby cannot read the lease (%s)", self.stream, error)
                seen, since = None, time.monotonic()
                await asyncio.sleep(self.after_s)
                continue
            now = time.monotonic()
            if row is None:  # no session ever took it: a restarted one will, after a wait
                if self.armed and now - since > self.after_s:
                    return
            else:
                epoch, renewed_at, status = row
                if status == "ended" and self.armed:  # unarmed: the last broadcast's end
                    raise StreamOver(f"stream {self.stream} ended")
                if (epoch, renewed_at) != seen:
                    self.armed = self.armed or seen is not None
                    seen, since = (epoch, renewed_at), now
                elif (
                    self.armed
                    and now - since > self.after_s
                    and await asyncio.to_thread(self._claim, epoch, renewed_at)
                ):
                    log.warning(
                        "stream %s: lease of epoch %d not renewed for %.1f s; taking over",
                        self.stream,
                        epoch,
                        now - since,
                    )
                    return
            await asyncio.sleep(self.poll_s)

    def _look(self) -> tuple[int, datetime, str | None] | None:
        with Session(self._engine) as s:
            found = s.execute(
                select(db.StreamLease.epoch, db.StreamLease.renewed_at, db.StreamSession.status)
                .outerjoin(db.StreamSession, db.StreamSession.id == db.StreamLease.session_id)
                .where(db.StreamLease.stream == self.stream)
            ).first()
        return None if found is None else (found[0], found[1], found[2])

    def _claim(self, epoch: int, renewed_at: datetime) -> bool:
        """Renew the stale lease as seen, if nobody changed it meanwhile (compare and set)."""
        with Session(self._engine) as s, s.begin():
            done = s.execute(
                update(db.StreamLease)
                .where(
                    db.StreamLease.stream == self.stream,
                    db.StreamLease.epoch == epoch,
                    db.StreamLease.renewed_at == renewed_at,
                )
                .values(renewed_at=utcnow())
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]


class LeaseKeeper:
    """Renews a session's lease every `renew_s` in a thread of its own (never on the frame
    path) and calls `on_lost` once, from that thread, when the lease is gone."""

    def __init__(
        self,
        engine: Engine,
        stream: str,
        epoch: int,
        session_id: int,
        *,
        renew_s: float,
        lapse_s: float | None,
        on_lost: Callable[[str], None],
    ) -> None:
        self.stream, self.epoch, self.session_id = stream, epoch, session_id
        self.lost: str | None = None
        self._engine = engine
        self._renew_s, self._lapse_s = renew_s, lapse_s
        self._on_lost = on_lost
        self._lost_once = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{stream}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._renew_s + 5.0)

    def lose(self, reason: str) -> None:
        """The lease is gone (seen here or by a refused write): call `on_lost` once."""
        with self._lost_once:
            if self.lost is not None:
                return
            self.lost = reason
        log.error("stream %s, epoch %d: %s; stopping this session", self.stream, self.epoch, reason)
        self._on_lost(reason)

    def _run(self) -> None:
        renewed = time.monotonic()
        while not self._stop.wait(self._renew_s) and self.lost is None:
            try:
                held = self._renew()
            except (OperationalError, InterfaceError) as error:
                away = time.monotonic() - renewed
                if self._lapse_s is not None and away > self._lapse_s:
                    self.lose(f"lease not renewed for {away:.0f} s ({type(error).__name__})")
                continue
            if not held:
                self.lose("a newer session took over the stream")
                return
            renewed = time.monotonic()

    def _renew(self) -> bool:
        with Session(self._engine) as s, s.begin():
            done = s.execute(
                update(db.StreamLease)
                .where(db.StreamLease.stream == self.stream, db.StreamLease.epoch == self.epoch)
                .values(renewed_at=utcnow(), session_id=self.session_id)
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]
