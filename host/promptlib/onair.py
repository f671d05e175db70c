"""The library on air: a stream speaks with labels, and follows them when they move.

A session must never wait on the database for a frame, and a reply waits at most a short
deadline: each label's versions are held in memory as an `Arm` (a responder, a pitcher and
a guard built from them), and a refresh in a worker thread asks one cheap question (the
newest label move) and rebuilds only the arms whose versions changed. Each reply asks for
that refresh first, as it does for the catalog, so a label moved a second ago speaks the
next reply; a database that is away leaves the last arms on air.

An A/B stream gives `ratio` of its replies and, separately, of its pitches to label `b`,
spread evenly (the n-th turn goes to b when it brings b's share to the next whole number),
so any window of turns is split close to the ratio, not only the whole stream. Every
sentence carries its arm's release (`label#id`), which the audit writes with the line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import math
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.catalog.facts import CatalogView, ProductFacts
from host.chat.events import Triaged
from host.config import Settings
from host.db.models import PromptItem
from host.errors import HostError
from host.promptlib.items import ITEMS, item_for, materialise
from host.promptlib.library import (
    Resolved,
    guard_in_force,
    labels_version,
    release,
    require_labels,
    resolve,
)
from host.promptlib.scripts import ScriptBook, ScriptPitcher, script_book_from
from host.promptlib.validate import PromptInvalid, validate
from host.reply.events import Pitcher, Responder, Sentence
from host.reply.guard import Guard
from host.reply.phrasing import Phraser
from host.reply.prompts import Language, banned_from, load_phrasebook, parse_yaml
from host.reply.registry import build_responder
from host.session.spec import PromptsSpec

log = logging.getLogger(__name__)


class Speaker(Responder, Pitcher, Protocol):
    """A responder that also pitches (the catalog answerer, the LLM one)."""


@dataclass(frozen=True)
class Arm:
    label: str
    digest: str
    prompt_version: str  # `label#release id`
    responder: Speaker
    pitcher: Pitcher
    guard: Guard
    words: tuple[str, ...]  # comments with these are dropped (triage)


def _folder(root: Path, resolved: Resolved) -> Path:
    """The label's versions as a prompts folder, content-addressed: written once, never changed."""
    folder = root / resolved.digest[:20]
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".new-"))
    materialise(staging, resolved.bodies())
    try:
        os.rename(staging, folder)
    except OSError:  # another session wrote the same release first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def build_arm(
    engine: Engine, settings: Settings, resolved: Resolved, checked: set[tuple[int, str]]
) -> Arm:
    """Validate the label's versions once more (against production's banned claims, as on
    save: an A/B label cannot carry a laxer list) and build what speaks them. `checked`:
    (version id, claims digest) pairs that passed already, so a move re-checks only what moved."""
    bodies = resolved.bodies()
    in_force = guard_in_force(engine)
    claims = hashlib.sha256(repr(in_force.classes).encode()).hexdigest()
    for ref, (version_id, _, body) in resolved.versions.items():
        if (version_id, claims) not in checked:
            validate(item_for(ref), body, in_force)
            checked.add((version_id, claims))
    banned = banned_from(parse_yaml(bodies["banned"], "banned"), "banned")
    guard = Guard(banned.claims)
    folder = _folder(settings.var_dir / "prompts", resolved)
    responder: Speaker = build_responder(settings.model_copy(update={"prompts_dir": folder}), guard)
    books: dict[Language, ScriptBook] = {}
    for spec in ITEMS:
        if spec.kind == "script" and spec.language in ("zh", "en"):
            data = parse_yaml((folder / spec.path).read_text(encoding="utf-8"), spec.ref)
            books[spec.language] = script_book_from(data, spec.ref)  # type: ignore[index]
    pitcher = ScriptPitcher(books, Phraser(load_phrasebook(folder / "answers.yaml")), responder)
    return Arm(
        resolved.label,
        resolved.digest,
        release(engine, resolved),
        responder,
        pitcher,
        guard,
        banned.words,
    )


class PromptsOnAir:
    """The arms of the labels a stream uses; every read is memory only."""

    def __init__(
        self, engine: Engine, settings: Settings, labels: tuple[str, ...], deadline_s: float = 0.5
    ) -> None:
        self._engine = engine
        self._settings = settings
        self.labels = labels
        self.deadline_s = deadline_s
        self._arms: dict[str, Arm] = {}
        self._version: tuple[int, int] | None = None
        self._inflight: asyncio.Future[None] | None = None
        self._checked: set[tuple[int, str]] = set()

    def load(self) -> None:
        """The first arms, before the stream starts: a label on no item (a typo) fails here."""
        with Session(self._engine) as session:
            require_labels(session, self.labels)
        self._refresh_now()

    def arm(self, label: str) -> Arm:
        return self._arms[label]

    async def refresh(self) -> None:
        """Follow label moves within the deadline; past it the arms on air stay."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(asyncio.to_thread(self._refresh_now))
        try:
            await asyncio.wait_for(asyncio.shield(self._inflight), self.deadline_s)
        except TimeoutError:
            log.warning("prompt labels: refresh missed its deadline; the last ones stay on air")
        except Exception as error:  # a bad version or a database away: keep speaking
            log.warning("prompt labels not refreshed (%s); the last ones stay on air", error)

    def _refresh_now(self) -> None:
        with Session(self._engine) as session:
            version = labels_version(session)
            if version == self._version:
                return
            resolved = [resolve(session, label) for label in self.labels]
        arms = dict(self._arms)
        for r in resolved:
            if r.label not in arms or arms[r.label].digest != r.digest:
                try:
                    arms[r.label] = build_arm(self._engine, self._settings, r, self._checked)
                except PromptInvalid as error:
                    if r.label not in arms:
                        raise
                    log.error("label %s not deployed: %s", r.label, error)
                    continue
                log.info("prompts %s on air: %s", r.label, arms[r.label].prompt_version)
        self._arms = arms
        self._version = version


class Split:
    """Turns spread between a and b: b gets `ratio` of them, evenly over time."""

    def __init__(self, ratio: float) -> None:
        self.ratio = ratio
        self.turns = 0

    def next_is_b(self) -> bool:
        n = self.turns
        self.turns += 1
        return math.floor((n + 1) * self.ratio) > math.floor(n * self.ratio)


class LibraryResponder:
    """Replies and pitches from the stream's labels (an A/B split when it has two)."""

    name = "library"

    def __init__(self, onair: PromptsOnAir, spec: PromptsSpec) -> None:
        self._onair = onair
        self._a = spec.a
        self._b = spec.b
        self._replies = Split(spec.ratio if spec.b else 0.0)
        self._pitches = Split(spec.ratio if spec.b else 0.0)

    def _arm(self, split: Split) -> Arm:
        label = self._b if split.next_is_b() and self._b is not None else self._a
        return self._onair.arm(label)

    async def respond(self, item: Triaged, catalog: CatalogView) -> AsyncIterator[Sentence]:
        await self._onair.refresh()
        arm = self._arm(self._replies)
        async for sentence in arm.responder.respond(item, catalog):
            yield dataclasses.replace(sentence, prompt_version=arm.prompt_version)

    async def pitch_sentences(
        self, product: ProductFacts, language: Language, catalog: CatalogView
    ) -> AsyncIterator[Sentence]:
        await self._onair.refresh()
        arm = self._arm(self._pitches)
        async for sentence in arm.pitcher.pitch_sentences(product, language, catalog):
            yield dataclasses.replace(sentence, prompt_version=arm.prompt_version)


def library_seeded(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.scalar(select(PromptItem.id).limit(1)) is not None


def on_air_responder(
    engine: Engine, settings: Settings, spec: PromptsSpec | None, files: Speaker
) -> Speaker | LibraryResponder:
    """What a stream speaks with: its `prompts:` labels; production of the library when it
    names none and the library is seeded; else the files under prompts/ (`files`)."""
    if spec is None:
        if not library_seeded(engine):
            return files
        spec = PromptsSpec()
    labels = (spec.a,) if spec.b is None else (spec.a, spec.b)
    onair = PromptsOnAir(engine, settings, labels)
    try:
        onair.load()
    except PromptInvalid as error:
        raise HostError(f"prompts of the stream cannot go on air: {error}") from None
    return LibraryResponder(onair, spec)
