"""The messages an LLM host gets, built from the marketer's templates under `prompts/llm/`.

Grounding lives here: the system message carries the persona, the reply style, the
language rule, the facts of the products in play (the only numbers the model may say) and
the merchant's own store policy (the only terms it may promise);
the user message carries the recent exchanges and the viewer's comment, fenced as
untrusted text so an instruction typed by a viewer reads as data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from host.catalog.facts import ProductFacts, StorePolicy
from host.reply.money import format_money
from host.reply.prompts import DEFAULT_PROMPTS_DIR, Language, PromptsError

FENCE_CHARS = str.maketrans({"<": "＜", ">": "＞"})  # a comment cannot close its own fence


@dataclass(frozen=True)
class Exchange:
    """One earlier question and answer, so a follow-up ("and in black?") makes sense."""

    askers: str
    comment: str
    reply: str


def fence(text: str) -> str:
    return text.translate(FENCE_CHARS)


def _facts(product: ProductFacts, language: Language) -> dict[str, Any]:
    return {
        "name": product.name,
        "name_en": product.name_en,
        "price": format_money(product.price, product.currency, language),
        "list_price": (
            format_money(product.list_price, product.currency, language)
            if product.list_price is not None and product.list_price > product.price
            else None
        ),
        "stock": "unknown" if product.stock is None else product.stock,
        "link": product.link,
        "promotion": product.promotion,
        "attributes": sorted(product.attributes.items()),
    }


class PromptBook:
    """persona.yaml plus the Jinja2 templates system.j2, reply.j2 and pitch.j2."""

    def __init__(self, folder: Path = DEFAULT_PROMPTS_DIR / "llm") -> None:
        try:
            data = yaml.safe_load((folder / "persona.yaml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PromptsError(f"{folder / 'persona.yaml'}: {exc}") from exc
        if not isinstance(data, dict):
            raise PromptsError(f"{folder / 'persona.yaml'}: expected a mapping")
        try:
            self.version = str(data["version"])
            self.persona = str(data["persona"])
            self.reply_style = str(data["reply_style"])
            rule = data["language_rule"]
            self.language_rule: Mapping[str, str] = {"zh": str(rule["zh"]), "en": str(rule["en"])}
        except (KeyError, TypeError) as exc:
            raise PromptsError(f"{folder / 'persona.yaml'}: missing {exc}") from exc
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )
        try:
            self._system = env.get_template("system.j2")
            self._reply = env.get_template("reply.j2")
            self._pitch = env.get_template("pitch.j2")
        except jinja2.TemplateError as exc:
            raise PromptsError(f"{folder}: {exc}") from exc

    def system(
        self,
        language: Language,
        current: ProductFacts | None,
        lineup: Sequence[ProductFacts],
        facts: Sequence[ProductFacts],
        policy: StorePolicy,
    ) -> str:
        return self._system.render(
            persona=self.persona,
            reply_style=self.reply_style,
            language_rule=self.language_rule[language],
            current=current.name if current else None,
            lineup=lineup,
            facts=[_facts(p, language) for p in facts],
            policy=policy.lines(language),
        )

    def reply(
        self,
        comment: str,
        askers: Sequence[str],
        history: Sequence[Exchange],
        *,
        gift: bool = False,
        compact: bool = False,
        late: bool = False,
        spoken: str = "",
        correction: str = "",
    ) -> str:
        return self._reply.render(
            comment=fence(comment),
            askers=list(askers) or ["viewer"],
            history=[Exchange(fence(h.askers), fence(h.comment), h.reply) for h in history],
            gift=gift,
            compact=compact,
            late=late,
            spoken=spoken,
            correction=correction,
        )

    def pitch(self, product: ProductFacts, *, spoken: str = "", correction: str = "") -> str:
        return self._pitch.render(product=product.name, spoken=spoken, correction=correction)
