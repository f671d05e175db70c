"""Which product a comment means: link numbers, names and aliases (with typos), Chinese words.

Everything that depends only on the catalog is computed once in `ProductIndex`. A search
first ranks every product by a cheap sum over posting arrays (numpy, so a word shared by
thousands of products costs one vector add), then scores only a short list in full, so it
stays within a few milliseconds with tens of thousands of products.
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import jieba
from rapidfuzz import fuzz, process

from host.catalog.facts import Candidate, ProductFacts

jieba.setLogLevel(logging.WARNING)

MIN_SCORE = 0.45  # below this a candidate is noise ("hello everyone" must find nothing)
_TOKEN_SCALE = 0.65  # word overlap alone never outranks a whole name or alias
_FUZZY_WORD = 75  # rapidfuzz ratio for a misspelt word ("dwon" ~ "down")
_FUZZY_CJK = 70  # partial ratio for a Chinese name with a wrong character (4+ characters)
_SHORTLIST = 40  # products scored in full per search; the rest cannot reach the top three
_PAIR_WEIGHT = 0.3  # a shared pair of Chinese characters, in the shortlist's rough count

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:'[a-z]+)?")
_CN_DIGITS = {
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
_CN_NUMBER = r"[一二两三四五六七八九十]{1,3}"
_LINK_PATTERNS = tuple(
    re.compile(p)
    for p in (
        rf"(\d+|{_CN_NUMBER})\s*号",  # 3号, 3号链接, 三号
        rf"链接\s*#?\s*(\d+|{_CN_NUMBER})",  # 链接3
        rf"第\s*(\d+|{_CN_NUMBER})\s*(?:个|款|件)",  # 第3个
        r"#\s*(\d+)",  # #3
        r"\b(?:link|no|number|num|item)\s*\.?\s*#?\s*(\d+)\b",  # link 3, number 3, no.3
    )
)

_STOP_EN_WORDS = """a an the this that these those is are was be do does did you your u i me my
    we our it its
    how much many what whats which who when where why can could would will pls plz please
    have has any some there still left in on of for to and or with at from by about one ones
    price cost costs size sizes color colour colors stock available want buy get need give
    hi hello hey everyone thanks thank yes no ok okay good nice love like so too very just
    link number item product show tell more again now today free shipping ship"""
_STOP_EN = frozenset(_STOP_EN_WORDS.split())
_STOP_ZH_WORDS = """多少钱 多少 钱 吗 呢 的 了 有 没有 有没有 这个 那个 这款 那款 主播 宝宝 姐姐
    价格 链接 号 还 能 可以 怎么 什么 买 要 想 请问 一下 是 不是 我 你 啊 呀 吧 库存 尺码 颜色
    包邮 发货 优惠 便宜 贵 好 好看 哪个 几 个 款 看看 上 介绍 讲讲 现在 还有 大家 好好 谢谢 哈哈
    适合 一个 多大 多重 嘛 有货 货 么"""
_STOP_ZH = frozenset(_STOP_ZH_WORDS.split())


@dataclass
class _Entry:
    facts: ProductFacts
    cjk_phrases: list[str] = field(default_factory=list)
    latin_phrases: list[tuple[str, ...]] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> field weight


class ProductIndex:
    """A search index over one catalog; build it again when names or aliases change."""

    def __init__(self, products: Sequence[ProductFacts]) -> None:
        self._entries = [_entry(p) for p in products]
        self._by_link = {p.link: i for i, p in enumerate(products) if p.link is not None}
        self._postings: dict[str, set[int]] = defaultdict(set)
        self._bigrams: dict[str, set[int]] = defaultdict(set)
        for i, entry in enumerate(self._entries):
            for token in entry.tokens:
                self._postings[token].add(i)
            for phrase in entry.cjk_phrases:
                for bigram in _pairs(phrase):
                    self._bigrams[bigram].add(i)
        self._idf = {t: 1 / math.sqrt(len(ids)) for t, ids in self._postings.items()}
        self._vocabulary = sorted(t for t in self._postings if t.isascii())

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, text: str, lineup_skus: Sequence[str] = (), limit: int = 3) -> list[Candidate]:
        """Best matches first; lineup products win ties, in lineup order; [] if none is close."""
        query = _Query.parse(text)
        scores: dict[int, float] = {}
        for link in query.links:
            if link in self._by_link:
                scores[self._by_link[link]] = 1.0
        words = self._word_matches(query.words)
        tokens = {t: 1.0 for t in query.cjk_tokens if t in self._postings} | words
        order = {sku: n for n, sku in enumerate(lineup_skus)}
        for i in self._shortlist(query, tokens, order):
            score = max(
                self._phrase_score(self._entries[i], query, words),
                self._token_score(self._entries[i], tokens),
            )
            if score >= MIN_SCORE:
                scores[i] = max(scores.get(i, 0.0), score)
        ranked = sorted(
            scores.items(),
            key=lambda item: (
                -round(item[1], 3),
                order.get(self._entries[item[0]].facts.sku, len(order)),
                self._entries[item[0]].facts.sku,
            ),
        )
        return [Candidate(self._entries[i].facts, round(s, 3)) for i, s in ranked[:limit]]

    def _shortlist(
        self, query: _Query, tokens: dict[str, float], order: dict[str, int]
    ) -> list[int]:
        """The products worth scoring in full, by a cheap count of shared words and pairs."""
        rough: dict[int, float] = defaultdict(float)
        for token, similarity in tokens.items():
            weight = self._idf[token] * similarity
            for i in self._postings[token]:
                rough[i] += weight
        for bigram in _pairs(query.cjk):
            for i in self._bigrams.get(bigram, ()):
                rough[i] += _PAIR_WEIGHT
        return heapq.nlargest(
            _SHORTLIST,
            rough,
            key=lambda i: (rough[i], -order.get(self._entries[i].facts.sku, len(order))),
        )

    def _word_matches(self, words: Iterable[str]) -> dict[str, float]:
        """Catalog words the comment's words stand for, with a similarity (1.0 = spelt right)."""
        matches: dict[str, float] = {}
        for word in words:
            if word in self._postings:
                matches[word] = 1.0
                continue
            if len(word) < 4:
                continue
            for found, similarity, _ in process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=_FUZZY_WORD, limit=3
            ):
                if len(found) >= 4:
                    matches[found] = max(matches.get(found, 0.0), similarity / 100)
        return matches

    def _phrase_score(self, entry: _Entry, query: _Query, words: dict[str, float]) -> float:
        best = 0.0
        for phrase in entry.cjk_phrases:
            if phrase in query.cjk:
                best = max(best, 0.8 + 0.2 * min(1.0, len(phrase) / 4))
            elif len(phrase) >= 4 and query.cjk:
                ratio = fuzz.partial_ratio(phrase, query.cjk)
                if ratio >= _FUZZY_CJK:
                    best = max(best, 0.8 * ratio / 100)
        for words_of_name in entry.latin_phrases:
            similarities = [1.0 if w in query.words else words.get(w, 0.0) for w in words_of_name]
            if min(similarities) > 0:
                length = sum(len(w) for w in words_of_name)
                best = max(best, (0.7 + 0.3 * min(1.0, length / 8)) * min(similarities))
        return best

    def _token_score(self, entry: _Entry, tokens: dict[str, float]) -> float:
        total = sum(
            entry.tokens[t] * similarity * self._idf[t]
            for t, similarity in tokens.items()
            if t in entry.tokens
        )
        return _TOKEN_SCALE * min(1.0, total)


@dataclass(frozen=True)
class _Query:
    links: tuple[int, ...]
    cjk: str  # the comment's Chinese characters, run together
    words: frozenset[str]  # normalised Latin words, stop words removed
    cjk_tokens: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> _Query:
        normal = _normalise(text)
        links = tuple(
            _number(match.group(1))
            for pattern in _LINK_PATTERNS
            for match in pattern.finditer(normal)
        )
        runs = _RUNS.findall(normal)
        cjk = "".join(r for r in runs if not r.isascii())
        words = (
            frozenset(_stem(r) for r in runs if r.isascii() and not r.isdigit() and len(r) > 1)
            - _STOP_EN
        )
        tokens = {t for t in _cjk_tokens(cjk) if t not in _STOP_ZH}
        tokens |= {c for t in tokens if len(t) <= 2 for c in t}  # 有鞋 -> 鞋, 杯子 -> 杯
        return cls(links, cjk, words, frozenset(tokens))


def _entry(product: ProductFacts) -> _Entry:
    entry = _Entry(product)
    names = [product.name, *(product.aliases)]
    if product.name_en:
        names.append(product.name_en)
    for name in names:
        normal = _normalise(re.sub(r"\(.*?\)|（.*?）", " ", name))
        runs = _RUNS.findall(normal)
        cjk = "".join(r for r in runs if not r.isascii())
        if len(cjk) >= 2:
            entry.cjk_phrases.append(cjk)
        if len(cjk) >= 3:  # the head noun of a compound: 运动鞋 -> 鞋, 保温杯 -> 杯
            entry.tokens[cjk[-1]] = max(entry.tokens.get(cjk[-1], 0.0), 0.8)
        latin = tuple(_stem(r) for r in runs if r.isascii() and not r.isdigit() and len(r) > 1)
        latin = tuple(w for w in latin if w not in _STOP_EN) or latin
        if latin:
            entry.latin_phrases.append(latin)
        _add_tokens(entry, runs, 1.0)
    if product.category:
        _add_tokens(entry, _RUNS.findall(_normalise(product.category)), 0.9)
    for value in product.attributes.values():
        _add_tokens(entry, _RUNS.findall(_normalise(value)), 0.6)
    return entry


def _add_tokens(entry: _Entry, runs: Sequence[str], weight: float) -> None:
    tokens: set[str] = set()
    for run in runs:
        if run.isascii():
            if not run.isdigit() and len(run) > 2:
                tokens.add(_stem(run))
        else:
            tokens |= {t for t in _cjk_tokens(run) if len(t) > 1}
    for token in tokens - _STOP_EN - _STOP_ZH:
        entry.tokens[token] = max(entry.tokens.get(token, 0.0), weight)


def _cjk_tokens(text: str) -> set[str]:
    """jieba's words and sub-words; a character it leaves alone (鞋 in 有鞋吗) is a word too."""
    return {t for t in jieba.lcut_for_search(text) if t.strip()} if text else set()


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace("’", "'")


def _stem(word: str) -> str:
    """A crude plural/possessive fold, so "mats", "mat" and "kids'" meet their catalog word."""
    word = word.removesuffix("'s").rstrip("'")
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def _pairs(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    tens, _, units = text.partition("十")
    if "十" not in text:
        return _CN_DIGITS.get(text, 0)
    return _CN_DIGITS.get(tens, 1) * 10 + _CN_DIGITS.get(units, 0)
