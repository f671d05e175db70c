"""Spot comments that try to steer the host instead of asking it something.

Flagged comments are still answered, but only with a neutral catalog line: the text is
treated as data and never as an instruction (a responder must not obey it).
"""

from __future__ import annotations

import re

PATTERNS = (
    r"\b(?:ignore|disregard|forget)\b.{0,20}\b(?:previous|prior|above|earlier|all|your)\b"
    r".{0,20}\b(?:instructions?|prompts?|rules|guidelines)",
    r"\byou are now\b",
    r"\bfrom now on\b.{0,20}\byou\b",
    r"\b(?:pretend|act) (?:to be|you are|as)\b",
    r"\brole ?-?play",
    r"\bsystem prompt\b",
    r"\b(?:jailbreak|developer mode|dan mode)\b",
    r"\brepeat after me\b",
    r"\bsay\b.{0,30}\b(?:costs?|price|is|for)\b.{0,12}\d",
    r"忽略.{0,6}(?:之前|以上|前面|上面|所有|你的)",
    r"忘(?:记|掉).{0,6}(?:之前|以上|设定|指令|规则)",
    r"你现在是",
    r"从现在(?:开始|起)你",
    r"(?:假装|扮演|角色扮演|cosplay)",
    r"系统提示|提示词",
    r"(?:说|念|告诉大家).{0,10}(?:只要|只卖|卖|价格是|价钱是|costs?).{0,6}\d",
    r"跟我(?:念|读|说)",
)
INJECTION = re.compile("|".join(f"(?:{p})" for p in PATTERNS), re.IGNORECASE)


def looks_like_injection(text: str) -> bool:
    return INJECTION.search(text) is not None
