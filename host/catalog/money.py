"""Prices as merchants write them ("¥1,299.00", "1299元", "19,99 €") -> Decimal + currency.

Money is never a float here: a price read from a file is the exact price spoken on air.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from sqlalchemy import Numeric

from host.db.models import Money

KNOWN_CURRENCIES = frozenset(
    {"CNY", "USD", "EUR", "GBP", "JPY", "HKD", "TWD", "KRW", "SGD", "AUD", "CAD", "MYR", "THB"}
)


def _largest_amount(column: Numeric[Decimal]) -> Decimal:
    """The largest amount `column` holds, read from its declared digits."""
    precision, scale = column.precision, column.scale
    if precision is None or scale is None:
        raise TypeError("a money column declares its precision and scale")
    return Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)


MAX_PRICE = _largest_amount(Money)
"""The largest amount the money columns hold (Numeric(12, 2): 9,999,999,999.99)."""

# fmt: off
_SYMBOLS = {
    "人民币": "CNY", "rmb": "CNY", "cny": "CNY", "元": "CNY", "块": "CNY", "¥": "CNY", "￥": "CNY",
    "us$": "USD", "usd": "USD", "美元": "USD", "$": "USD",
    "eur": "EUR", "€": "EUR", "欧元": "EUR", "gbp": "GBP", "£": "GBP", "英镑": "GBP",
    "jpy": "JPY", "円": "JPY", "日元": "JPY", "hk$": "HKD", "hkd": "HKD", "港币": "HKD",
    "港元": "HKD", "nt$": "TWD", "twd": "TWD", "新台币": "TWD", "krw": "KRW", "₩": "KRW",
    "韩元": "KRW", "s$": "SGD", "sgd": "SGD", "a$": "AUD", "aud": "AUD", "c$": "CAD",
    "cad": "CAD", "myr": "MYR", "rm": "MYR", "thb": "THB", "฿": "THB",
}
# fmt: on
# Longest first, so "HK$" wins over "$" and "人民币" over "元".
_MARKERS = tuple(sorted(_SYMBOLS.items(), key=lambda item: -len(item[0])))
_NUMBER = re.compile(r"^[+-]?[\d.,' ]*\d[\d.,' ]*$")


class PriceError(ValueError):
    """A price that cannot be read; the message is the reason shown to the merchant."""


def parse_currency(text: str) -> str:
    """An ISO 4217 code from a code or a symbol ("cny", "¥", "人民币")."""
    cleaned = unicodedata.normalize("NFKC", text).strip().lower()
    for marker, code in _MARKERS:
        if cleaned == marker:
            return code
    if cleaned.upper() in KNOWN_CURRENCIES:
        return cleaned.upper()
    raise PriceError(f"unknown currency {text.strip()!r}")


def parse_price(text: str | int | float | Decimal) -> tuple[Decimal, str | None]:
    """The amount and, when the text names one, its currency; rejects negatives."""
    if isinstance(text, bool):
        raise PriceError(f"not a price: {text!r}")
    if isinstance(text, int | Decimal):
        return _checked(Decimal(text)), None
    if isinstance(text, float):
        return _checked(Decimal(repr(text))), None
    cleaned = unicodedata.normalize("NFKC", text).strip().lower()
    if not cleaned:
        raise PriceError("empty")
    currency = None
    for marker, code in _MARKERS:
        if marker in cleaned and not (marker.isalpha() and _inside_word(cleaned, marker)):
            currency = code
            cleaned = cleaned.replace(marker, " ", 1)
            break
    cleaned = cleaned.strip()
    if not re.search(r"\d", cleaned):
        raise PriceError(f"not a price: {text.strip()!r}")
    if re.search(r"[a-z]", cleaned):
        raise PriceError(f"unknown currency in {text.strip()!r}")
    if not _NUMBER.match(cleaned):
        raise PriceError(f"not a price: {text.strip()!r}")
    return _checked(_amount(cleaned.replace(" ", "").replace("'", ""), text)), currency


def _inside_word(text: str, marker: str) -> bool:
    start = text.find(marker)
    end = start + len(marker)
    return (start > 0 and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha())


def _amount(digits: str, original: str) -> Decimal:
    """Decide which of "," and "." is the decimal mark: the last one, unless it groups thousands."""
    sign = ""
    if digits[0] in "+-":
        sign, digits = digits[0], digits[1:]
    last_comma, last_dot = digits.rfind(","), digits.rfind(".")
    if last_comma >= 0 and last_dot >= 0:
        mark = "," if last_comma > last_dot else "."
    elif last_comma >= 0:
        tail = digits[last_comma + 1 :]
        mark = "," if digits.count(",") == 1 and len(tail) != 3 else ""
    else:
        mark = "." if digits.count(".") == 1 else ""
    if mark:
        whole, _, frac = digits.rpartition(mark)
        whole = whole.replace(",", "").replace(".", "")
        digits = f"{whole or '0'}.{frac}"
    else:
        digits = digits.replace(",", "").replace(".", "")
    try:
        return Decimal(sign + digits)
    except InvalidOperation as exc:
        raise PriceError(f"not a price: {original!r}") from exc


def _checked(amount: Decimal) -> Decimal:
    """Finite, not negative, at most two decimals, and small enough for the money columns."""
    if not amount.is_finite():
        raise PriceError("not a number")
    if amount < 0:
        raise PriceError("negative")
    if amount > MAX_PRICE:
        raise PriceError(f"too large (at most {MAX_PRICE})")
    if amount != amount.quantize(Decimal("0.01")):
        raise PriceError("more than two decimals")
    return amount.quantize(Decimal("0.01"))
