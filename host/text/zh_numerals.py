"""Chinese numerals to numbers: "三百九十九元" for the guard, "三号" for link numbers.

A spoken-style line may write amounts in characters; a price check that only saw digits
would let a wrong price through in the other notation.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = "".join(DIGITS) + "".join(UNITS) + "万点"


def _integer(text: str) -> int | None:
    if not text:
        return None
    if "万" in text:
        high, _, low = text.partition("万")
        high_value = _integer(high) if high else 1
        low_value = _integer(low + "千" if len(low) == 1 else low) if low else 0
        if high_value is None or low_value is None:
            return None
        return high_value * 10_000 + low_value
    if all(ch in DIGITS for ch in text) and len(text) > 1:
        return int("".join(str(DIGITS[ch]) for ch in text))
    total, digit, last_unit, after_zero = 0, None, 1, False
    for ch in text:
        if ch in DIGITS:
            digit = DIGITS[ch]
            after_zero = after_zero or digit == 0
        elif ch in UNITS:
            total += (1 if digit is None else digit) * UNITS[ch]
            digit, last_unit, after_zero = None, UNITS[ch], False
        else:
            return None
    if digit and last_unit > 10 and not after_zero:
        return total + digit * last_unit // 10  # "两百五" is 250
    return total + (digit or 0)


def parse_chinese_number(text: str) -> Decimal | None:
    """ "三百九十九" -> 399, "两百五" -> 250, "九十九点九" -> 99.9; None if not a numeral."""
    whole, dot, frac = text.partition("点")
    integer = _integer(whole)
    if integer is None:
        return None
    if not dot:
        return Decimal(integer)
    if not frac or any(ch not in DIGITS for ch in frac):
        return None
    try:
        return Decimal(f"{integer}.{''.join(str(DIGITS[ch]) for ch in frac)}")
    except InvalidOperation:
        return None


def parse_number(text: str) -> Decimal | None:
    """Digits ("399", "399.00") or Chinese numerals; None when it is neither."""
    text = text.strip()
    try:
        return Decimal(text)
    except InvalidOperation:
        return parse_chinese_number(text)
