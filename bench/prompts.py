"""The prompt library on air: what a label move costs a reply, and how fast an eval runs.

A reply asks for a label refresh before it is written (a short deadline, like the
catalog's): with no move it must cost next to nothing, and after a move the rebuild of the
label's responder (validation of the moved versions, a prompts folder, the answerer) must
fit well inside that deadline. The eval figure is the 170-comment set through the catalog
answerer, per label.

Run: python bench/prompts.py [--moves 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from machine import describe

from host.catalog.store import DbCatalog, ensure_demo_catalog
from host.config import REPO_ROOT, Settings
from host.db.migrate import migrated_engine
from host.promptlib import library
from host.promptlib.evaluate import load_set, run_eval
from host.promptlib.onair import PromptsOnAir


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'bench.db'}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        var_dir=folder / "var",
        products_dir=REPO_ROOT / "products",
        demo_merchant="demo",
    )
    engine = migrated_engine(url)
    ensure_demo_catalog(engine, settings)
    library.seed(engine)
    onair = PromptsOnAir(engine, settings, ("production",))
    onair.load()
    still, moved = [], []
    body = library.version(engine, "answers").body
    for n in range(args.moves):
        start = time.perf_counter()
        onair._refresh_now()
        still.append(time.perf_counter() - start)
        edited = body.replace('"哈喽{names}～"', f'"哈喽{{names}}～{"～" * (n + 1)}"')
        saved = library.save_version(engine, "answers", edited, author="bench")
        library.move_label(engine, "answers", "production", saved.number, who="b", role="admin")
        start = time.perf_counter()
        onair._refresh_now()
        moved.append(time.perf_counter() - start)
    print(f"label refresh, nothing moved ({args.moves}x): {ms(still)}")
    print(f"label refresh after a move, rebuild included ({args.moves}x): {ms(moved)}")
    cases = load_set(REPO_ROOT / "prompts" / "eval" / "comments.jsonl")
    start = time.perf_counter()
    run_eval(engine, settings, DbCatalog(engine, "demo"), cases, ["production"])
    took = time.perf_counter() - start
    print(f"eval, catalog backend: {len(cases)} comments + pitches in {took:.2f} s for one label")


if __name__ == "__main__":
    main()
