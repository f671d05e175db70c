"""`host prompts eval`: an eval set through responder and guard, once per label, with numbers.

Each label is built exactly as a stream would speak it (`build_arm`), so the figures are
those of the wording on air: how many comments get an answer, whether the expected facts
are in it (about the product asked for), what the guard stopped and why, whether it
answers in the viewer's language, how long it talks, how fast it answers, and how varied
repeated pitches sound. With two labels the lines that differ most are listed side by
side, which is what a marketer reads first. Works offline with the catalog answerer; an
LLM backend and an LLM judge are optional.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from host.ask import Asker
from host.catalog.facts import CatalogView
from host.config import Settings
from host.errors import HostError
from host.promptlib.library import require_labels, resolve
from host.promptlib.onair import Arm, build_arm
from host.reply.prompts import Language

Backend = Literal["catalog", "llm"]
NUMBER = re.compile(r"\d+(?:\.\d+)?")
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
# Speaking rates of the bundled voices, to turn a reply's length into seconds on air.
CHARS_PER_S = {"zh": 4.5, "en": 14.0}
DIFFERING = 10  # the most-different lines listed


@dataclass(frozen=True)
class EvalCase:
    id: str
    kind: str
    lang: str
    text: str
    sku: str | None = None
    facts: tuple[str, ...] = ()


@dataclass
class CaseResult:
    id: str
    text: str
    lang: str
    reply: str
    answered: bool
    facts_ok: bool | None  # None: the case expects no facts
    violations: list[tuple[str, str]]  # (kind, text)
    language_ok: bool | None  # None: nothing said
    chars: int
    speaking_s: float
    latency_ms: float
    judge: int | None = None


@dataclass
class LabelResult:
    label: str
    prompt_version: str
    cases: list[CaseResult]
    pitches: dict[str, list[str]] = field(default_factory=dict)  # sku -> repeated pitches
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalReport:
    set_name: str
    backend: str
    labels: list[LabelResult]
    differing: list[dict[str, Any]]
    judged: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def load_set(path: Path) -> list[EvalCase]:
    """The eval set (JSONL: id, kind, lang, text, optional sku and facts); one bad line is
    named with its number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise HostError(f"eval set {path}: {error.strerror or error}") from None
    cases = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(
                EvalCase(
                    id=str(row["id"]),
                    kind=str(row.get("kind", "chat")),
                    lang=str(row["lang"]),
                    text=str(row["text"]),
                    sku=row.get("sku"),
                    facts=tuple(str(f) for f in row.get("facts", ())),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise HostError(f"eval set {path} line {n}: {type(error).__name__}: {error}") from None
    if not cases:
        raise HostError(f"eval set {path} is empty")
    return cases


def language_of(text: str) -> str | None:
    """zh when most letters are Chinese, en when most are Latin, None for no letters."""
    cjk, latin = len(CJK.findall(text)), len(LATIN.findall(text))
    if not cjk and not latin:
        return None
    return "zh" if cjk > 0 and cjk * 3 >= latin else "en"


def facts_present(reply: str, facts: Sequence[str]) -> bool:
    said = unicodedata.normalize("NFKC", reply).lower()
    return all(unicodedata.normalize("NFKC", f).lower() in said for f in facts)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def metrics(result: LabelResult) -> dict[str, Any]:
    """The figures of one label; each is defined where it is computed."""
    cases = result.cases
    expecting = [c for c in cases if c.facts_ok is not None]
    spoken = [c for c in cases if c.language_ok is not None]
    kinds = Counter(kind for c in cases for kind, _ in c.violations)
    latencies = [c.latency_ms for c in cases if c.answered]
    pitch_runs = list(result.pitches.values())
    variety = [len(set(run)) / len(run) for run in pitch_runs if run]
    repeats = sum(a == b for run in pitch_runs for a, b in itertools.pairwise(run))
    judged = [c.judge for c in cases if c.judge is not None]
    return {
        "cases": len(cases),
        "answered_rate": sum(c.answered for c in cases) / len(cases),
        "facts_correct": (
            sum(bool(c.facts_ok) for c in expecting) / len(expecting) if expecting else None
        ),
        "guard_violations": dict(sorted(kinds.items())),
        "guard_violations_total": sum(kinds.values()),
        "language_match": (
            sum(bool(c.language_ok) for c in spoken) / len(spoken) if spoken else None
        ),
        "mean_chars": statistics.fmean(c.chars for c in spoken) if spoken else 0.0,
        "mean_speaking_s": statistics.fmean(c.speaking_s for c in spoken) if spoken else 0.0,
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
        "pitch_variety": statistics.fmean(variety) if variety else None,
        "pitch_repeats": repeats,
        "judge_mean": statistics.fmean(judged) if judged else None,
    }


async def _run_case(asker: Asker, arm: Arm, case: EvalCase) -> CaseResult:
    result = await asker.ask_async(case.text, "viewer")
    violations = [(arm.guard.kind(v), v) for v in result.violations]
    said = result.reply
    lang = language_of(said)
    return CaseResult(
        id=case.id,
        text=case.text,
        lang=case.lang,
        reply=said,
        answered=bool(said) and result.dropped is None,
        facts_ok=(
            facts_present(said, case.facts) and (case.sku is None or case.sku in result.products)
            if case.facts or case.sku
            else None
        ),
        violations=violations,
        language_ok=(lang == case.lang) if said and lang is not None else None,
        chars=len(said),
        speaking_s=len(said) / CHARS_PER_S.get(case.lang, 10.0),
        latency_ms=result.latency_ms,
    )


async def _pitches(arm: Arm, catalog: CatalogView, repeats: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for product in catalog.lineup():
        if product.stock_state == "out":
            continue
        languages: tuple[Language, ...] = ("zh", "en")
        for lang in languages:
            runs = out.setdefault(f"{product.sku}/{lang}", [])
            for _ in range(repeats):
                sentences = arm.pitcher.pitch_sentences(product, lang, catalog)
                runs.append(" ".join([s.text async for s in sentences]))
    return out


def _differing(results: Sequence[LabelResult]) -> list[dict[str, Any]]:
    """The cases whose replies differ most between the first two labels."""
    if len(results) < 2:
        return []
    a, b = results[0], results[1]
    rows: list[dict[str, Any]] = []
    for ca, cb in zip(a.cases, b.cases, strict=True):
        similarity = SequenceMatcher(None, ca.reply, cb.reply).ratio()
        if similarity < 1.0:
            rows.append(
                {
                    "id": ca.id,
                    "comment": ca.text,
                    a.label: ca.reply,
                    b.label: cb.reply,
                    "similarity": round(similarity, 3),
                }
            )
    return sorted(rows, key=lambda r: r["similarity"])[:DIFFERING]


async def _run_label(
    label: str,
    arm: Arm,
    asker: Asker,
    cases: Sequence[EvalCase],
    catalog: CatalogView,
    pitch_repeats: int,
    progress: Callable[[str], None] | None,
) -> LabelResult:
    """One label on one event loop (an LLM client's connections belong to the loop)."""
    done = []
    for case in cases:
        done.append(await _run_case(asker, arm, case))
        if progress is not None:
            progress(label)
    pitches = await _pitches(arm, catalog, pitch_repeats)
    return LabelResult(label, arm.prompt_version, done, pitches)


RUBRIC = (
    "You grade one answer of an AI host in a live-selling stream. Score it from 1 to 5: 5 when"
    " it answers the viewer's question with the expected facts, in the viewer's language,"
    " briefly and warmly as spoken words, with no absolute, medical or guaranteed claims; 1"
    " when it is wrong, off-topic or non-compliant. Reply with the score digit first, then one"
    " short sentence why."
)


def llm_judge(
    base_url: str, model: str, api_key: str | None
) -> Callable[[EvalCase, str], int | None]:
    """A rubric score (1-5) from any OpenAI-compatible endpoint; reported apart from the
    measured figures, since a model's opinion is not a measurement."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=60)

    def score(case: EvalCase, reply: str) -> int | None:
        facts = ", ".join(case.facts) or "none given"
        try:
            answer = client.chat.completions.create(
                model=model,
                temperature=0,
                messages=[
                    {"role": "system", "content": RUBRIC},
                    {
                        "role": "user",
                        "content": f"Viewer comment: {case.text}\nExpected facts: {facts}\n"
                        f"Host answer: {reply}",
                    },
                ],
            )
        except openai.OpenAIError as error:
            raise HostError(f"LLM judge at {base_url}: {error}") from None
        digit = re.search(r"[1-5]", answer.choices[0].message.content or "")
        return int(digit.group()) if digit else None

    return score


def run_eval(
    engine: Engine,
    settings: Settings,
    catalog: CatalogView,
    cases: Sequence[EvalCase],
    labels: Sequence[str],
    *,
    backend: Backend = "catalog",
    set_name: str = "eval",
    pitch_repeats: int = 6,
    judge: Callable[[EvalCase, str], int | None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """Every case through each label's responder and guard; `progress` is called per case."""
    if not labels:
        raise HostError("name at least one --label")
    settings = settings.model_copy(update={"responder": backend})
    results = []
    for label in labels:
        with Session(engine) as session:
            require_labels(session, [label])
            resolved = resolve(session, label)
        arm = build_arm(engine, settings, resolved, set())
        asker = Asker(catalog, arm.responder, arm.guard, list(arm.words))

        result = asyncio.run(_run_label(label, arm, asker, cases, catalog, pitch_repeats, progress))
        if judge is not None:
            for case, done in zip(cases, result.cases, strict=True):
                done.judge = judge(case, done.reply) if done.reply else None
        result.metrics = metrics(result)
        results.append(result)
    return EvalReport(set_name, backend, results, _differing(results), judged=judge is not None)
