"""First-sentence latency of replies: the offline answerer, and what the host adds to an LLM.

Run: `.venv/bin/python bench/reply.py` (from the repository root). The LLM figure uses the
local OpenAI-compatible SSE server from the tests with a set time to first token and token
delay, through the real langchain-openai client and the resilient wrapper (guard included);
"added" is the time from the LLM sending the last token of its first sentence to that
sentence reaching the consumer (the cutter waits for one more token to know it is not last).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import describe

from host.catalog.store import DbCatalog, ensure_demo_catalog
from host.chat.events import Comment, Triaged
from host.chat.triage import Triage
from host.config import REPO_ROOT, Settings
from host.db.migrate import migrated_engine
from host.reply.answerer import CatalogAnswerer
from host.reply.guard import Guard
from host.reply.llm import LlmResponder
from host.reply.prompts import load_banned
from host.reply.resilient import ResilientResponder
from tests.llm_double import Script, running, tokens

QUESTIONS = [
    "羽绒服多少钱",
    "how much are the jeans?",
    "耳机还有货吗",
    "what sizes for the sweater?",
]
FIRST = "Hi Lily!"
REPLY = f"{FIRST} The Lightweight Down Jacket is ¥399 today, down from ¥699. Only 128 left."


def triaged(text: str) -> Triaged:
    triage = Triage([])
    triage.offer(Comment("bench", "room", "m1", "lily", "Lily", text), 0.0)
    item = triage.pop(0.0)
    assert item is not None
    return item


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(values) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def offline(catalog: DbCatalog, rounds: int) -> list[float]:
    answerer = CatalogAnswerer()
    items = [triaged(q) for q in QUESTIONS]
    answerer.compose(items[0], catalog)  # warm the search index
    out = []
    for i in range(rounds):
        start = time.perf_counter()
        answerer.compose(items[i % len(items)], catalog)
        out.append(time.perf_counter() - start)
    return out


async def llm_added(settings: Settings, catalog: DbCatalog, ttft: float, delay: float, n: int):
    with running(Script(replies=[REPLY], ttft_s=ttft, token_delay_s=delay)) as double:
        llm = LlmResponder.from_settings(
            settings.model_copy(update={"openai_base_url": double.base_url})
        )
        guard = Guard(load_banned(settings.prompts_dir / "banned.yaml").claims)
        wrapper = ResilientResponder(llm, CatalogAnswerer(), guard, first_sentence_s=10)
        item = triaged("羽绒服多少钱")
        first_tokens = len(tokens(FIRST))
        added: list[float] = []
        total: list[float] = []
        for i in range(n + 1):
            start = time.perf_counter()
            async for _ in wrapper.respond(item, catalog):
                got = time.perf_counter()
                break
            llm_first = double.requests[-1].received + ttft + (first_tokens - 1) * delay
            if i:  # the first call opens the connection
                added.append(got - llm_first)
                total.append(got - start)
        return added, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--ttft", type=float, default=0.4, help="LLM time to first token, s")
    parser.add_argument("--token-delay", type=float, default=0.03, help="s between tokens")
    parser.add_argument("--llm-rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=f"sqlite:///{tmp}/bench.db",
            products_dir=REPO_ROOT / "products",
        )
        engine = migrated_engine(settings.database_url)
        ensure_demo_catalog(engine, settings)
        catalog = DbCatalog(engine, settings.demo_merchant)
        print(f"machine: {describe()}")
        whole = ms(offline(catalog, args.rounds))
        print(f"offline answerer, whole reply (first sentence included): {whole}")
        added, total = asyncio.run(
            llm_added(settings, catalog, args.ttft, args.token_delay, args.llm_rounds)
        )
        print(
            f"LLM (ttft {args.ttft * 1000:.0f} ms, {args.token_delay * 1000:.0f} ms/token): "
            f"first sentence after {ms(total)}; added by the host {ms(added)}"
        )


if __name__ == "__main__":
    main()
