"""Decide which comments the host answers, and in what order.

A busy room sends far more comments than a voice can answer (a reply takes 3-6 s of
speech), so triage drops noise, folds a burst of the same question into one item that
names every asker, and ranks what is left: buying questions first, then gifts, greetings
and chit-chat. Waiting raises an item's rank, so nothing starves; the queue is bounded, so
a flood costs the lowest-ranked items, never memory.

Everything triage keeps is bounded whatever arrives: the text read of a comment, the
askers and message ids one item remembers, the viewers it remembers for rate limits (the
least recently seen are forgotten first), and the cache of texts already read (a flood is
mostly the same few lines, so each is normalised once). Every comment not queued or merged
is counted in `drops` under its reason.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re
from collections import Counter, OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from rapidfuzz import fuzz

from host.chat.events import KINDS, Comment, Decision, Triaged
from host.chat.injection import looks_like_injection
from host.chat.normalize import FILLERS, fold, has_cjk, readable
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
MAX_RAW_CHARS = 2_000  # read no further into a comment: a pasted megabyte costs nothing
MAX_NAME_CHARS = 40  # a display name longer than this is cut before anyone greets it
MAX_ID_CHARS = 128  # user and message ids, as remembered
MAX_ASKERS = 8  # names one answer greets; more merge in silently
MAX_MERGED = 256  # message ids one item records as answered with it
MAX_VIEWERS = 20_000  # viewers remembered for flood and rate limits
MAX_ANSWERED = 64  # recently answered questions remembered against re-asking
READ_CACHE = 4_096  # distinct comment texts whose reading is kept
FLOOD_WINDOW_S = 60.0
MERGE_SIMILARITY = 85.0

LINK = re.compile(
    r"https?://|www\.|t\.me/|\b[a-z0-9-]+\.(?:com|cn|net|org|io|me|ly|xyz|top|shop|link|cc)\b",
    re.IGNORECASE,
)
# After fold: "+1", "666", "111", "哈哈哈", "lol", "??" (already gone) and the like.
NOISE = re.compile(r"^(?:\d|[哈嘿呵嗯啊哦噢]|ha|he|hh|lol|lmao|xd|gg|ok|kk|w)+$")
DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class _Reading:
    """What triage needs from a comment's text: a pure function of it, so it is cached."""

    text: str
    key: str  # fold() without filler words: "这个多少钱呀" equals "多少钱"
    digits: tuple[str, ...]
    language: Literal["zh", "en"]
    spam: str | None  # why a chat comment with this text is dropped, if it is
    injection: bool
    product: bool
    social: bool  # a greeting or thanks


@dataclass(slots=True)
class _Viewer:
    said_key: str | None = None
    said_at: float = -math.inf
    kept_at: float = -math.inf


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
        max_viewers: int = MAX_VIEWERS,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        if max_viewers < 1:
            raise ValueError("max_viewers must be at least 1")
        self.banned = tuple(readable(word).lower() for word in banned if word.strip())
        self.queue_size = queue_size
        self.viewer_cooldown_s = viewer_cooldown_s
        self.merge_window_s = merge_window_s
        self.max_viewers = max_viewers
        self.drops: Counter[str] = Counter()
        self._queue: list[_Queued] = []
        self._viewers: OrderedDict[str, _Viewer] = OrderedDict()  # least recently seen first
        self._answered: deque[tuple[str, tuple[str, ...], float]] = deque(maxlen=MAX_ANSWERED)
        self._read = functools.lru_cache(maxsize=READ_CACHE)(self._reading)

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def viewers_remembered(self) -> int:
        return len(self._viewers)

    def offer(self, comment: Comment, now: float) -> Decision:
        if _malformed(comment):
            return self._drop("malformed", comment)
        if comment.kind in ("like", "enter"):
            return self._drop("event", comment)
        comment = _bounded(comment)
        reading = self._read(comment.text)
        viewer = self._viewer(comment.user_id, now)
        if comment.kind == "chat":
            reason = reading.spam or self._repeat_reason(viewer, reading.key, now)
            if reason is not None:
                return self._drop(reason, comment)
            if self._merge(comment, reading, now):
                viewer.kept_at = now
                return Decision(kept=True, reason="merged")
            if self._being_answered(reading, now):
                return self._drop("duplicate", comment)
        viewer.kept_at = now
        item = Triaged(
            comment=comment,
            text=reading.text,
            language=reading.language,
            priority=CHAT_PRIORITY if reading.injection else _priority(comment.kind, reading),
            askers=(comment.user_name,),
            injection=reading.injection,
        )
        item.trace.stamp("received", comment.ts)
        item.trace.stamp("triaged", now)
        return self._enqueue(_Queued(item, reading.key, reading.digits, now, item.priority), now)

    def best_priority(self) -> float | None:
        """The highest priority waiting, so a lower line on air can give way to it."""
        return max((queued.item.priority for queued in self._queue), default=None)

    def queued(self) -> list[Triaged]:
        """The items waiting, oldest first (what the console's live page lists)."""
        return [q.item for q in self._queue]

    def oldest_wait(self, now: float) -> float:
        """Seconds the longest-waiting queued item has waited (0 with an empty queue)."""
        return max((now - q.queued_at for q in self._queue), default=0.0)

    def pop(self, now: float) -> Triaged | None:
        """The item to answer next: highest priority after ageing, the oldest on a tie."""
        if not self._queue:
            return None
        best = max(self._queue, key=lambda q: (q.rank(now), -q.queued_at))
        self._queue.remove(best)
        if best.item.comment.kind == "chat" and not best.item.injection:
            self._answered.append((best.key, best.digits, now))
        return best.item

    def _reading(self, raw: str) -> _Reading:
        text = readable(raw)[:MAX_TEXT_CHARS]
        lowered = text.lower()
        key = fold(FILLERS.sub(" ", lowered))
        injection = looks_like_injection(text)
        intents = detect(text)
        return _Reading(
            text=text,
            key=key,
            digits=tuple(DIGITS.findall(text)),
            language="zh" if has_cjk(text) else "en",
            spam=self._spam_reason(text, lowered),
            injection=injection,
            product=is_product_question(intents),
            social="greeting" in intents or "thanks" in intents,
        )

    def _spam_reason(self, text: str, lowered: str) -> str | None:
        if LINK.search(lowered):
            return "link"
        if any(word in lowered for word in self.banned):
            return "banned"
        if not text:
            return "empty"
        key = fold(text)
        if not key or NOISE.match(key):
            return "noise"
        return None

    def _viewer(self, user_id: str, now: float) -> _Viewer:
        """This viewer's state, marked most recent; forgets viewers quiet for a while."""
        viewer = self._viewers.get(user_id)
        if viewer is None:
            viewer = self._viewers[user_id] = _Viewer()
        else:
            self._viewers.move_to_end(user_id)
        stale = max(FLOOD_WINDOW_S, self.viewer_cooldown_s)
        while len(self._viewers) > self.max_viewers:
            self._viewers.popitem(last=False)
        while len(self._viewers) > 1:
            oldest = next(iter(self._viewers.values()))
            if now - max(oldest.said_at, oldest.kept_at) <= stale:
                break
            self._viewers.popitem(last=False)
        return viewer

    def _repeat_reason(self, viewer: _Viewer, key: str, now: float) -> str | None:
        said_key, said_at = viewer.said_key, viewer.said_at
        viewer.said_key, viewer.said_at = key, now
        if said_key == key and now - said_at < FLOOD_WINDOW_S:
            return "flood"
        if now - viewer.kept_at < self.viewer_cooldown_s:
            return "rate"
        return None

    def _merge(self, comment: Comment, reading: _Reading, now: float) -> bool:
        for queued in self._queue:
            item = queued.item
            if (
                item.comment.kind == "chat"
                and not item.injection
                and now - queued.queued_at <= self.merge_window_s
                and queued.digits == reading.digits
                and fuzz.ratio(queued.key, reading.key) >= MERGE_SIMILARITY
            ):
                merged = item.merged
                if len(merged) < MAX_MERGED:
                    merged = (*merged, comment.message_id)
                askers = item.askers
                if comment.user_name not in askers and len(askers) < MAX_ASKERS:
                    askers = (*askers, comment.user_name)
                bonus = min(MAX_ASKER_BONUS, ASKER_BONUS * (len(askers) - 1))
                queued.item = dataclasses.replace(
                    item, askers=askers, merged=merged, priority=queued.base + bonus
                )
                return True
        return False

    def _being_answered(self, reading: _Reading, now: float) -> bool:
        """The same question was just taken for an answer: the asker hears it being answered."""
        while self._answered and now - self._answered[0][2] > self.merge_window_s:
            self._answered.popleft()
        return any(
            d == reading.digits and fuzz.ratio(k, reading.key) >= MERGE_SIMILARITY
            for k, d, _ in self._answered
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
        log.debug("dropped %r (%s)", getattr(comment, "message_id", None), reason)
        return Decision(kept=False, reason=reason)


def _priority(kind: str, reading: _Reading) -> float:
    if kind == "superchat":
        return SUPERCHAT_PRIORITY
    if kind == "gift":
        return GIFT_PRIORITY
    if reading.product:
        return PRODUCT_PRIORITY
    if kind == "follow" or reading.social:
        return GREETING_PRIORITY
    return CHAT_PRIORITY


def _malformed(comment: object) -> bool:
    """A source bug or a hostile bridge: fields of the wrong type, an unknown kind, a bad amount.

    Comments cross a process boundary (websocket bridges, webhooks), so their declared types
    are a promise triage checks rather than trusts.
    """
    if not isinstance(comment, Comment):
        return True
    if not isinstance(comment.kind, str) or comment.kind not in KINDS:
        return True
    fields = (comment.text, comment.user_id, comment.user_name, comment.message_id)
    if not all(isinstance(value, str) for value in fields) or not comment.user_id:
        return True
    ts = comment.ts
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        return True
    amount = comment.amount
    return amount is not None and (
        not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0
    )


def _bounded(comment: Comment) -> Comment:
    """The comment with every text field cut to what triage keeps, so no item grows unbounded."""
    if (
        len(comment.text) <= MAX_RAW_CHARS
        and len(comment.user_name) <= MAX_NAME_CHARS
        and len(comment.user_id) <= MAX_ID_CHARS
        and len(comment.message_id) <= MAX_ID_CHARS
    ):
        return comment
    return dataclasses.replace(
        comment,
        text=comment.text[:MAX_RAW_CHARS],
        user_name=comment.user_name[:MAX_NAME_CHARS],
        user_id=comment.user_id[:MAX_ID_CHARS],
        message_id=comment.message_id[:MAX_ID_CHARS],
    )
