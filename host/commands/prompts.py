"""`host prompts ...`: the marketers' library of prompts and scripts from the command line.

The library is seeded from `prompts/` the first time any of these commands runs. Changes
are made as a user (`--as NAME`, whose role decides whether production may move) or, with
no `--as`, as `cli:<os user>`; every save and label move is in the changes trail.
"""

from __future__ import annotations

import getpass
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from host.commands.shell import console, load_settings, one_line_errors, out
from host.errors import HostError

if TYPE_CHECKING:
    from rich.table import Table
    from sqlalchemy import Engine

    from host.config import Settings
    from host.promptlib.evaluate import EvalReport

prompts_app = typer.Typer(
    help="Prompts and pitch scripts: versions, labels (production, staging, A/B) and evals.",
    no_args_is_help=True,
)

Ref = Annotated[str, typer.Argument(help="the item: persona, answers, faq, banned, pitch/zh...")]
As = Annotated[str | None, typer.Option("--as", help="act as this user (their role is checked)")]


def _library() -> tuple[Settings, Engine]:
    from host.db.migrate import migrated_engine
    from host.promptlib.library import seed

    settings = load_settings()
    engine = migrated_engine(settings.database_url)
    seeded = seed(engine, settings.prompts_dir)
    if seeded:
        console.print(f"library seeded from {settings.prompts_dir}: {', '.join(seeded)}")
    return settings, engine


def _who(engine: Engine, user: str | None) -> tuple[str, str | None]:
    """(name, role) of the acting user; no --as: the OS user, with no role."""
    from host.promptlib.library import role_of

    if user is None:
        return f"cli:{getpass.getuser()}", None
    return user, role_of(engine, user)


def _pick(value: str) -> tuple[int | None, str | None]:
    """ "3" -> version 3, "staging" -> the version labelled staging."""
    return (int(value), None) if value.isdigit() else (None, value)


@prompts_app.command("list")
@one_line_errors
def list_(
    ref: Annotated[str | None, typer.Argument(help="an item: list its versions")] = None,
) -> None:
    """Every item with its labels; with an item, its versions (author, parent, note)."""
    from rich.table import Table

    from host.promptlib.items import ITEMS
    from host.promptlib.library import labels, versions

    _, engine = _library()
    if ref is None:
        table = Table("item", "purpose", "labels")
        on = labels(engine)
        for spec in ITEMS:
            marks = ", ".join(f"{label}=v{n}" for label, n in sorted(on.get(spec.ref, {}).items()))
            table.add_row(spec.ref, spec.purpose, marks)
        out.print(table)
        return
    table = Table("version", "author", "at (UTC)", "parent", "labels", "note")
    for v in versions(engine, ref):
        table.add_row(
            f"v{v.number}",
            v.author,
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            f"v{v.parent}" if v.parent else "",
            ", ".join(v.labels),
            v.note,
        )
    out.print(table)


@prompts_app.command("show")
@one_line_errors
def show(
    ref: Ref,
    which: Annotated[str, typer.Argument(help="a version number or a label")] = "production",
) -> None:
    """Print a version's text (production by default), ready to redirect to a file."""
    from host.promptlib.library import version

    _, engine = _library()
    number, label = _pick(which)
    found = version(engine, ref, number, label)
    console.print(
        f"{found.ref} v{found.number} by {found.author}"
        f" ({', '.join(found.labels) or 'no label'}){': ' + found.note if found.note else ''}",
        highlight=False,
    )
    typer.echo(found.body, nl=not found.body.endswith("\n"))


@prompts_app.command("diff")
@one_line_errors
def diff(
    ref: Ref,
    a: Annotated[str, typer.Argument(help="from: a version number or a label")],
    b: Annotated[str, typer.Argument(help="to: a version number or a label")],
) -> None:
    """The changes from one version to another (unified diff)."""
    from rich.syntax import Syntax

    from host.promptlib import library

    _, engine = _library()
    text = library.diff(
        library.version(engine, ref, *_pick(a)), library.version(engine, ref, *_pick(b))
    )
    out.print(Syntax(text or "(no difference)\n", "diff", word_wrap=True))


def _edit_in_editor(body: str, ref: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise HostError("set EDITOR (or pass --file FILE) to edit")
    suffix = ".j2" if ref.startswith("llm.") else ".yaml"
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False, encoding="utf-8") as f:
        f.write(body)
        path = Path(f.name)
    try:
        if subprocess.call([*shlex.split(editor), str(path)]) != 0:
            raise HostError(f"the editor ({editor}) failed; nothing saved")
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


@prompts_app.command("edit")
@one_line_errors
def edit(
    ref: Ref,
    file: Annotated[
        Path | None, typer.Option(help="take the new text from this file instead of $EDITOR")
    ] = None,
    note: Annotated[str, typer.Option(help="why this version (shown in the history)")] = "",
    base: Annotated[
        str, typer.Option("--from", help="version or label to start from")
    ] = "production",
    user: As = None,
) -> None:
    """Save a new version (validated first: a failing one is not stored). It goes on air
    only when a label moves onto it."""
    from host.promptlib.library import save_version, version

    _, engine = _library()
    who, _ = _who(engine, user)
    start = version(engine, ref, *_pick(base))
    if file is not None:
        try:
            body = file.read_text(encoding="utf-8")
        except OSError as error:
            raise HostError(f"{file}: {error.strerror or error}") from None
    else:
        body = _edit_in_editor(start.body, ref)
    saved = save_version(engine, ref, body, author=who, note=note, parent=start.number)
    console.print(
        f"saved {saved.ref} v{saved.number} (from v{saved.parent}); deploy it with "
        f"`host prompts label {saved.ref} staging {saved.number}`",
        highlight=False,
    )


@prompts_app.command("label")
@one_line_errors
def label(
    ref: Ref,
    name: Annotated[str, typer.Argument(help="the label: production, staging or an A/B label")],
    number: Annotated[
        int | None, typer.Argument(help="the version to point at (omit with --back)")
    ] = None,
    back: Annotated[bool, typer.Option("--back", help="roll back to the previous version")] = False,
    user: As = None,
) -> None:
    """Move a label onto a version: streams speaking that label use it from their next reply."""
    from host.promptlib.library import label_history, move_label

    _, engine = _library()
    who, role = _who(engine, user)
    if back == (number is not None):
        raise HostError("give a version number, or --back to roll back")
    if back:
        history = label_history(engine, ref, name)
        if len(history) < 2:
            raise HostError(f"{ref}: {name} has no earlier version to roll back to")
        number = history[1][2]
    assert number is not None
    before = move_label(engine, ref, name, number, who=who, role=role)
    was = f" (was v{before})" if before is not None else ""
    console.print(f"{ref}: {name} -> v{number}{was}", highlight=False)


@prompts_app.command("eval")
@one_line_errors
def eval_(
    set_file: Annotated[Path, typer.Option("--set", help="eval set (JSONL, see prompts/eval/)")],
    labels: Annotated[list[str], typer.Option("--label", help="a label to evaluate (repeat)")],
    backend: Annotated[
        Literal["catalog", "llm"], typer.Option(help="catalog answerer, or the LLM endpoint")
    ] = "catalog",
    report: Annotated[
        Path | None, typer.Option(help="write report.html and report.json here")
    ] = None,
    merchant: Annotated[str | None, typer.Option(help="catalog to answer from")] = None,
    judge_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint of an LLM judge (optional)")
    ] = None,
    judge_model: Annotated[str, typer.Option(help="the judge's model")] = "gpt-4o-mini",
) -> None:
    """Run the set through each label's responder and guard; print a summary, write a report."""
    from rich.progress import Progress

    from host.catalog.store import DbCatalog, ensure_demo_catalog
    from host.promptlib.evaluate import llm_judge, load_set, run_eval
    from host.promptlib.report import write_report

    settings, engine = _library()
    cases = load_set(set_file)
    if merchant is None:
        ensure_demo_catalog(engine, settings)
    catalog = DbCatalog(engine, merchant or settings.demo_merchant)
    judge = None
    if judge_url is not None:
        key = settings.eval_judge_api_key
        judge = llm_judge(judge_url, judge_model, key.get_secret_value() if key else None)
    with Progress(console=console, transient=True) as bar:
        tasks = {label: bar.add_task(label, total=len(cases)) for label in labels}
        result = run_eval(
            engine,
            settings,
            catalog,
            cases,
            labels,
            backend=backend,
            set_name=set_file.name,
            judge=judge,
            progress=lambda label: bar.advance(tasks[label]),
        )
    out.print(summary_table(result))
    if report is not None:
        page, data = write_report(result, report)
        console.print(f"report: {page} · {data}", highlight=False)


def summary_table(result: EvalReport) -> Table:
    """The terminal's summary: one column per label."""
    from rich.table import Table

    table = Table("metric", *(f"{r.label}\n{r.prompt_version}" for r in result.labels))

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{v * 100:.1f}%"

    rows = [
        ("answered", lambda m: pct(m["answered_rate"])),
        ("facts correct", lambda m: pct(m["facts_correct"])),
        ("language match", lambda m: pct(m["language_match"])),
        (
            "guard stops",
            lambda m: ", ".join(f"{k} {n}" for k, n in m["guard_violations"].items()) or "0",
        ),
        ("mean speaking time", lambda m: f"{m['mean_speaking_s']:.1f} s"),
        (
            "latency p50 / p95",
            lambda m: f"{m['latency_p50_ms']:.0f} / {m['latency_p95_ms']:.0f} ms",
        ),
        ("pitch variety", lambda m: pct(m["pitch_variety"])),
        ("LLM judge (1-5)", lambda m: "–" if m["judge_mean"] is None else f"{m['judge_mean']:.2f}"),
    ]
    for name, show_ in rows:
        table.add_row(name, *(show_(r.metrics) for r in result.labels))
    return table


@prompts_app.command("ab")
@one_line_errors
def ab(
    stream: Annotated[str, typer.Argument(help="the stream's name (all its sessions)")],
    orders: Annotated[
        list[Path] | None,
        typer.Option(help="an order export CSV (Douyin shop or Taobao; repeat for several)"),
    ] = None,
    tz: Annotated[str, typer.Option(help="time zone of the export's times")] = "Asia/Shanghai",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The A/B report: per prompt version, lines, guard stops, room reaction and orders."""
    import json

    from rich.table import Table

    from host.promptlib.abreport import ab_report, read_orders
    from host.promptlib.library import guard_in_force

    _, engine = _library()
    exports = [read_orders(path, tz) for path in orders or ()]
    rows = ab_report(engine, stream, guard_in_force(engine), exports)
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("", *(r["version"] for r in rows))
    shown = (
        ("comments answered", lambda r: r["comments_answered"]),
        ("pitches", lambda r: r["pitches"]),
        ("facts correct", lambda r: r["facts_correct"]),
        ("guard stops", lambda r: ", ".join(f"{k} {n}" for k, n in r["guard_stops"].items())),
        ("repeats", lambda r: r["repeats"]),
        ("speaking time (s)", lambda r: r["speaking_s"]),
        ("latency p50/p95 ms", lambda r: f"{r['latency_p50_ms']} / {r['latency_p95_ms']}"),
        ("air minutes", lambda r: r["air_minutes"]),
        ("comments/min", lambda r: r["room_per_minute"]["chat"]),
        ("gifts/min", lambda r: r["room_per_minute"]["gift"]),
        ("likes/min", lambda r: r["room_per_minute"]["like"]),
        ("follows/min", lambda r: r["room_per_minute"]["follow"]),
        ("orders/min", lambda r: r["orders_per_minute"]),
        ("GMV/min", lambda r: r["gmv_per_minute"]),
        ("GPM", lambda r: r["gpm"]),
    )
    for name, value in shown:
        table.add_row(name, *("–" if value(r) is None else str(value(r)) for r in rows))
    out.print(table)
    for path, export in zip(orders or (), exports, strict=True):
        console.print(
            f"{path}: {len(export.orders)} orders ({export.cancelled} closed or refunded left out)",
            highlight=False,
        )
