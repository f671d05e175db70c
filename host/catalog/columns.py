"""Which column is which: merchants' headers in English or Chinese mapped to product fields.

The alias families cover hand-made sheets and the product exports of the shops merchants
sell on, so a shop's own export imports without editing:

| shop | its columns, as its export or bulk template names them |
|---|---|
| Taobao / Tmall (卖家中心 出售中的宝贝) | 宝贝ID, 宝贝标题, 商家编码, 一口价, 总库存, 宝贝类目 |
| Douyin shop (抖店) | 商品ID, 商品名称, 商家编码, 售价, 划线价, 库存, 商品状态 |
| JD (京东) | 商品编号, 商品名称, 商家SKU, 京东价, 市场价, 库存, 上下柜状态 |
| Pinduoduo (拼多多) | 商品ID, 商品名称, SKU编码, 拼单价, 参考价, 库存, 商品状态 |
| Kuaishou shop (快手小店) | 商品ID, 商品标题, SKU编码, 价格, 库存, 商品状态 |
| Shopify | Handle / URL handle, Title, Variant SKU / SKU, Variant Price / Price, Variant
  Compare At Price / Compare-at price, Variant Inventory Qty / Inventory quantity, Status,
  Option1 Name / Option1 Value |
| TikTok Shop | Product ID, Product Name, Seller SKU, Retail Price (Local Currency), Quantity,
  Variation 1 / Variation 2 |

Headers not listed here are kept as product attributes under their own name, so a
merchant's extra columns ("fit", "产地") reach the host without a code change. Columns a shop
export carries that are not selling facts (SEO, tax, shipping templates, HTML descriptions,
image positions) are listed in the `ignored` family and dropped, so they never reach a prompt.
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

ITEM_ID = "item_id"
"""The shop's own id of an item (Taobao 宝贝ID, Shopify Handle): the SKU when a row has none,
and the key that groups a multi-variant item's rows (variant rows inherit its name)."""

IGNORED = "ignored"

# Known attributes get an English key whatever language the header was in.
ATTRIBUTES = ("size", "color", "material", "image", "brand")

_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": (
        "sku",
        "货号",
        "商家编码",
        "商家外部编码",
        "外部编码",
        "商品编码",
        "编码",
        "款号",
        "sku编码",
        "商家sku",
        "seller_sku",
        "variant_sku",
        "规格编码",
    ),
    ITEM_ID: (
        "id",
        "item_id",
        "product_id",
        "商品id",
        "宝贝id",
        "商品编号",
        "数字id",
        "handle",
        "url_handle",
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
        "宝贝标题",
        "宝贝名称",
        "商品标题",
    ),
    "name_en": ("name_en", "英文名", "英文名称", "english_name", "name_english"),
    "category": (
        "category",
        "类目",
        "分类",
        "品类",
        "类别",
        "宝贝类目",
        "商品类目",
        "店内分类",
        "type",
        "product_type",
    ),
    "price": (
        "price",
        "价格",
        "售价",
        "直播价",
        "到手价",
        "现价",
        "sale_price",
        "一口价",
        "宝贝价格",
        "京东价",
        "拼单价",
        "sku价格",
        "商品价格",
        "variant_price",
        "retail_price",
    ),
    "list_price": (
        "list_price",
        "原价",
        "划线价",
        "吊牌价",
        "市场价",
        "参考价",
        "original_price",
        "msrp",
        "rrp",
        "variant_compare_at_price",
        "compare_at_price",
    ),
    "currency": ("currency", "币种", "货币"),
    "stock": (
        "stock",
        "库存",
        "库存数量",
        "数量",
        "总库存",
        "宝贝数量",
        "可售库存",
        "sku库存",
        "inventory",
        "qty",
        "quantity",
        "variant_inventory_qty",
        "inventory_quantity",
    ),
    "link": ("link", "链接号", "链接", "链接序号", "链接编号", "link_no", "link_number", "link_id"),
    "promotion": ("promotion", "优惠", "促销", "活动", "优惠活动", "promo", "deal", "offer"),
    "aliases": ("aliases", "alias", "别名", "关键词", "俗称", "keywords"),
    "active": (
        "active",
        "上架",
        "在售",
        "状态",
        "status",
        "on_sale",
        "商品状态",
        "宝贝状态",
        "上下柜状态",
    ),
    "size": ("size", "规格", "尺码", "尺寸", "sizes"),
    "color": ("color", "colour", "颜色", "颜色分类", "colors", "colours"),
    "material": ("material", "材质", "面料", "成分", "materials"),
    "image": (
        "image",
        "图片",
        "主图",
        "商品图片",
        "商品主图",
        "photo",
        "picture",
        "main_image",
        "image_src",
        "main_product_image",
        "product_image_url",
    ),
    "brand": ("brand", "品牌", "vendor"),
    IGNORED: (
        "body",
        "description",
        "product_description",
        "宝贝描述",
        "商品描述",
        "商品详情",
        "详情",
        "product_category",
        "seo_title",
        "seo_description",
        "tags",
        "published",
        "published_on_online_store",
        "gift_card",
        "image_position",
        "image_alt_text",
        "variant_image",
        "variant_image_url",
        "variant_grams",
        "variant_weight_unit",
        "weight_value",
        "weight_unit_for_display",
        "variant_inventory_tracker",
        "variant_inventory_policy",
        "continue_selling_when_out_of_stock",
        "variant_fulfillment_service",
        "fulfillment_service",
        "variant_requires_shipping",
        "requires_shipping",
        "variant_taxable",
        "charge_tax",
        "variant_tax_code",
        "tax_code",
        "variant_barcode",
        "barcode",
        "cost_per_item",
        "sku_id",
        "运费模板",
        "运费模板id",
        "发货地",
        "创建时间",
        "发布时间",
        "更新时间",
        "上架时间",
        "30天销量",
        "销量",
        "package_weight",
        "package_length",
        "package_width",
        "package_height",
        "delivery_options",
        "identifier_code_type",
        "identifier_code",
        "size_chart",
    ),
}

_BY_HEADER = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}
# "Option1 Name"/"Option1 Value" (Shopify), "Variation 1" (TikTok Shop), "Attribute 2 value(s)":
# a variant's option, named in one cell and valued in another (or named by its header).
_OPTION = re.compile(r"^(?:option|attribute|variation)_?(\d)(?:_(name|values?))?$")
# Extra pictures ("Product Image 2", 新图片) and Shopify's Google Shopping / market columns.
_ALSO_IGNORED = re.compile(
    r"^(?:product_)?image_?\d+$|^新图片$|^图片\d+$|^google_shopping_|_international$"
)


def normalise_header(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).strip().lower().lstrip("\ufeff")
    text = re.sub(r"[(\[（【].*?[)\]）】]", "", text)  # "价格(元)" -> "价格"
    return re.sub(r"[\s\-./:：]+", "_", text).strip("_")


@functools.lru_cache(maxsize=4096)
def canonical(header: str) -> str:
    """The field or attribute a header stands for; an unknown header stands for itself.

    Cached: a file has a handful of headers but every row asks about each of them.
    """
    key = normalise_header(header)
    if _ALSO_IGNORED.search(key):
        return IGNORED
    return _BY_HEADER.get(key, key)


def option_of(header: str) -> tuple[int, str] | None:
    """(option number, "name" or "value") for a variant option column, else None."""
    match = _OPTION.match(normalise_header(header))
    if match is None:
        return None
    return int(match.group(1)), "name" if match.group(2) == "name" else "value"


def is_field(key: str) -> bool:
    return key in FIELDS
