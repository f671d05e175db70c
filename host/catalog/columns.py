"""Which column is which: merchants' headers in English or Chinese mapped to product fields.

Headers not listed here are kept as product attributes under their own name, so a
merchant's extra columns ("fit", "产地") reach the host without a code change.
"""

from __future__ import annotations

import functools
import re
import unicodedata

FIELDS = (
    "sku",
    "name",
    "name_en",
    "category",
    "price",
    "list_price",
    "currency",
    "stock",
    "link",
    "promotion",
    "aliases",
    "active",
)

# Known attributes get an English key whatever language the header was in.
ATTRIBUTES = ("size", "color", "material")

_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": (
        "sku",
        "货号",
        "商品编码",
        "商品编号",
        "编码",
        "款号",
        "商品id",
        "item_id",
        "product_id",
        "id",
    ),
    "name": (
        "name",
        "商品名称",
        "名称",
        "商品名",
        "品名",
        "商品",
        "title",
        "product_name",
        "product",
        "标题",
    ),
    "name_en": ("name_en", "英文名", "英文名称", "english_name", "name_english"),
    "category": ("category", "类目", "分类", "品类", "类别"),
    "price": ("price", "价格", "售价", "直播价", "到手价", "现价", "sale_price"),
    "list_price": (
        "list_price",
        "原价",
        "划线价",
        "吊牌价",
        "市场价",
        "original_price",
        "msrp",
        "rrp",
    ),
    "currency": ("currency", "币种", "货币"),
    "stock": ("stock", "库存", "库存数量", "数量", "inventory", "qty", "quantity"),
    "link": ("link", "链接号", "链接", "链接序号", "链接编号", "link_no", "link_number", "link_id"),
    "promotion": ("promotion", "优惠", "促销", "活动", "优惠活动", "promo", "deal", "offer"),
    "aliases": ("aliases", "alias", "别名", "关键词", "俗称", "keywords"),
    "active": ("active", "上架", "在售", "状态", "status", "on_sale"),
    "size": ("size", "规格", "尺码", "尺寸", "sizes"),
    "color": ("color", "colour", "颜色", "颜色分类", "colors", "colours"),
    "material": ("material", "材质", "面料", "成分", "materials"),
}

_BY_HEADER = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}


def normalise_header(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).strip().lower().lstrip("\ufeff")
    text = re.sub(r"[(\[（【].*?[)\]）】]", "", text)  # "价格(元)" -> "价格"
    return re.sub(r"[\s\-./]+", "_", text).strip("_")


@functools.lru_cache(maxsize=1024)
def canonical(header: str) -> str:
    """The field or attribute a header stands for; an unknown header stands for itself.

    Cached: a file has a handful of headers but every row asks about each of them.
    """
    key = normalise_header(header)
    return _BY_HEADER.get(key, key)


def is_field(key: str) -> bool:
    return key in FIELDS
