"""What of a viewer's comment goes on screen, and the one rule that lets it on.

A comment reaches the screen only as an `OnAirComment`, and the only way to make one from
chat is `on_air`, which takes what triage kept (`Triaged`; a dropped comment never becomes
one) and refuses a comment flagged as prompt injection: the host answers it neutrally, but
its words are never broadcast. Gifts carry no words of their own, so the screen shows the
gift and its count or value instead of an empty "Rosa:".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from host.chat.events import Comment, Triaged
from host.stream.card import money

GIFT = "🎁"  # left out by the typesetter where no emoji font is installed
GIFT_WORDS = "送出礼物 · sent a gift"


@dataclass(frozen=True)
class OnAirComment:
    """The comment band: who asked (every merged asker) and the line shown after the name."""

    names: str
    text: str


def on_air(item: Triaged) -> OnAirComment | None:
    """The comment as shown while its reply is spoken; None when it must stay off screen."""
    if item.injection:
        return None
    return OnAirComment(", ".join(item.askers), shown_text(item.comment))


def shown_text(comment: Comment) -> str:
    """A chat line as typed; a gift or paid message with what was given."""
    text = " ".join(comment.text.split())
    if comment.kind == "gift":
        given = _amount(comment.amount, comment.currency)
        return " ".join(part for part in (GIFT, text or GIFT_WORDS, given) if part)
    if comment.kind == "superchat" and comment.amount is not None:
        return f"{_amount(comment.amount, comment.currency)} {text}".strip()
    return text


def _amount(amount: Decimal | None, currency: str | None) -> str:
    """ "×10" for a count (no currency), "¥30" for money, "100 bits" for Twitch bits."""
    if amount is None:
        return ""
    if currency is None:
        return f"×{amount.normalize():f}"
    if currency.lower() == "bits":
        return f"{amount.normalize():f} bits"
    return money(amount, currency)
