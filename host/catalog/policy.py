"""A merchant's store policy: read from the merchant's policy file, kept on the merchant's row.

Shipping, delivery, returns, invoices, authenticity and payment differ between shops, so
the host must not promise one shop's terms for another. The merchant writes them once, in
a small YAML file beside the catalog (`products/demo/policy.yaml` shows the shape):

    shipping:
      zh: 全场包邮，下单后48小时内发货。
      en: Shipping is free, and orders ship within 48 hours.

Each topic is one of `POLICY_TOPICS` (`prompts/faq.yaml` says how viewers ask about each), and
each language holds one wording or a list of them. A topic left out is one the host answers
with "please check the shop page".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.catalog.facts import POLICY_TOPICS, StorePolicy
from host.db.models import Merchant
from host.errors import HostError

LANGUAGES = ("zh", "en")


class PolicyError(HostError):
    """A policy file the host cannot use; the message names the file and the topic."""


def parse_policy(data: Any, where: str) -> StorePolicy:
    """`data` as loaded from a policy file, checked; `where` names the file in errors."""
    known = POLICY_TOPICS
    if data is None:
        return StorePolicy()
    if not isinstance(data, Mapping):
        raise PolicyError(f"{where}: expected a mapping of topics ({', '.join(known)})")
    answers: dict[str, dict[str, tuple[str, ...]]] = {}
    for topic, body in data.items():
        if topic not in known:
            raise PolicyError(f"{where}: unknown topic {topic!r}; known topics: {', '.join(known)}")
        if not isinstance(body, Mapping) or not body:
            raise PolicyError(f"{where}: {topic}: expected 'zh' and/or 'en' wordings")
        by_language: dict[str, tuple[str, ...]] = {}
        for language, wordings in body.items():
            if language not in LANGUAGES:
                raise PolicyError(f"{where}: {topic}.{language}: language must be zh or en")
            listed = [wordings] if isinstance(wordings, str) else wordings
            if (
                not isinstance(listed, list)
                or not listed
                or not all(isinstance(w, str) and w.strip() for w in listed)
            ):
                raise PolicyError(f"{where}: {topic}.{language}: expected text or a list of texts")
            by_language[language] = tuple(w.strip() for w in listed)
        answers[str(topic)] = by_language
    return StorePolicy(answers)


def load_policy(path: Path) -> StorePolicy:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc).splitlines()[0]
        raise PolicyError(f"{path}: {reason}") from exc
    return parse_policy(data, str(path))


def as_json(policy: StorePolicy) -> dict[str, dict[str, list[str]]]:
    return {
        topic: {language: list(w) for language, w in by_language.items()}
        for topic, by_language in policy.answers.items()
    }


def set_policy(engine: Engine, merchant: str, policy: StorePolicy) -> None:
    """Replace `merchant`'s policy (the merchant is created if it has no catalog yet)."""
    with Session(engine) as session, session.begin():
        row = session.scalar(select(Merchant).where(Merchant.name == merchant))
        if row is None:
            row = Merchant(name=merchant)
            session.add(row)
        row.policy = as_json(policy) or None


def read_policy(engine: Engine, merchant: str) -> StorePolicy:
    """The merchant's policy as stored; empty when it gave none (or does not exist)."""
    with Session(engine) as session:
        stored = session.scalar(select(Merchant.policy).where(Merchant.name == merchant))
    if not stored:
        return StorePolicy()
    return StorePolicy(
        {
            topic: {language: tuple(w) for language, w in by_language.items()}
            for topic, by_language in stored.items()
        }
    )
