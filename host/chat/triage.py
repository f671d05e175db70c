"""Decide which comments the host answers, and in what order.

A busy room sends far more comments than a voice can answer (a reply takes 3-6 s of
speech), so triage drops noise, folds a burst of the same question into one item that
names every asker, and ranks what is left: buying questions first, then gifts, greetings
and chit-chat. Waiting raises an item's rank, so nothing starves; the queue is bounded, so
a flood costs the lowest-ranked items, never memory.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from host.chat.events import Comment, Decision, Triaged
from host.chat.injection import looks_like_injection
from host.chat.normalize import has_cjk, match_key, question_key, readable
from host.reply.intents import detect, is_product_question

log = logging.getLogger(__name__)

PRODUCT_PRIORITY = 40.0
SUPERCHAT_PRIORITY = 35.0
GIFT_PRIORITY = 30.0
GREETING_PRIORITY = 20.0
CHAT_PRIORITY = 10.0
AGE_RATE = 1.0  # priority gained per second waited: chit-chat beats a fresh question after 30 s
ASKER_BONUS = 2.0  # per extra asker merged in, so a question many ask goes first
MAX_ASKER_BONUS = 10.0
MAX_TEXT_CHARS = 120
FLOOD_WINDOW_S = 60.0
MERGE_SIMILARITY = 85.0

LINK = re.compile(
    r"https?://|www\.|t\.me/|\b[a-z0-9-]+\.(?:com|cn|net|org|io|me|ly|xyz|top|shop|link|cc)\b",
    re.IGNORECASE,
)
# After match_key: "+1", "666", "111", "哈哈哈", "lol", "??" (already gone) and the like.
NOISE = re.compile(r"^(?:\d|[哈嘿呵嗯啊哦噢]|ha|he|hh|lol|lmao|xd|gg|ok|kk|w)+$")
DIGITS = re.compile(r"\d+")


@dataclass
class _Queued:
    item: Triaged
    key: str
    digits: tuple[str, ...]
    queued_at: float
    base: float

    def rank(self, now: float) -> float:
        return self.item.priority + AGE_RATE * max(0.0, now - self.queued_at)


class Triage:
    def __init__(
        self,
        banned: Sequence[str],
        queue_size: int = 64,
        viewer_cooldown_s: float = 3.0,
        merge_window_s: float = 10.0,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.banned = tuple(readable(word).lower() for word in banned if word.strip())
        self.queue_size = queue_size
        self.viewer_cooldown_s = viewer_cooldown_s
        self.merge_window_s = merge_window_s
        self.drops: Counter[str] = Counter()
        self._queue: list[_Queued] = []
        self._last_kept: dict[str, float] = {}
        self._last_said: dict[str, tuple[str, float]] = {}
        self._answered: list[tuple[str, tuple[str, ...], float]] = []  # (key, digits, popped at)

    def __len__(self) -> int:
        return len(self._queue)

    def offer(self, comment: Comment, now: float) -> Decision:
        text = readable(comment.text)[:MAX_TEXT_CHARS]
        reason = self._spam_reason(comment, text, match_key(text))
        key = question_key(text)
        if reason is None:
            reason = self._repeat_reason(comment, key, now)
        if reason is not None:
            return self._drop(reason, comment)

        digits = tuple(DIGITS.findall(text))
        if comment.kind == "chat":
            if merged := self._merge(comment, key, digits, now):
                return merged
            if self._being_answered(key, digits, now):
                return self._drop("duplicate", comment)
        self._last_kept[comment.user_id] = now
        injection = looks_like_injection(text)
        item = Triaged(
            comment=comment,
            text=text,
            language="zh" if has_cjk(text) else "en",
            priority=CHAT_PRIORITY if injection else self._priority(comment, text),
            askers=(comment.user_name,),
            injection=injection,
        )
        item.trace.stamp("received", comment.ts)
        item.trace.stamp("triaged", now)
        return self._enqueue(_Queued(item, key, digits, now, item.priority), now)

    def pop(self, now: float) -> Triaged | None:
        """The item to answer next: highest priority after ageing, the oldest on a tie."""
        if not self._queue:
            return None
        best = max(self._queue, key=lambda q: (q.rank(now), -q.queued_at))
        self._queue.remove(best)
        if best.item.comment.kind == "chat" and not best.item.injection:
            self._answered.append((best.key, best.digits, now))
        return best.item

    def _spam_reason(self, comment: Comment, text: str, key: str) -> str | None:
        if comment.kind in ("like", "enter"):
            return "event"
        if comment.kind in ("gift", "superchat", "follow"):
            return None
        lowered = text.lower()
        if LINK.search(lowered):
            return "link"
        if any(word in lowered for word in self.banned):
            return "banned"
        if not text:
            return "empty"
        if not key or NOISE.match(key):
            return "noise"
        return None

    def _repeat_reason(self, comment: Comment, key: str, now: float) -> str | None:
        if comment.kind != "chat":
            return None
        said = self._last_said.get(comment.user_id)
        self._last_said[comment.user_id] = (key, now)
        if said is not None and said[0] == key and now - said[1] < FLOOD_WINDOW_S:
            return "flood"
        last = self._last_kept.get(comment.user_id)
        if last is not None and now - last < self.viewer_cooldown_s:
            return "rate"
        return None

    def _merge(
        self, comment: Comment, key: str, digits: tuple[str, ...], now: float
    ) -> Decision | None:
        for queued in self._queue:
            item = queued.item
            if (
                item.comment.kind == "chat"
                and not item.injection
                and now - queued.queued_at <= self.merge_window_s
                and queued.digits == digits
                and fuzz.ratio(queued.key, key) >= MERGE_SIMILARITY
            ):
                merged = (*item.merged, comment.message_id)
                if comment.user_name not in item.askers:
                    askers = (*item.askers, comment.user_name)
                    bonus = min(MAX_ASKER_BONUS, ASKER_BONUS * (len(askers) - 1))
                    queued.item = dataclasses.replace(
                        item, askers=askers, merged=merged, priority=queued.base + bonus
                    )
                else:
                    queued.item = dataclasses.replace(item, merged=merged)
                self._last_kept[comment.user_id] = now
                return Decision(kept=True, reason="merged")
        return None

    def _being_answered(self, key: str, digits: tuple[str, ...], now: float) -> bool:
        """The same question was just taken for an answer: the asker hears it being answered."""
        self._answered = [a for a in self._answered if now - a[2] <= self.merge_window_s]
        return any(
            d == digits and fuzz.ratio(k, key) >= MERGE_SIMILARITY for k, d, _ in self._answered
        )

    def _enqueue(self, queued: _Queued, now: float) -> Decision:
        if len(self._queue) < self.queue_size:
            self._queue.append(queued)
            return Decision(kept=True, reason="queued")
        lowest = min(self._queue, key=lambda q: (q.rank(now), -q.queued_at))
        if lowest.rank(now) >= queued.rank(now):
            return self._drop("queue_full", queued.item.comment)
        self._queue.remove(lowest)
        self._queue.append(queued)
        self.drops["queue_full"] += 1
        log.info("queue full: dropped %s to make room", lowest.item.comment.message_id)
        return Decision(kept=True, reason="queued")

    def _drop(self, reason: str, comment: Comment) -> Decision:
        self.drops[reason] += 1
        log.debug("dropped %s (%s): %r", comment.message_id, reason, comment.text)
        return Decision(kept=False, reason=reason)

    @staticmethod
    def _priority(comment: Comment, text: str) -> float:
        if comment.kind == "superchat":
            return SUPERCHAT_PRIORITY
        if comment.kind == "gift":
            return GIFT_PRIORITY
        intents = detect(text)
        if is_product_question(intents):
            return PRODUCT_PRIORITY
        if comment.kind == "follow" or "greeting" in intents or "thanks" in intents:
            return GREETING_PRIORITY
        return CHAT_PRIORITY
