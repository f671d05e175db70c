"""The items of the library: every prompt and script the host reads, where its seed lives.

An item is a file of `prompts/` with a name and a language ("any" for a file that holds
both languages). The code that reads each file is fixed, so the set of items is too: a
version replaces a file's text, never adds a file nobody reads. A label's versions are laid
out as a `prompts/` folder (`materialise`), so the responders load them as they load the
seed files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from host.errors import HostError

ANY = "any"


@dataclass(frozen=True)
class ItemSpec:
    name: str
    language: str
    kind: str  # how it is validated: persona, jinja, phrasebook, faq, banned, script
    path: str  # relative to a prompts folder
    purpose: str

    @property
    def ref(self) -> str:
        """How the CLI and the API name it: `answers`, `pitch/zh`."""
        return self.name if self.language == ANY else f"{self.name}/{self.language}"


ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec(
        "persona",
        ANY,
        "persona",
        "llm/persona.yaml",
        "who the LLM host is, its reply style and language rule",
    ),
    ItemSpec(
        "llm.system",
        ANY,
        "jinja",
        "llm/system.j2",
        "the LLM's system message: persona, facts, policy",
    ),
    ItemSpec("llm.reply", ANY, "jinja", "llm/reply.j2", "the LLM's message for one viewer comment"),
    ItemSpec("llm.pitch", ANY, "jinja", "llm/pitch.j2", "the LLM's message for an idle pitch"),
    ItemSpec(
        "answers",
        ANY,
        "phrasebook",
        "answers.yaml",
        "the offline answerer's templates: greetings, prices, stock, sizes",
    ),
    ItemSpec(
        "faq",
        ANY,
        "faq",
        "faq.yaml",
        "store-policy topics and the line when the merchant gave none",
    ),
    ItemSpec(
        "banned",
        ANY,
        "banned",
        "banned.yaml",
        "claims never said (by advertising-law class) and comment words dropped",
    ),
    ItemSpec(
        "pitch",
        "zh",
        "script",
        "scripts/pitch.zh.yaml",
        "Mandarin idle pitch scripts (话术), per product",
    ),
    ItemSpec(
        "pitch", "en", "script", "scripts/pitch.en.yaml", "English idle pitch scripts, per product"
    ),
)
BY_REF = {item.ref: item for item in ITEMS}


def item_for(ref: str) -> ItemSpec:
    try:
        return BY_REF[ref]
    except KeyError:
        raise HostError(f"no prompt item {ref!r} (items: {', '.join(BY_REF)})") from None


def materialise(folder: Path, bodies: dict[str, str]) -> Path:
    """Write `bodies` (ref -> text) as a prompts folder; the caller picks a fresh folder."""
    for ref, body in bodies.items():
        path = folder / item_for(ref).path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return folder
