"""The eval report as a page a marketer opens: tables, charts as inline SVG, and JSON.

The page needs nothing from the network (no CDN, no script): it is mailed around and
opened offline, so charts are SVG drawn here and styles are inline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path

import jinja2

from host.promptlib.evaluate import EvalReport

TEMPLATES = Path(__file__).with_name("templates")
COLOURS = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626")
BAR_W, GAP, CHART_H, TOP, BOTTOM, LEFT = 26, 18, 180, 40, 46, 44
LEGEND_W = 130  # room per label in the legend


def grouped_bars(
    title: str, groups: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], unit: str
) -> str:
    """An SVG bar chart: one group of bars per name in `groups`, one bar per series (label)."""
    peak = max([v for _, values in series for v in values] + [1e-9])
    per_group = len(series) * BAR_W + GAP
    width = max(LEFT + len(groups) * per_group + GAP, LEFT + LEGEND_W * len(series))
    height = TOP + CHART_H + BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + CHART_H}" x2="{width - GAP / 2}" y2="{TOP + CHART_H}" '
        'stroke="#999"/>',
    ]
    for g, group in enumerate(groups):
        x0 = LEFT + GAP / 2 + g * per_group
        for s, (_, values) in enumerate(series):
            value = values[g]
            h = CHART_H * value / peak
            x, y = x0 + s * BAR_W, TOP + CHART_H - h
            colour = COLOURS[s % len(COLOURS)]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{BAR_W - 4}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(series[s][0])}: {value:.3g}{unit}</title></rect>'
            )
            parts.append(
                f'<text x="{x + (BAR_W - 4) / 2:.1f}" y="{y - 3:.1f}" font-size="9" '
                f'text-anchor="middle">{value:.3g}</text>'
            )
        parts.append(
            f'<text x="{x0 + len(series) * BAR_W / 2:.1f}" y="{TOP + CHART_H + 16}" '
            f'font-size="11" text-anchor="middle">{escape(group)}</text>'
        )
    for s, (name, _) in enumerate(series):
        x = LEFT + s * LEGEND_W
        colour = COLOURS[s % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{height - 7}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _pct(value: float | None) -> float:
    return 0.0 if value is None else round(value * 100, 1)


def charts(report: EvalReport) -> list[str]:
    labels = report.labels
    quality = [
        (
            r.label,
            [
                _pct(r.metrics["answered_rate"]),
                _pct(r.metrics["facts_correct"]),
                _pct(r.metrics["language_match"]),
                _pct(r.metrics["pitch_variety"]),
            ],
        )
        for r in labels
    ]
    latency = [
        (r.label, [r.metrics["latency_p50_ms"], r.metrics["latency_p95_ms"]]) for r in labels
    ]
    kinds = sorted({k for r in labels for k in r.metrics["guard_violations"]}) or ["none"]
    stops = [
        (r.label, [float(r.metrics["guard_violations"].get(k, 0)) for k in kinds]) for r in labels
    ]
    return [
        grouped_bars(
            "Quality (%)", ["answered", "facts correct", "language", "pitch variety"], quality, "%"
        ),
        grouped_bars("Latency (ms)", ["p50", "p95"], latency, " ms"),
        grouped_bars("Guard stops by kind", kinds, stops, ""),
    ]


def write_report(report: EvalReport, folder: Path) -> tuple[Path, Path]:
    """report.html and report.json in `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    html = env.get_template("eval_report.html.j2").render(
        report=report, charts=[jinja2.utils.markupsafe.Markup(c) for c in charts(report)]
    )
    page = folder / "report.html"
    page.write_text(html, encoding="utf-8")
    data = folder / "report.json"
    data.write_text(
        json.dumps(report.as_json(), ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return page, data
