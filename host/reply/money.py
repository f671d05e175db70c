"""Money in spoken lines: how the host says a price, and how the guard finds every amount.

Both directions live together so the notations the answerer writes are always notations
the guard can read back ("¥399", "399元", "RMB 399", "三百九十九块").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from host.text.zh_numerals import NUMERAL_CHARS, parse_number

SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}
ZH_UNITS = {"CNY": "元", "USD": "美元", "EUR": "欧元", "GBP": "英镑"}

NUM = rf"(\d+(?:\.\d+)?|[{NUMERAL_CHARS}]+)"
_PREFIXES = {
    "¥": "CNY",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "rmb": "CNY",
    "cny": "CNY",
    "usd": "USD",
    "eur": "EUR",
    "gbp": "GBP",
}
_SUFFIXES = {
    "元": "CNY",
    "块钱": "CNY",
    "块": "CNY",
    "人民币": "CNY",
    "yuan": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "美元": "USD",
    "美金": "USD",
    "dollars": "USD",
    "dollar": "USD",
    "usd": "USD",
    "欧元": "EUR",
    "euros": "EUR",
    "euro": "EUR",
    "eur": "EUR",
    "英镑": "GBP",
    "pounds": "GBP",
    "gbp": "GBP",
}


def _alternatives(words: dict[str, str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


PREFIXED = re.compile(rf"(?<![a-z])({_alternatives(_PREFIXES)})\s*{NUM}", re.IGNORECASE)
SUFFIXED = re.compile(rf"{NUM}\s*({_alternatives(_SUFFIXES)})(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str
    text: str  # as written in the line


def plain(value: Decimal) -> str:
    """399.00 -> "399", 9.90 -> "9.9": the way a host says it."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_money(value: Decimal, currency: str, language: Literal["zh", "en"]) -> str:
    if language == "zh" and currency in ZH_UNITS:
        return f"{plain(value)}{ZH_UNITS[currency]}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{plain(value)}" if symbol else f"{plain(value)} {currency}"


def find_amounts(text: str) -> list[Amount]:
    """Every money amount in the line, whatever the notation; each span is read once."""
    text = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, Amount]] = []
    taken: list[tuple[int, int]] = []
    for match in PREFIXED.finditer(text):
        value = parse_number(match.group(2))
        if value is not None:
            currency = _PREFIXES[match.group(1).lower()]
            found.append((match.start(), Amount(value, currency, match.group(0))))
            taken.append(match.span())
    for match in SUFFIXED.finditer(text):
        if any(start < match.end() and match.start() < end for start, end in taken):
            continue
        value = parse_number(match.group(1))
        if value is not None:
            currency = _SUFFIXES[match.group(2).lower()]
            found.append((match.start(), Amount(value, currency, match.group(0))))
    return [amount for _, amount in sorted(found, key=lambda pair: pair[0])]
