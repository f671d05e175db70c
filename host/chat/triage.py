"""Decide which comments the host answers, and in what order.

A busy room sends far more comments than a voice can answer (a reply takes 3-8 s of
speech), so triage drops noise, folds viewers asking the same thing into one item that
names every asker, ranks what is left, and lets go of what waited too long: a price
answered 20 s late may be answered after the price changed, and its asker has scrolled away.

What is answered next is the queued item of highest rank (the oldest on a tie):

    rank = class weight + value + askers + age rate x seconds waited

| class | weight | stale after (others waiting) | why |
|---|---|---|---|
| buying question (price, stock, size, link, ...) | 40 | 10 s (4 s) | the sale; first while fresh |
| superchat | 35 | never | paid: answered late rather than not, and says so |
| gift with an amount | 30 | never | paid, as a superchat |
| gift without one | 30 | 8 s (4 s) | thanks that come late sound canned |
| greeting, thanks, follow | 20 | 8 s (3 s) | a welcome, only while the viewer just came |
| chit-chat, flagged injection | 10 | 6 s (3 s) | answered when the room has time |

While other items wait too, the room has more than the host can answer, so the limits
shorten: what is answered is answered while its asker still watches, and the rest is let
go rather than answered late. An item waiting alone keeps the longer limit: nothing
fresher competes for the next answer, so it is answered as soon as the host is free.

| term | weight | why |
|---|---|---|
| value (paid) | +2 per tenfold amount, at most +4 | a bigger gift first, yet never before |
| | | a fresh buying question |
| askers | +2 per extra asker, at most +10 | a question many ask goes first |
| age, paid | +1.5 per second | never dropped, so waiting raises it: past `PAID_FIRST_S` |
| | | (13.3 s) it beats every unpaid item |
| age, unpaid | -0.5 per second | the newest asker is still watching: the older question goes |
| | | stale (at its limit a question still ranks with a fresh superchat) |

An item that waited past its class's limit (the shorter one while `LONG_QUEUE` wait) is dropped
as `stale` at the next `offer` or `pop`, counted in `drops` and handed to the session's
audit (`take_dropped`), so nothing waits beyond its limit; a paid item popped after
`LATE_S` is marked `late` and its reply apologises. The room is *loud* while `LONG_QUEUE`
or more items wait, and for `LOUD_HOLD_S` after: replies are then `compact` (the fact and
the link, no pleasantries) and the session holds its pitches.

Several viewers asking about the same thing become one item: the same text give or take
fillers and punctuation, or (with `Topics`) the same facts of the same product in the same
language ("how much is the down jacket?" and "down jacket price"). Gifts are thanked
together: a gift joins the gift item already waiting.

Everything triage keeps is bounded whatever arrives: the text read of a comment, the
askers and message ids one item remembers, the viewers it remembers for rate limits (the
least recently seen are forgotten first), the cache of texts already read (a flood is
mostly the same few lines, so each is normalised once) and the queue itself (a flood
costs the lowest-ranked items, never memory; only a queue full of paid items drops a paid
one). Every comment not queued or merged is counted in `drops` under its reason.
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
from typing import Literal, Protocol

from rapidfuzz import fuzz

from host.chat.events import KINDS, Comment, Decision, Triaged
from host.chat.injection import looks_like_injection
from host.chat.normalize import FILLERS, fold, has_cjk, readable
from host.reply.intents import detect, is_product_question

log = logging.getLogger(__name__)

ItemClass = Literal["buying", "superchat", "gift", "free_gift", "greeting", "chat"]


@dataclass(frozen=True)
class Weight:
    rank: float
    stale_s: float | None  # None: paid, never dropped for its age
    crowded_stale_s: float | None = None  # the limit while others wait too (None: stale_s)


# The scheduler's table (the module docstring says why each number is what it is).
WEIGHTS: dict[ItemClass, Weight] = {
    "buying": Weight(40.0, 10.0, 4.0),
    "superchat": Weight(35.0, None),
    "gift": Weight(30.0, None),
    "free_gift": Weight(30.0, 8.0, 4.0),
    "greeting": Weight(20.0, 8.0, 3.0),
    "chat": Weight(10.0, 6.0, 3.0),
}
VALUE_PER_TENFOLD = 2.0
MAX_VALUE_BONUS = 4.0
ASKER_BONUS = 2.0
MAX_ASKER_BONUS = 10.0
PAID_AGE_RATE = 1.5
AGE_RATE = 0.5  # rank an unpaid item loses per second waited
LATE_S = 8.0  # a paid item answered after waiting this long says sorry for the wait
LONG_QUEUE = 2  # items waiting that make the room loud: one reply takes 3-8 s of speech
LOUD_HOLD_S = 20.0  # the room stays loud this long after the queue was last long
# Past this wait a paid item outranks every unpaid item, however fresh or asked-for.
PAID_FIRST_S = (
    WEIGHTS["buying"].rank + MAX_ASKER_BONUS - min(WEIGHTS["gift"].rank, WEIGHTS["superchat"].rank)
) / PAID_AGE_RATE

MAX_TEXT_CHARS = 120
MAX_RAW_CHARS = 2_000  # read no further into a comment: a pasted megabyte costs nothing
MAX_NAME_CHARS = 40  # a display name longer than this is cut before anyone greets it
MAX_ID_CHARS = 128  # user and message ids, as remembered
MAX_ASKERS = 5  # names one answer says (all of them); more merge in silently
MAX_MERGED = 256  # message ids one item records as answered with it
MAX_VIEWERS = 20_000  # viewers remembered for flood and rate limits
MAX_ANSWERED = 64  # recently answered questions remembered against re-asking
READ_CACHE = 4_096  # distinct comment texts whose reading is kept
FLOOD_WINDOW_S = 60.0
MERGE_SIMILARITY = 85.0
# A question asked again this soon after the same one was taken is heard in its answer (a
# compact answer is out within about this long); asked later, the viewer missed it.
ANSWERING_S = 5.0

LINK = re.compile(
    r"https?://|www\.|t\.me/|\b[a-z0-9-]+\.(?:com|cn|net|org|io|me|ly|xyz|top|shop|link|cc)\b",
    re.IGNORECASE,
)
# After fold: "+1", "666", "111", "哈哈哈", "lol", "??" (already gone) and the like.
NOISE = re.compile(r"^(?:\d|[哈嘿呵嗯啊哦噢]|ha|he|hh|lol|lmao|xd|gg|ok|kk|w)+$")
DIGITS = re.compile(r"\d+")


class Topics(Protocol):
    def topic(self, text: str, language: str) -> str | None:
        """What a question asks, as a key equal for questions one answer settles; None for
        a comment that asks no fact."""
        ...


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
    topic: str | None
    queued_at: float
    base: float  # class weight plus value: the rank before askers and age
    stale_s: float | None
    crowded_stale_s: float | None

    @property
    def paid(self) -> bool:
        return self.stale_s is None

    def rank(self, now: float) -> float:
        rate = PAID_AGE_RATE if self.paid else -AGE_RATE
        return self.item.priority + rate * max(0.0, now - self.queued_at)

    def deadline(self, crowded: bool) -> float:
        """When it goes stale, alone or with others waiting (never for a paid item)."""
        limit = (
            self.crowded_stale_s if crowded and self.crowded_stale_s is not None else self.stale_s
        )
        return math.inf if limit is None else self.queued_at + limit

    def pay(self) -> None:
        """A paid gift joined: never dropped for its age."""
        self.stale_s = self.crowded_stale_s = None


class Triage:
    def __init__(
        self,
        banned: Sequence[str],
        queue_size: int = 64,
        viewer_cooldown_s: float = 3.0,
        merge_window_s: float = 10.0,
        max_viewers: int = MAX_VIEWERS,
        topics: Topics | None = None,
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
        self.topics = topics
        self.drops: Counter[str] = Counter()
        self._queue: list[_Queued] = []
        # Comments dropped after they were queued, until the session audits them; one
        # offer or pop adds at most a queue's worth, and the session takes them after each.
        self._dropped: deque[tuple[Comment, str]] = deque(maxlen=2 * queue_size)
        self._loud_until = -math.inf
        self._next_deadline = math.inf  # no queued item goes stale before this
        self._viewers: OrderedDict[str, _Viewer] = OrderedDict()  # least recently seen first
        self._answered: deque[tuple[str, tuple[str, ...], str | None, float]] = deque(
            maxlen=MAX_ANSWERED
        )
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
        self._expire(now)
        comment = _bounded(comment)
        reading = self._read(comment.text)
        viewer = self._viewer(comment.user_id, now)
        topic = None
        if comment.kind == "chat":
            reason = reading.spam or self._repeat_reason(viewer, reading.key, now)
            if reason is not None:
                return self._drop(reason, comment)
            if reading.product and not reading.injection and self.topics is not None:
                topic = self.topics.topic(reading.text, reading.language)
            if self._merge(comment, reading, topic, now):
                viewer.kept_at = now
                return Decision(kept=True, reason="merged")
            if self._being_answered(reading, topic, now):
                return self._drop("duplicate", comment)
        elif comment.kind == "gift" and self._fold_gift(comment, now):
            viewer.kept_at = now
            return Decision(kept=True, reason="merged")
        viewer.kept_at = now
        weight = WEIGHTS[_class(comment, reading)]
        base = weight.rank + _value_bonus(comment)
        item = Triaged(
            comment=comment,
            text=reading.text,
            language=reading.language,
            priority=base,
            askers=(comment.user_name,),
            injection=reading.injection,
        )
        item.trace.stamp("received", comment.ts)
        item.trace.stamp("triaged", now)
        queued = _Queued(
            item,
            reading.key,
            reading.digits,
            topic,
            now,
            base,
            weight.stale_s,
            weight.crowded_stale_s,
        )
        return self._enqueue(queued, now)

    def best_priority(self) -> float | None:
        """The highest priority waiting, so a lower line on air can give way to it."""
        return max((queued.item.priority for queued in self._queue), default=None)

    def queued(self) -> list[Triaged]:
        """The items waiting, oldest first (what the console's live page lists)."""
        return [q.item for q in self._queue]

    def oldest_wait(self, now: float) -> float:
        """Seconds the longest-waiting queued item has waited (0 with an empty queue)."""
        return max((now - q.queued_at for q in self._queue), default=0.0)

    def loud(self, now: float) -> bool:
        """The queue is long, or was within `LOUD_HOLD_S`: compact replies, no pitches."""
        return len(self._queue) >= LONG_QUEUE or now < self._loud_until

    def pop(self, now: float) -> Triaged | None:
        """The item to answer next (see the table above), never one past its stale limit."""
        self._expire(now)
        if not self._queue:
            return None
        best = max(self._queue, key=lambda q: (q.rank(now), -q.queued_at))
        self._queue.remove(best)
        if best.item.comment.kind == "chat" and not best.item.injection:
            self._answered.append((best.key, best.digits, best.topic, now))
        late = best.paid and now - best.queued_at > LATE_S
        return dataclasses.replace(best.item, compact=self.loud(now), late=late)

    def take_dropped(self) -> list[tuple[Comment, str]]:
        """Comments dropped after they were queued (`stale`, `queue_full`) since the last
        call, with their reason, for the audit log."""
        dropped = list(self._dropped)
        self._dropped.clear()
        return dropped

    def _expire(self, now: float) -> None:
        """Drop what went stale; the queue is scanned only once the first deadline passed."""
        if now <= self._next_deadline:
            return
        crowded = len(self._queue) >= LONG_QUEUE
        stale = [q for q in self._queue if now > q.deadline(crowded)]
        for queued in stale:
            self._queue.remove(queued)
            self._dropped_later(queued, "stale")
        crowded = len(self._queue) >= LONG_QUEUE
        self._next_deadline = min((q.deadline(crowded) for q in self._queue), default=math.inf)

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

    def _merge(self, comment: Comment, reading: _Reading, topic: str | None, now: float) -> bool:
        for queued in self._queue:
            item = queued.item
            if (
                item.comment.kind == "chat"
                and not item.injection
                and now - queued.queued_at <= self.merge_window_s
                and _same(queued.key, queued.digits, queued.topic, reading, topic)
            ):
                self._join(queued, comment, now)
                return True
        return False

    def _fold_gift(self, comment: Comment, now: float) -> bool:
        """Gifts are thanked together, as a host does ("thanks Lily, Tom and Mia!"): a gift
        joins the gift item already waiting, which becomes paid if this gift is."""
        for queued in self._queue:
            if queued.item.comment.kind == "gift":
                if _paid(comment):
                    queued.pay()
                    paid = WEIGHTS["gift"].rank + _value_bonus(comment)
                    queued.base = max(queued.base if queued.paid else 0.0, paid)
                self._join(queued, comment, now)
                return True
        return False

    def _join(self, queued: _Queued, comment: Comment, now: float) -> None:
        item = queued.item
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
        self._note_length(now)

    def _being_answered(self, reading: _Reading, topic: str | None, now: float) -> bool:
        """The same question was just taken for an answer: the asker hears it being answered."""
        while self._answered and now - self._answered[0][3] > ANSWERING_S:
            self._answered.popleft()
        return any(_same(k, d, t, reading, topic) for k, d, t, _ in self._answered)

    def _enqueue(self, queued: _Queued, now: float) -> Decision:
        self._next_deadline = min(self._next_deadline, queued.deadline(crowded=False))
        if len(self._queue) < self.queue_size:
            self._queue.append(queued)
            self._note_length(now)
            return Decision(kept=True, reason="queued")
        lowest = min(self._queue, key=lambda q: (q.rank(now), -q.queued_at))
        if lowest.rank(now) >= queued.rank(now):
            return self._drop("queue_full", queued.item.comment)
        self._queue.remove(lowest)
        self._queue.append(queued)
        self._dropped_later(lowest, "queue_full")
        self._note_length(now)
        return Decision(kept=True, reason="queued")

    def _note_length(self, now: float) -> None:
        if len(self._queue) >= LONG_QUEUE:
            self._loud_until = now + LOUD_HOLD_S
            # the shorter limits apply now: items already waiting may go stale sooner
            self._next_deadline = min(
                [self._next_deadline, *(q.deadline(True) for q in self._queue)]
            )

    def _dropped_later(self, queued: _Queued, reason: str) -> None:
        self.drops[reason] += 1
        self._dropped.append((queued.item.comment, reason))
        log.info("dropped queued %s (%s)", queued.item.comment.message_id, reason)

    def _drop(self, reason: str, comment: Comment) -> Decision:
        self.drops[reason] += 1
        log.debug("dropped %r (%s)", getattr(comment, "message_id", None), reason)
        return Decision(kept=False, reason=reason)


def _same(
    key: str, digits: tuple[str, ...], topic: str | None, reading: _Reading, new: str | None
) -> bool:
    """One answer settles both: the same facts of the same product, or the same words."""
    if topic is not None and topic == new:
        return True
    return digits == reading.digits and fuzz.ratio(key, reading.key) >= MERGE_SIMILARITY


def _paid(comment: Comment) -> bool:
    return comment.kind == "superchat" or (
        comment.kind == "gift" and comment.amount is not None and comment.amount > 0
    )


def _class(comment: Comment, reading: _Reading) -> ItemClass:
    if comment.kind == "superchat":
        return "superchat"
    if comment.kind == "gift":
        return "gift" if _paid(comment) else "free_gift"
    if reading.injection:
        return "chat"
    if reading.product:
        return "buying"
    if comment.kind == "follow" or reading.social:
        return "greeting"
    return "chat"


def _value_bonus(comment: Comment) -> float:
    if comment.amount is None or not _paid(comment):
        return 0.0
    return min(MAX_VALUE_BONUS, VALUE_PER_TENFOLD * math.log10(1 + float(comment.amount)))


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
