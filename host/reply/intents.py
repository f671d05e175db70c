"""What a viewer is asking about, in Chinese or English, from keywords.

Triage uses it to rank comments (a price question beats chit-chat) and the catalog
answerer to pick which facts to say. Keyword lists, not a model: it must run offline, in
microseconds, and be easy to extend when a new phrasing shows up in the audit log.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

Intent = Literal[
    "price",
    "stock",
    "size",
    "material",
    "discount",
    "link",
    "compare",
    "shipping",
    "returns",
    "browse",
    "identity",
    "greeting",
    "thanks",
    "other",
]

# Questions about a product or about buying one: triage ranks these first.
PRODUCT_INTENTS: frozenset[str] = frozenset(get_args(Intent)) - {"greeting", "thanks", "other"}

# Checked in this order; a comment may carry several intents ("多少钱，有货吗").
KEYWORDS: dict[Intent, tuple[str, ...]] = {
    "price": (
        "多少钱",
        "价格",
        "价钱",
        "几块",
        "多少米",
        "啥价",
        "什么价",
        "贵不贵",
        "贵吗",
        "多钱",
        "how much",
        "price",
        "cost",
        "costs",
        "expensive",
    ),
    "stock": (
        "有货",
        "库存",
        "还有吗",
        "还有没有",
        "卖完",
        "没货",
        "补货",
        "现货",
        "还剩",
        "剩几",
        "断货",
        "in stock",
        "stock",
        "available",
        "sold out",
        "left",
        "restock",
    ),
    "size": (
        "尺码",
        "尺寸",
        "多大",
        "大小",
        "颜色",
        "什么色",
        "几个色",
        "身高",
        "体重",
        "规格",
        "容量",
        "码数",
        "几码",
        "几个码",
        "什么码",
        "size",
        "sizes",
        "colour",
        "colours",
        "color",
        "colors",
        "dimensions",
        "how big",
        "capacity",
    ),
    "material": (
        "材质",
        "面料",
        "什么料",
        "成分",
        "含绒量",
        "纯棉",
        "什么做的",
        "material",
        "fabric",
        "made of",
        "made from",
    ),
    "discount": (
        "优惠",
        "优惠券",
        "折扣",
        "打折",
        "便宜点",
        "活动",
        "满减",
        "赠品",
        "送什么",
        "福利",
        "discount",
        "coupon",
        "deal",
        "promo",
        "promotion",
        "offer",
        "sale",
        "code",
    ),
    "link": (
        "链接",
        "几号",
        "哪个号",
        "在哪买",
        "怎么买",
        "怎么拍",
        "想买",
        "要了",
        "下单",
        "上车",
        "link",
        "where to buy",
        "how to buy",
        "how do i buy",
        "buy",
        "order",
    ),
    "compare": (
        "区别",
        "哪个好",
        "对比",
        "比较",
        "有什么不同",
        "difference",
        "compare",
        "vs",
        "which is better",
    ),
    "shipping": (
        "发货",
        "快递",
        "包邮",
        "运费",
        "邮费",
        "物流",
        "几天到",
        "多久到",
        "ship",
        "shipping",
        "postage",
        "courier",
        "delivery",
        "deliver",
    ),
    "returns": (
        "退货",
        "退换",
        "换货",
        "退款",
        "无理由",
        "售后",
        "return",
        "returns",
        "refund",
        "exchange",
    ),
    "browse": (
        "有什么",
        "有哪些",
        "有啥",
        "都有什么",
        "推荐",
        "do you have",
        "do you sell",
        "what else",
        "what kind",
        "recommend",
    ),
    # "Are you a real person?": the host must say it is an AI, whatever writes the reply.
    "identity": (
        "真人",
        "机器人",
        "是ai",
        "是不是ai",
        "ai吗",
        "人工智能",
        "数字人",
        "虚拟人",
        "是人吗",
        "real person",
        "real human",
        "are you human",
        "are you a human",
        "are you real",
        "are you a bot",
        "are you a robot",
        "are you ai",
        "are you an ai",
        "is this ai",
        "is this a bot",
        "you a bot",
        "you an ai",
    ),
    "greeting": (
        "你好",
        "大家好",
        "哈喽",
        "嗨",
        "来了",
        "早上好",
        "晚上好",
        "下午好",
        "主播好",
        "晚安",
        "hi",
        "hello",
        "hey",
        "good morning",
        "good evening",
        "good afternoon",
        "greetings",
    ),
    "thanks": ("谢谢", "感谢", "thanks", "thank you", "thx"),
}


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    parts = [rf"\b{re.escape(w)}\b" if w.isascii() else re.escape(w) for w in words]
    return re.compile("|".join(sorted(parts, key=len, reverse=True)), re.IGNORECASE)


PATTERNS = {intent: _pattern(words) for intent, words in KEYWORDS.items()}


def detect(text: str) -> tuple[Intent, ...]:
    """Every intent the text carries, most specific first; ("other",) when none."""
    found = tuple(intent for intent, pattern in PATTERNS.items() if pattern.search(text))
    return found or ("other",)


def is_product_question(intents: tuple[Intent, ...]) -> bool:
    return any(i in PRODUCT_INTENTS for i in intents)
