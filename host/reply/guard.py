"""The last check before a line is spoken: numbers must be catalog facts, claims must be legal.

A live host that says a wrong price has made an offer on air, and absolute claims ("最好",
"guaranteed") break advertising law on most platforms. Whatever wrote the line (an LLM, a
template, an operator), every amount, stock count, percentage and link number in it must
come from the facts of the products in play, and no banned claim may appear. Nor may the
host claim to be a person: platforms require an AI host to be disclosed as one, and a
viewer who asks "are you real?" must never hear "yes".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from host.catalog.facts import CatalogView, ProductFacts, facts_for
from host.reply.events import Sentence, Verdict
from host.reply.money import NUM, find_amounts, plain
from host.text.zh_numerals import parse_number

STOCK_PATTERNS = (
    re.compile(rf"(?:库存|还剩|仅剩|只剩|剩下|剩)(?:还有|有)?\s*{NUM}"),
    re.compile(rf"{NUM}\s*件(?:现货|库存)"),
    re.compile(r"(\d+)\s+(?:left|in stock|available|remaining)\b", re.IGNORECASE),
    re.compile(r"\bonly\s+(\d+)\b", re.IGNORECASE),
)
PERCENT_PATTERNS = (
    re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b)", re.IGNORECASE),
    re.compile(rf"百分之{NUM}"),
)
LINK_PATTERNS = (
    re.compile(rf"{NUM}\s*号(?:链接)?"),
    re.compile(r"\blink\s*(?:#|no\.?|number)?\s*(\d+)\b", re.IGNORECASE),
)
FACT_NUMBER = re.compile(r"\d+(?:\.\d+)?")
HUMAN_CLAIMS = (
    re.compile(r"我(?:可|就|真的|当然|确实|也)?是(?:一个|个)?(?:真人|真实的人|真的人|人类|活人)"),
    re.compile(r"我(?:可|真的|当然|确实|并|也)?不是(?:ai|机器人|人工智能|数字人|虚拟)", re.I),
    re.compile(r"\bI(?:'m| am)\s+(?:an?\s+)?(?:real\s+|actual\s+)?(?:person|human)\b", re.I),
    re.compile(r"\bI(?:'m| am)\s+not\s+(?:an?\s+)?(?:ai|bot|robot|machine|virtual)\b", re.I),
)


# What a violation is about, by the opening words of its text (the claim class is looked up).
VIOLATION_KINDS = (
    ("price ", "price"),
    ("currency ", "price"),
    ("stock ", "stock"),
    ("percentage ", "percentage"),
    ("link ", "link"),
    ("too long", "length"),
    ("claims to be a person", "ai_disclosure"),
)
CLAIM = re.compile(r"^banned claim '(.+)'$")


def _numbers(patterns: Iterable[re.Pattern[str]], text: str) -> list[Decimal]:
    values = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            value = parse_number(match.group(1))
            if value is not None:
                values.append(value)
    return values


def _fact_texts(product: ProductFacts) -> list[str]:
    return [text for text in (product.promotion, *product.attributes.values()) if text]


def _fact_numbers(product: ProductFacts) -> set[Decimal]:
    found = set()
    for text in _fact_texts(product):
        for number in FACT_NUMBER.findall(unicodedata.normalize("NFKC", text)):
            found.add(Decimal(number))
    return found


def _prices(product: ProductFacts) -> set[Decimal]:
    """Amounts a line may state besides the fact texts' numbers: price, list price, saving."""
    amounts = {product.price}
    if product.list_price is not None:
        amounts.add(product.list_price)
        if product.list_price > product.price:
            amounts.add(product.list_price - product.price)
    return amounts


def _skus(products: Sequence[ProductFacts]) -> str:
    return ", ".join(p.sku for p in products) if products else "any product (none in play)"


class Guard:
    def __init__(
        self, banned_claims: Sequence[str] | Mapping[str, Sequence[str]], max_chars: int = 200
    ) -> None:
        """`banned_claims`: advertising-law class -> claims (banned.yaml's `claims`), or a
        plain list (class "claim")."""
        self.max_chars = max_chars
        classes = banned_claims if isinstance(banned_claims, Mapping) else {"claim": banned_claims}
        self.classes = {
            unicodedata.normalize("NFKC", claim).lower(): kind
            for kind, claims in classes.items()
            for claim in claims
            if claim
        }
        self.claims = tuple(self.classes)
        self._claim_patterns = [
            re.compile(rf"(?<![a-z]){re.escape(c)}(?![a-z])" if c.isascii() else re.escape(c))
            for c in self.claims
        ]

    def check_sentence(self, sentence: Sentence, catalog: CatalogView) -> Verdict:
        """The check every stage runs on a reply sentence: against the fresh facts of the
        products it names, and the merchant's policy, which it may quote word for word."""
        return self.check(
            sentence.text, facts_for(catalog, sentence.skus), catalog.policy().texts()
        )

    def check(
        self, text: str, products: Sequence[ProductFacts], quoted: Sequence[str] = ()
    ) -> Verdict:
        """Every violation in the line, each as a sentence an operator can act on.

        `quoted`: the merchant's own texts (its store policy) the line may repeat verbatim;
        only the exact quote is exempt, so "满99元包邮" passes but "羽绒服99元" does not.
        """
        line = unicodedata.normalize("NFKC", text)
        for quote in quoted:
            line = line.replace(unicodedata.normalize("NFKC", quote), " ")
        facts: set[Decimal] = set().union(*map(_fact_numbers, products))
        skus = _skus(products)
        violations: list[str] = []
        if len(line) > self.max_chars:
            violations.append(f"too long: {len(line)} chars > {self.max_chars}")
        violations += self._money(line, products, facts | set().union(*map(_prices, products)))
        counted: tuple[tuple[str, Sequence[re.Pattern[str]], set[int] | set[Decimal]], ...] = (
            ("stock", STOCK_PATTERNS, {p.stock for p in products if p.stock is not None}),
            ("percentage", PERCENT_PATTERNS, facts),
            ("link", LINK_PATTERNS, {p.link for p in products if p.link is not None}),
        )
        for what, patterns, allowed in counted:
            violations += [
                f"{what} {plain(value)} not in catalog for {skus}"
                for value in _numbers(patterns, line)
                if value not in allowed
            ]
        violations += self._claims(line, products, facts)
        if any(pattern.search(line.replace("’", "'")) for pattern in HUMAN_CLAIMS):
            violations.append("claims to be a person: the host is an AI")
        return Verdict(ok=not violations, violations=tuple(dict.fromkeys(violations)))

    @staticmethod
    def _money(line: str, products: Sequence[ProductFacts], allowed: set[Decimal]) -> list[str]:
        currencies = {p.currency for p in products}
        violations = []
        for amount in find_amounts(line):
            if amount.value not in allowed:
                violations.append(
                    f"price {plain(amount.value)} not in catalog for {_skus(products)}"
                )
            elif amount.currency not in currencies:
                violations.append(
                    f"currency {amount.currency} in {amount.text!r} but catalog uses "
                    f"{', '.join(sorted(currencies))}"
                )
        return violations

    def kind(self, violation: str) -> str:
        """The kind of a violation text, as reports count them: "price", "stock", "link",
        "percentage", "length", "ai_disclosure", or the banned claim's class ("absolute",
        "medical", "guarantee", "urgency", "off_platform"...)."""
        claim = CLAIM.match(violation)
        if claim is not None:
            return self.classes.get(claim.group(1), "claim")
        return next(
            (kind for start, kind in VIOLATION_KINDS if violation.startswith(start)), "other"
        )

    def claims_in(self, text: str) -> list[tuple[str, str]]:
        """(class, claim) of every banned claim in `text`, with no catalog facts to exempt:
        what a script or template may never contain."""
        lowered = unicodedata.normalize("NFKC", text).lower()
        return [
            (self.classes[claim], claim)
            for claim, pattern in zip(self.claims, self._claim_patterns, strict=True)
            if pattern.search(lowered)
        ]

    def _claims(
        self, line: str, products: Sequence[ProductFacts], facts: set[Decimal]
    ) -> list[str]:
        """Quoting a fact ("100%山羊绒", "100% cashmere") is not a claim: facts are masked first."""
        lowered = line.lower()
        for product in products:
            for fact in _fact_texts(product):
                lowered = lowered.replace(unicodedata.normalize("NFKC", fact).lower(), " ")
        lowered = PERCENT_PATTERNS[0].sub(
            lambda m: " " if Decimal(m.group(1)) in facts else m.group(0), lowered
        )
        return [
            f"banned claim {claim!r}"
            for claim, pattern in zip(self.claims, self._claim_patterns, strict=True)
            if pattern.search(lowered)
        ]
