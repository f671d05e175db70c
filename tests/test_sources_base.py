"""The pieces every chat source shares: dedupe, backoff, health."""

from __future__ import annotations

from host.chat.sources import Backoff, Deduper, Health


def test_deduper_remembers_a_bounded_window() -> None:
    d = Deduper(size=3)
    assert not d.seen("a")
    assert d.seen("a")
    for m in ("b", "c", "d"):
        assert not d.seen(m)
    assert not d.seen("a")  # evicted, so new again


def test_backoff_grows_to_its_cap_and_resets() -> None:
    b = Backoff(base=1.0, cap=8.0)
    delays = [b.next_delay() for _ in range(8)]
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert max(delays[4:]) > max(delays[:1])
    b.reset()
    assert b.next_delay() <= 1.0


def test_health_tracks_state_changes() -> None:
    h = Health()
    h.set("connected")
    since = h.since
    h.set("connected")
    assert h.since == since
    h.set("reconnecting", "connection reset")
    assert h.state == "reconnecting" and h.last_error == "connection reset"
