"""Which product a comment means: link numbers, names and aliases (with typos), Chinese words.

Everything that depends only on the catalog is computed once in `ProductIndex`. A search
first ranks every product by a cheap sum over posting arrays (numpy, so a word shared by
thousands of products costs one vector add), then scores only a short list in full, so it
stays within a few milliseconds with tens of thousands of products.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import jieba
import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from host.catalog.facts import Candidate, ProductFacts
from host.text.zh_numerals import DIGITS, parse_chinese_number

jieba.setLogLevel(logging.WARNING)

MIN_SCORE = 0.45  # below this a candidate is noise ("hello everyone" must find nothing)
_TOKEN_SCALE = 0.65  # word overlap alone never outranks a whole name or alias
_FUZZY_WORD = 75  # rapidfuzz ratio for a misspelt word ("dwon" ~ "down")
_FUZZY_CJK = 70  # partial ratio for a Chinese name with a wrong character (4+ characters)
_SHORTLIST = 40  # products scored in full per search; the rest cannot reach the top three
_PAIR_WEIGHT = 0.3  # a shared pair of Chinese characters, in the shortlist's rough count

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:'[a-z]+)?")
_CN_NUMBER = rf"[{''.join(DIGITS)}十百]{{1,4}}"
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


_Ids = npt.NDArray[np.int32]


class ProductIndex:
    """A search index over one catalog; build it again when names, aliases or links change.

    Products are kept in SKU order, so "lowest position" is "lowest SKU" when the short
    list has to cut through a tie.
    """

    def __init__(self, products: Sequence[ProductFacts]) -> None:
        self._entries = [_entry(p) for p in sorted(products, key=lambda p: p.sku)]
        self._position = {e.facts.sku: i for i, e in enumerate(self._entries)}
        self._by_link = {
            e.facts.link: i for i, e in enumerate(self._entries) if e.facts.link is not None
        }
        # The lineup in link order, so a search needs no lineup query of its own.
        linked = sorted(
            (e.facts.link, e.facts.sku) for e in self._entries if e.facts.link is not None
        )
        self.lineup_skus = tuple(sku for _, sku in linked)
        postings: dict[str, list[int]] = defaultdict(list)
        bigrams: dict[str, list[int]] = defaultdict(list)
        for i, entry in enumerate(self._entries):
            for token in entry.tokens:
                postings[token].append(i)
            for bigram in {b for phrase in entry.cjk_phrases for b in _pairs(phrase)}:
                bigrams[bigram].append(i)
        self._postings = {t: np.array(ids, dtype=np.int32) for t, ids in postings.items()}
        self._bigrams = {b: np.array(ids, dtype=np.int32) for b, ids in bigrams.items()}
        self._idf = {t: 1 / math.sqrt(len(ids)) for t, ids in postings.items()}
        by_length: dict[int, list[str]] = defaultdict(list)
        for token in sorted(t for t in postings if t.isascii() and len(t) >= 4):
            by_length[len(token)].append(token)
        self._vocabulary = dict(by_length)  # catalog words a misspelt word may stand for

    def search(self, text: str, lineup_skus: Sequence[str] = (), limit: int = 3) -> list[Candidate]:
        """Best matches first; [] if none is close.

        Equal scores go to the product sharing more of the comment's words (the black scarf
        for "黑色围巾" when two scarves share a name), then to lineup products in lineup order.
        """
        query = _Query.parse(text)
        scores: dict[int, float] = {}
        for link in query.links:
            if link in self._by_link:
                scores[self._by_link[link]] = 1.0
        words = self._word_matches(query.words)
        tokens = {t: 1.0 for t in self._cjk_matches(query.cjk_tokens)} | words
        order = {sku: n for n, sku in enumerate(lineup_skus)}
        shared = self._shortlist(query, tokens, lineup_skus)
        for i in shared:
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
                -round(shared.get(item[0], 0.0), 3),
                order.get(self._entries[item[0]].facts.sku, len(order)),
                item[0],  # SKU order
            ),
        )
        return [Candidate(self._entries[i].facts, round(s, 3)) for i, s in ranked[:limit]]

    def _shortlist(
        self, query: _Query, tokens: dict[str, float], lineup_skus: Sequence[str]
    ) -> dict[int, float]:
        """The products worth scoring in full, with a cheap sum of shared words and pairs.

        Ties at the cut go to lineup products (in lineup order), then to the lowest SKUs.
        """
        hits = [(self._postings[t], self._idf[t] * s) for t, s in tokens.items()]
        hits += [(self._bigrams[b], _PAIR_WEIGHT) for b in _pairs(query.cjk) if b in self._bigrams]
        if not hits:
            return {}
        rough = np.zeros(len(self._entries))
        for ids, weight in hits:
            rough[ids] += weight  # ids are unique within one posting array
        found = np.flatnonzero(rough)
        if len(found) <= _SHORTLIST:
            return dict(zip(found.tolist(), rough[found].tolist(), strict=True))
        values = rough[found]
        cut = np.partition(values, len(found) - _SHORTLIST)[len(found) - _SHORTLIST]
        above = found[values > cut].tolist()
        lineup = (self._position.get(sku) for sku in lineup_skus)
        tied = [i for i in lineup if i is not None and rough[i] == cut]
        tied_set = set(tied)
        tied += [i for i in found[values == cut][:_SHORTLIST].tolist() if i not in tied_set]
        chosen = above + tied[: _SHORTLIST - len(above)]
        return dict(zip(chosen, rough[chosen].tolist(), strict=True))

    def _cjk_matches(self, tokens: frozenset[str]) -> set[str]:
        """Catalog words among the comment's, and the characters of short unknown ones.

        有鞋 and 杯子 are no catalog words, so 鞋 and 杯 stand for them; 豆沙 (a colour) is one,
        so it is not split into 豆 (coffee beans).
        """
        known = {t for t in tokens if t in self._postings}
        loose = {c for t in tokens - known if len(t) <= 2 for c in t}
        return known | {c for c in loose if c in self._postings}

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
                word, self._near_length(len(word)), scorer=fuzz.ratio,
                score_cutoff=_FUZZY_WORD, limit=3,
            ):  # fmt: skip
                matches[found] = max(matches.get(found, 0.0), similarity / 100)
        return matches

    def _near_length(self, length: int) -> list[str]:
        """Catalog words long enough and short enough to reach `_FUZZY_WORD` against one."""
        ratio = _FUZZY_WORD / (200 - _FUZZY_WORD)  # ratio = 2*common/(a+b) bounds b/a
        low, high = math.ceil(length * ratio), math.floor(length / ratio)
        return [w for n in range(low, high + 1) for w in self._vocabulary.get(n, ())]

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
        _, cjk, latin = _split(normal)
        tokens = frozenset(t for t in _cjk_tokens(cjk) if t not in _STOP_ZH)
        return cls(links, cjk, frozenset(latin) - _STOP_EN, tokens)


def _split(normal: str) -> tuple[list[str], str, tuple[str, ...]]:
    """Runs of a normalised text, its Chinese run together and its stemmed Latin words.

    Comments and catalog names are split alike, or their words would never meet.
    """
    runs = _RUNS.findall(normal)
    cjk = "".join(r for r in runs if not r.isascii())
    latin = tuple(_stem(r) for r in runs if r.isascii() and not r.isdigit() and len(r) > 1)
    return runs, cjk, latin


def _entry(product: ProductFacts) -> _Entry:
    entry = _Entry(product)
    names = [product.name, *(product.aliases)]
    if product.name_en:
        names.append(product.name_en)
    for name in names:
        normal = _normalise(re.sub(r"\(.*?\)|（.*?）", " ", name))
        runs, cjk, latin = _split(normal)
        if len(cjk) >= 2:
            entry.cjk_phrases.append(cjk)
        if len(cjk) >= 3:  # the head noun of a compound: 运动鞋 -> 鞋, 保温杯 -> 杯
            entry.tokens[cjk[-1]] = max(entry.tokens.get(cjk[-1], 0.0), 0.8)
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


@functools.lru_cache(maxsize=65536)
def _cjk_tokens(text: str) -> frozenset[str]:
    """jieba's words and sub-words; a character it leaves alone (鞋 in 有鞋吗) is a word too.

    Cached: categories, colours and the words of comments repeat far more than they vary.
    """
    return frozenset(t for t in jieba.lcut_for_search(text) if t.strip()) if text else frozenset()


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
    """A link number written in digits (3) or characters (三, 十二); 0 when it is neither."""
    if text.isdigit():
        return int(text)
    value = parse_chinese_number(text)
    return int(value) if value is not None else 0
