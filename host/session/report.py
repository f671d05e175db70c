"""The end-of-session table: what was answered, what was dropped, how long each stage took."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.table import Table

from host.session.audit import SpokenReply
from host.trace import STAGES


def stage_latencies(records: Sequence[SpokenReply]) -> dict[str, list[float]]:
    """Seconds from `received` to each later stage, per stage, over the replies that reached it."""
    out: dict[str, list[float]] = {stage: [] for stage in STAGES[1:]}
    for record in records:
        received = record.stamps.get("received")
        if received is None:
            continue
        for stage in out:
            if stage in record.stamps:
                out[stage].append(record.stamps[stage] - received)
    return out


def percentiles(values: Sequence[float]) -> tuple[float, float] | None:
    if not values:
        return None
    p50, p95 = np.percentile(np.asarray(values), [50, 95])
    return float(p50), float(p95)


def print_report(
    console: Console,
    records: Sequence[SpokenReply],
    drops: dict[str, int],
    comments: int,
) -> None:
    summary = Table(title="Session", show_header=False)
    summary.add_row("comments received", str(comments))
    summary.add_row("replies spoken", str(len(records)))
    summary.add_row("comments dropped", str(sum(drops.values())))
    for reason, n in sorted(drops.items()):
        summary.add_row(f"  dropped: {reason}", str(n))
    console.print(summary)

    table = Table(title="Latency from comment received, ms (includes waiting behind other replies)")
    table.add_column("stage")
    table.add_column("n", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    for stage, values in stage_latencies(records).items():
        pct = percentiles(values)
        p50, p95 = (f"{pct[0] * 1000:.0f}", f"{pct[1] * 1000:.0f}") if pct else ("-", "-")
        table.add_row(stage, str(len(values)), p50, p95)
    console.print(table)
