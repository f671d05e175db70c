"""Load the marketer-editable lists under `prompts/`: banned words and claims, FAQ, templates.

They live in YAML so wording and policy change without a code change; this module turns
them into typed, validated objects once, and says which file and key is wrong when not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from host.catalog.facts import POLICY_TOPICS
from host.config import REPO_ROOT

Language = Literal["zh", "en"]
DEFAULT_PROMPTS_DIR = REPO_ROOT / "prompts"
# libyaml's loader where the wheel has it: a label move re-reads every prompt file
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PromptsError(ValueError):
    """A prompts file is missing a key or has the wrong shape."""


@dataclass(frozen=True)
class BannedLists:
    claims: Mapping[str, tuple[str, ...]]  # class -> claims: the guard blocks lines with these
    words: tuple[str, ...]  # triage drops comments containing these


@dataclass(frozen=True)
class FaqTopic:
    """A store-policy topic: how comments name it, and what to say when the merchant gave no
    policy for it (the policy itself is the merchant's, see `host.catalog.policy`)."""

    name: str
    keywords: tuple[str, ...]
    unknown: Mapping[Language, tuple[str, ...]]


@dataclass(frozen=True)
class PromotionRule:
    pattern: re.Pattern[str]
    en: str


@dataclass(frozen=True)
class Phrasebook:
    templates: Mapping[str, Mapping[Language, tuple[str, ...]]]
    promotions_en: tuple[PromotionRule, ...]
    glossary: tuple[tuple[str, str], ...]  # zh term -> en, longest term first
    savings: tuple[re.Pattern[str], ...] = ()  # promotions that restate list price - price

    def variants(self, key: str, language: Language) -> tuple[str, ...]:
        return self.templates[key][language]


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptsError(f"{path}: {exc}") from exc
    return parse_yaml(text, str(path))


def parse_yaml(text: str, where: str) -> Any:
    """YAML text as data; a syntax error names the line, as a marketer's editor shows it."""
    try:
        return yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise PromptsError(f"{where}:{line}: YAML syntax: {problem}") from exc


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PromptsError(f"{where}: expected a list of strings")
    return tuple(value)


def _by_language(value: Any, where: str) -> dict[Language, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise PromptsError(f"{where}: expected 'en' and 'zh' lists")
    out: dict[Language, tuple[str, ...]] = {}
    for lang in ("en", "zh"):
        items = _strings(value.get(lang), f"{where}.{lang}")
        if not items:
            raise PromptsError(f"{where}.{lang}: empty")
        out[lang] = items
    return out


def load_banned(path: Path = DEFAULT_PROMPTS_DIR / "banned.yaml") -> BannedLists:
    return banned_from(_read(path), str(path))


def banned_from(data: Any, where: str) -> BannedLists:
    """`claims` is a mapping of advertising-law class to claims (a plain list is one class,
    "claim"); `words` a list."""
    if not isinstance(data, dict):
        raise PromptsError(f"{where}: expected a mapping with 'claims' and 'words'")
    claims = data.get("claims")
    if isinstance(claims, list):
        classes = {"claim": _strings(claims, f"{where}: claims")}
    elif isinstance(claims, dict) and claims:
        classes = {
            str(kind): _strings(items, f"{where}: claims.{kind}") for kind, items in claims.items()
        }
    else:
        raise PromptsError(f"{where}: claims: expected a mapping of class to a list of claims")
    return BannedLists(claims=classes, words=_strings(data.get("words"), f"{where}: words"))


def load_faq(path: Path = DEFAULT_PROMPTS_DIR / "faq.yaml") -> tuple[FaqTopic, ...]:
    return faq_from(_read(path), str(path))


def faq_from(data: Any, path: str) -> tuple[FaqTopic, ...]:
    if not isinstance(data, dict):
        raise PromptsError(f"{path}: expected a mapping of topics")
    topics = []
    for name, body in data.items():
        where = f"{path}: {name}"
        if name not in POLICY_TOPICS:
            raise PromptsError(f"{where}: not a policy topic ({', '.join(POLICY_TOPICS)})")
        if not isinstance(body, dict):
            raise PromptsError(f"{where}: expected keywords and unknown")
        topics.append(
            FaqTopic(
                name=str(name),
                keywords=tuple(k.lower() for k in _strings(body.get("keywords"), where)),
                unknown=_by_language(body.get("unknown"), f"{where}.unknown"),
            )
        )
    return tuple(topics)


def load_phrasebook(path: Path = DEFAULT_PROMPTS_DIR / "answers.yaml") -> Phrasebook:
    return phrasebook_from(_read(path), str(path))


def phrasebook_from(data: Any, path: str) -> Phrasebook:
    if not isinstance(data, dict):
        raise PromptsError(f"{path}: expected a mapping of templates")
    data = dict(data)  # the special keys are taken out below; the caller's data stays whole
    rules = []
    for i, rule in enumerate(data.pop("promotions_en", []) or []):
        try:
            rules.append(PromotionRule(re.compile(rule["pattern"]), str(rule["en"])))
        except (KeyError, TypeError, re.error) as exc:
            raise PromptsError(f"{path}: promotions_en[{i}]: {exc}") from exc
    savings = []
    for i, pattern in enumerate(data.pop("savings", []) or []):
        try:
            savings.append(re.compile(str(pattern)))
        except re.error as exc:
            raise PromptsError(f"{path}: savings[{i}]: {exc}") from exc
    glossary = data.pop("glossary", {}) or {}
    if not isinstance(glossary, dict):
        raise PromptsError(f"{path}: glossary: expected a mapping")
    terms = sorted(((str(k), str(v)) for k, v in glossary.items()), key=lambda kv: -len(kv[0]))
    templates = {str(key): _by_language(body, f"{path}: {key}") for key, body in data.items()}
    return Phrasebook(
        templates=templates,
        promotions_en=tuple(rules),
        glossary=tuple(terms),
        savings=tuple(savings),
    )
