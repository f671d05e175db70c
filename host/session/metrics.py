"""Prometheus metrics of the streams a process runs, every series labelled with its stream.

One `CollectorRegistry` per process (made by `host run` or `host serve`, never a global), so
two apps in one test stay apart. Counters that happen at events are incremented there; what
the program and sinks already count (frames, lateness, reconnects, the audit journal) is read
from their stats at scrape time by `SessionCollector`, so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.comments = Counter(
            "livehost_comments", "Comments received", ["stream", "platform"], registry=registry
        )
        self.dropped = Counter(
            "livehost_comments_dropped",
            "Comments not answered, by reason",
            ["stream", "reason"],
            registry=registry,
        )
        self.replies = Counter(
            "livehost_replies",
            "Replies spoken, by backend",
            ["stream", "backend"],
            registry=registry,
        )
        self.pitches = Counter("livehost_pitches", "Pitches spoken", ["stream"], registry=registry)
        self.cuts = Counter(
            "livehost_cuts",
            "Lines cut midway for a more urgent comment",
            ["stream"],
            registry=registry,
        )
        self.guard_stops = Counter(
            "livehost_guard_stops", "Lines the guard stopped", ["stream"], registry=registry
        )
        self.latency = Histogram(
            "livehost_stage_latency_seconds",
            "Seconds from a comment's arrival to each stage",
            ["stream", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )


@dataclass
class Reading:
    """What `SessionCollector` reads from a running session at scrape time."""

    frames: int
    late_frames: int
    max_lateness_s: float
    queue_len: int
    queue_age_s: float
    sink_reconnects: dict[str, int]
    sink_up: dict[str, bool]
    restarts: dict[str, int]
    audit_pending: int
    audit_lost: int
    audit_db_failures: int
    catalog_failures: int


class SessionCollector(Collector):
    def __init__(self, stream: str, read: Callable[[], Reading]) -> None:
        self.stream = stream
        self._read = read

    def collect(self) -> Iterator[Metric]:
        r = self._read()
        s = [self.stream]

        def counter(name: str, doc: str, value: float) -> Metric:
            family = CounterMetricFamily(name, doc, labels=["stream"])
            family.add_metric(s, value)
            return family

        def gauge(name: str, doc: str, value: float) -> Metric:
            family = GaugeMetricFamily(name, doc, labels=["stream"])
            family.add_metric(s, value)
            return family

        yield counter("livehost_frames", "Program frames emitted", r.frames)
        yield counter("livehost_frames_late", "Frames started over a frame late", r.late_frames)
        yield gauge("livehost_frame_lateness_max_seconds", "Worst frame lateness", r.max_lateness_s)
        yield gauge("livehost_queue_length", "Comments waiting for an answer", r.queue_len)
        yield gauge(
            "livehost_queue_age_seconds", "Wait of the oldest queued comment", r.queue_age_s
        )
        reconnects = CounterMetricFamily(
            "livehost_sink_reconnects", "Sink reconnects", labels=["stream", "sink"]
        )
        up = GaugeMetricFamily(
            "livehost_sink_up", "1 while a sink is writing", labels=["stream", "sink"]
        )
        for sink, n in r.sink_reconnects.items():
            reconnects.add_metric([self.stream, sink], n)
        for sink, ok in r.sink_up.items():
            up.add_metric([self.stream, sink], 1.0 if ok else 0.0)
        yield reconnects
        yield up
        restarts = CounterMetricFamily(
            "livehost_stage_restarts",
            "Stage restarts by the supervisor",
            labels=["stream", "stage"],
        )
        for stage, n in r.restarts.items():
            restarts.add_metric([self.stream, stage], n)
        yield restarts
        yield gauge(
            "livehost_audit_pending", "Audit events waiting in the journal", r.audit_pending
        )
        yield counter(
            "livehost_audit_lost", "Audit events lost (queue or journal full)", r.audit_lost
        )
        yield counter(
            "livehost_audit_db_failures", "Failed audit writes (retried)", r.audit_db_failures
        )
        yield counter(
            "livehost_catalog_refresh_failures", "Catalog refreshes that failed", r.catalog_failures
        )
