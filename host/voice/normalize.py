"""Text as a TTS engine should read it aloud: prices, numbers, sizes and codes spelled out.

Engines read "¥1,299.00" or "LH-001" badly or not at all, and a wrong price on air is the
worst mistake a selling host can make, so anything with digits is rewritten into words the
engine cannot misread. Chinese numbers are written out in characters (espeak's Mandarin
voice reads those reliably); English keeps plain digits, which both engines read well,
but loses currency symbols, thousands separators and trailing ".00". URLs, e-mail
addresses and emoji are dropped: nobody wants them read out.
"""

from __future__ import annotations

import calendar
import re

_ZH_DIGITS = "零一二三四五六七八九"
_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ZH_SMALL_UNITS = ("", "十", "百", "千")
_ZH_BIG_UNITS = ("", "万", "亿", "万亿")

_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NUMBER = r"\d+(?:\.\d+)?"

_FULLWIDTH = str.maketrans("０１２３４５６７８９％￥＄", "0123456789%¥$")
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*[A-Za-z0-9/#=_\-~%]")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2190-\u21ff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff"
    "\u3030\u303d\u3297\u3299\ufe0e\ufe0f\u200d\U000e0020-\U000e007f]"
)
_SKU = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,4})-(\d{1,8})(?![\d.])")
_PREFIX_CURRENCY = re.compile(rf"(¥|\$|€|£|(?<![A-Za-z])(?:RMB|CNY|USD))\s?({_AMOUNT})")
_SUFFIX_CURRENCY = re.compile(
    rf"({_AMOUNT})\s?(块钱|块|元|美元|yuan|RMB|CNY|USD|dollars?|euros?)(?![A-Za-z])"
)
_PERCENT = re.compile(rf"({_AMOUNT})\s?%")
_UNIT = re.compile(r"(?<=\d)\s?(mm|cm|km|kg|ml|g)(?![A-Za-z])")
_DIMENSIONS = re.compile(
    rf"(?<![A-Za-z\d.])({_NUMBER})\s?[x×X*]\s?({_NUMBER})(?:\s?[x×X*]\s?({_NUMBER}))?(?![\d.])"
)
_RANGE = re.compile(rf"(?<![A-Za-z\d.\-])({_NUMBER})\s?[-~～]\s?({_NUMBER})(?![\d.])")
_DATE = re.compile(r"(?<![\d.\-/])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d|[.\-/]\d)")
_CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d:])")
_YEAR = re.compile(r"(?<![\d.])(\d{4})(?=年)")
_TWO_OF = re.compile(r"(?<![\d.])2(?=[件个只条双套位款台瓶盒包袋斤])")
_ANY_AMOUNT = re.compile(_AMOUNT)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACES = re.compile(r"\s+")
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u9fff\uff00-\uffef])")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+(?=[.,!?;:])")

_CURRENCY_ZH = {
    "¥": "元", "RMB": "元", "CNY": "元", "yuan": "元", "元": "元", "块": "块", "块钱": "块钱",
    "$": "美元", "USD": "美元", "美元": "美元", "dollar": "美元", "dollars": "美元",
    "€": "欧元", "euro": "欧元", "euros": "欧元", "£": "英镑",
}  # fmt: skip
_CURRENCY_EN = {
    "¥": "yuan", "RMB": "yuan", "CNY": "yuan", "yuan": "yuan", "元": "yuan", "块": "yuan",
    "块钱": "yuan", "$": "dollars", "USD": "dollars", "美元": "dollars", "dollar": "dollars",
    "dollars": "dollars", "€": "euros", "euro": "euros", "euros": "euros", "£": "pounds",
}  # fmt: skip
_UNITS_ZH = {"mm": "毫米", "cm": "厘米", "km": "公里", "kg": "公斤", "ml": "毫升", "g": "克"}
_UNITS_EN = {
    "mm": "millimeters", "cm": "centimeters", "km": "kilometers",
    "kg": "kilograms", "ml": "milliliters", "g": "grams",
}  # fmt: skip
_SYMBOLS_ZH = str.maketrans({"&": "和", "#": " ", "*": " ", "@": " "})
_SYMBOLS_EN = str.maketrans({"&": " and ", "#": " ", "*": " ", "@": " "})


def normalize_for_speech(text: str, language: str) -> str:
    """Rewrite `text` ("zh" or "en") so a TTS engine reads exactly what a viewer should hear."""
    if language not in ("zh", "en"):
        raise ValueError(f"no speech normalisation for language {language!r}")
    zh = language == "zh"
    text = text.translate(_FULLWIDTH)
    text = _URL.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _EMOJI.sub("", text)
    text = _SKU.sub(lambda m: _spell_code(m[1], m[2], zh), text)
    text = _PREFIX_CURRENCY.sub(lambda m: _money(m[2], m[1], zh), text)
    text = _SUFFIX_CURRENCY.sub(lambda m: _money(m[1], m[2], zh), text)
    text = _PERCENT.sub(lambda m: _percent(m[1], zh), text)
    units = _UNITS_ZH if zh else _UNITS_EN
    text = _UNIT.sub(lambda m: units[m[1]] if zh else f" {units[m[1]]}", text)
    by = "乘" if zh else " by "
    text = _DIMENSIONS.sub(lambda m: by.join(n for n in m.groups() if n), text)
    text = _DATE.sub(lambda m: _date(m, zh), text)
    text = _RANGE.sub(lambda m: f"{m[1]}到{m[2]}" if zh else f"{m[1]} to {m[2]}", text)
    if zh:
        text = _CLOCK.sub(_zh_clock, text)
        text = _YEAR.sub(lambda m: _digits(m[1], zh=True), text)
        text = _TWO_OF.sub("两", text)
        text = _ANY_AMOUNT.sub(lambda m: zh_number(m[0]), text)
        text = text.translate(_SYMBOLS_ZH)
    else:
        text = _THOUSANDS.sub("", text)
        text = text.translate(_SYMBOLS_EN)
    text = _SPACES.sub(" ", text).strip()
    text = _SPACE_BEFORE_PUNCTUATION.sub("", text)
    return _CJK_SPACE.sub("", text) if zh else text


def zh_number(amount: str) -> str:
    """A written number ("1,299.00", "19.9", "128") as it is read in Mandarin.

    Integers with a leading zero or over twelve digits are codes, not quantities, and are
    read digit by digit.
    """
    whole, _, fraction = amount.replace(",", "").partition(".")
    if (len(whole) > 1 and whole.startswith("0")) or len(whole) > 12:
        spoken = _digits(whole, zh=True)
    else:
        spoken = _zh_integer(int(whole))
    fraction = fraction.rstrip("0")
    return f"{spoken}点{_digits(fraction, zh=True)}" if fraction else spoken


def _zh_integer(n: int) -> str:
    if n == 0:
        return _ZH_DIGITS[0]
    groups: list[int] = []
    while n:
        n, group = divmod(n, 10_000)
        groups.append(group)
    spoken = ""
    gap = False  # a zero group or leading zeros inside a group were skipped
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            gap = bool(spoken)
            continue
        if spoken and (gap or group < 1000):
            spoken += _ZH_DIGITS[0]
        spoken += _zh_group(group) + _ZH_BIG_UNITS[index]
        gap = False
    return spoken[1:] if spoken.startswith("一十") else spoken


def _zh_group(n: int) -> str:
    """A number under 10,000, without leading 零."""
    spoken = ""
    pending_zero = False
    for position in range(3, -1, -1):
        digit = n // 10**position % 10
        if digit == 0:
            pending_zero = bool(spoken)
            continue
        if pending_zero:
            spoken += _ZH_DIGITS[0]
            pending_zero = False
        spoken += _ZH_DIGITS[digit] + _ZH_SMALL_UNITS[position]
    return spoken


def _digits(digits: str, zh: bool) -> str:
    if zh:
        return "".join(_ZH_DIGITS[int(d)] for d in digits)
    return " ".join(_EN_DIGITS[int(d)] for d in digits)


def _plain(amount: str) -> str:
    """Amounts like 1,299.00 -> 1299 and 19.90 -> 19.9: what English TTS reads cleanly."""
    whole, _, fraction = amount.replace(",", "").partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _money(amount: str, currency: str, zh: bool) -> str:
    if zh:
        return zh_number(amount) + _CURRENCY_ZH[currency]
    plain = _plain(amount)
    unit = _CURRENCY_EN[currency]
    if plain == "1" and unit != "yuan":
        unit = unit.removesuffix("s")
    return f" {plain} {unit} "


def _percent(amount: str, zh: bool) -> str:
    return f"百分之{zh_number(amount)}" if zh else f"{_plain(amount)} percent"


def _spell_code(letters: str, digits: str, zh: bool) -> str:
    """A product code (LH-001 -> "L H zero zero one") is read as its characters."""
    return f" {' '.join(letters)} {_digits(digits, zh)} "


def _date(match: re.Match[str], zh: bool) -> str:
    """2024-05-01 (or 2024/5/1, 2024.05.01) as a date, not a range or a sum."""
    year, month, day = match[1], int(match[3]), int(match[4])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match[0]
    if zh:
        return f"{_digits(year, zh=True)}年{_zh_integer(month)}月{_zh_integer(day)}日"
    return f"{calendar.month_name[month]} {day}, {year}"  # the C locale's English names


def _zh_clock(match: re.Match[str]) -> str:
    hour, minute = int(match[1]), int(match[2])
    if hour > 24 or minute > 59:
        return match[0]
    spoken = f"{_zh_integer(hour)}点"
    if minute:
        spoken += ("零" if minute < 10 else "") + f"{_zh_integer(minute)}分"
    return spoken
