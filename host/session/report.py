"""The end-of-session table: what was answered, what was dropped, how long each stage took."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from host.session.audit import SpokenReply
from host.session.live import SessionResult
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


def latency_lines(records: Sequence[SpokenReply]) -> list[str]:
    """One plain line per stage reached, `comment → stage  p50 … ms  p95 … ms` (benches)."""
    lines = []
    for stage, values in stage_latencies(records).items():
        pct = percentiles(values)
        if pct:
            lines.append(
                f"comment → {stage:<16} p50 {pct[0] * 1000:7.0f} ms   p95 {pct[1] * 1000:7.0f} ms"
            )
    return lines


def print_exchange(console: Console, record: SpokenReply) -> None:
    """One answered comment as it finishes on air: who asked what, the reply, how fast."""
    received = record.stamps.get("received")
    out = record.stamps.get("first_frame_out")
    latency = f"{(out - received) * 1000:.0f} ms" if received is not None and out else "-"
    askers = ", ".join(record.askers)
    asked = Text(f"{askers}: {record.comment}")
    asked.stylize("bold", 0, len(askers))
    console.print(asked, soft_wrap=True)  # viewer text is never read as markup
    said = Text(f"  → {record.reply}  ")
    said.append(f"({record.backend}, {latency} to first frame)", style="dim")
    console.print(said, soft_wrap=True)


def print_report(console: Console, result: SessionResult) -> None:
    """Counts that add up: every comment received was answered, merged, dropped or left."""
    answered, merged = len(result.records), result.merged
    dropped = sum(result.drops.values())
    left = result.comments - answered - merged - dropped
    summary = Table(title="Session", show_header=False)
    summary.add_row("comments received", str(result.comments))
    summary.add_row("  answered", str(answered))
    summary.add_row("  merged into another's answer", str(merged))
    summary.add_row("  dropped", str(dropped))
    for reason, n in sorted(result.drops.items()):
        summary.add_row(f"    {reason}", str(n))
    summary.add_row("  not answered (queued at the end, or every line stopped)", str(left))
    summary.add_row("pitch sentences spoken", str(len(result.pitches)))
    console.print(summary)
    records = result.records

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
