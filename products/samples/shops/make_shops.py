"""Write one product export per shop platform, laid out as that platform's export is.

Run: python products/samples/shops/make_shops.py  (rewrites the files beside it)

Each file holds the platform's own column names, its title rows and its bookkeeping columns
(shipping templates, SEO, image positions), so `host catalog import` is shown to take a
merchant's export as downloaded. `tests/test_catalog_shops.py` imports every one.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent


def taobao() -> None:
    """卖家中心 › 出售中的宝贝 › 导出 (XLSX): a title row, a blank row, then the header."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "出售中的宝贝"
    sheet.append(["出售中的宝贝 导出时间：2026-11-30 10:21:05"])
    sheet.append([])
    sheet.append(
        ["宝贝ID", "宝贝标题", "商家编码", "一口价", "总库存", "宝贝类目", "30天销量",
         "运费模板", "创建时间", "宝贝状态"]
    )  # fmt: skip
    sheet.append(
        ["712345678901", "轻薄羽绒服女短款2026新款", "TB-DOWN-01", 399, 128, "女装/羽绒服",
         56, "包邮模板", "2026-10-01 09:00:00", "出售中"]
    )  # fmt: skip
    sheet.append(
        ["712345678902", "高腰直筒牛仔裤", "TB-JEANS-02", "159.00", 0, "女装/牛仔裤",
         12, "包邮模板", "2026-10-02 09:00:00", "出售中"]
    )  # fmt: skip
    sheet.append(
        ["712345678903", "真丝眼罩 睡眠遮光", None, "59.90", 300, "家居/眼罩",
         3, "包邮模板", "2026-10-03 09:00:00", "出售中"]
    )  # fmt: skip
    workbook.save(HERE / "taobao-selling.xlsx")


def write_csv(name: str, rows: list[list[str]], encoding: str = "utf-8-sig") -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    (HERE / name).write_bytes(buffer.getvalue().encode(encoding))


def douyin() -> None:
    """抖店 › 商品管理 › 导出商品: one row per SKU, the item's columns repeated."""
    write_csv(
        "douyin-shop.csv",
        [
            ["商品ID", "商品名称", "商品类目", "SKU ID", "规格", "商家编码", "售价(元)",
             "划线价(元)", "库存", "商品状态", "创建时间"],
            ["3601234567890", "冰丝防晒衣", "女装/防晒衣", "1780000000001", "S", "DY-SUN-S",
             "89.00", "159.00", "40", "在售中", "2026-09-01 10:00:00"],
            ["3601234567890", "冰丝防晒衣", "女装/防晒衣", "1780000000002", "M", "DY-SUN-M",
             "89.00", "159.00", "8", "在售中", "2026-09-01 10:00:00"],
            ["3601234567891", "便携榨汁杯", "家电/榨汁机", "1780000000003", "白色", "DY-JUICE",
             "129.00", "", "0", "已下架", "2026-09-02 10:00:00"],
        ],
    )  # fmt: skip


def jd() -> None:
    """京东商家后台 › 商品管理 › 导出 (CSV as Chinese Excel saves it: GBK)."""
    write_csv(
        "jd-products.csv",
        [
            ["商品编号", "商品名称", "商家SKU", "京东价", "市场价", "库存", "品牌", "店内分类",
             "上下柜状态"],
            ["100012345678", "无线蓝牙耳机 降噪", "JD-EAR-01", "299.00", "499.00", "120",
             "声悦", "数码/耳机", "上柜"],
            ["100012345679", "20000毫安充电宝", "JD-PWR-02", "149.00", "", "35", "声悦",
             "数码/电源", "下柜"],
        ],
        encoding="gbk",
    )  # fmt: skip


def pinduoduo() -> None:
    """拼多多商家后台 › 商品列表 › 导出: group price (拼单价) is what buyers pay."""
    write_csv(
        "pinduoduo-goods.csv",
        [
            ["商品ID", "商品名称", "SKU编码", "规格", "拼单价", "单买价", "参考价", "库存",
             "商品状态"],
            ["512345678901", "纯棉四件套 1.8m床", "PDD-BED-18", "1.8m床", "139.00", "159.00",
             "299.00", "60", "在售中"],
            ["512345678901", "纯棉四件套 1.8m床", "PDD-BED-15", "1.5m床", "129.00", "149.00",
             "279.00", "0", "在售中"],
        ],
    )  # fmt: skip


def kuaishou() -> None:
    """快手小店 › 商品管理 › 导出商品."""
    write_csv(
        "kuaishou-shop.csv",
        [
            ["商品ID", "商品标题", "类目", "SKU编码", "规格", "价格(元)", "库存", "商品状态"],
            ["21234567", "手工红糖 500g", "食品/红糖", "KS-SUGAR-500", "500g", "19.90", "500",
             "在售"],
            ["21234568", "桂圆干 250g", "食品/干货", "KS-LONGAN-250", "250g", "29.90", "3",
             "在售"],
        ],
    )  # fmt: skip


def shopify() -> None:
    """Shopify admin › Products › Export (CSV for Excel): one row per variant, grouped by
    Handle; variant rows leave the product columns empty; an extra picture is a row alone."""
    header = [
        "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags",
        "Published", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value",
        "Option3 Name", "Option3 Value", "Variant SKU", "Variant Grams",
        "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy",
        "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price",
        "Variant Requires Shipping", "Variant Taxable", "Variant Barcode", "Image Src",
        "Image Position", "Image Alt Text", "Gift Card", "SEO Title", "SEO Description",
        "Variant Image", "Variant Weight Unit", "Variant Tax Code", "Cost per item", "Status",
    ]  # fmt: skip

    def row(**cells: str) -> list[str]:
        return [cells.get(column.replace(" ", "_").replace("(", "").replace(")", ""), "")
                for column in header]  # fmt: skip

    write_csv(
        "shopify-products.csv",
        [
            header,
            row(Handle="trail-mug", Title="Trail Mug", Body_HTML="<p>Enamel camp mug.</p>",
                Vendor="Northwind Goods", Product_Category="Home & Garden > Kitchen",
                Type="Mugs", Tags="camp, enamel", Published="TRUE", Option1_Name="Color",
                Option1_Value="Blue", Variant_SKU="MUG-BLUE", Variant_Grams="300",
                Variant_Inventory_Tracker="shopify", Variant_Inventory_Qty="12",
                Variant_Inventory_Policy="deny", Variant_Fulfillment_Service="manual",
                Variant_Price="12.50", Variant_Compare_At_Price="16.00",
                Variant_Requires_Shipping="TRUE", Variant_Taxable="TRUE",
                Image_Src="https://cdn.shopify.com/s/files/1/mug-blue.jpg", Image_Position="1",
                Gift_Card="FALSE", Variant_Weight_Unit="g", Status="active"),
            row(Handle="trail-mug", Option1_Value="Green", Variant_SKU="MUG-GREEN",
                Variant_Grams="300", Variant_Inventory_Tracker="shopify",
                Variant_Inventory_Qty="8", Variant_Inventory_Policy="deny",
                Variant_Fulfillment_Service="manual", Variant_Price="12.50",
                Variant_Compare_At_Price="16.00", Variant_Requires_Shipping="TRUE",
                Variant_Taxable="TRUE", Variant_Weight_Unit="g"),
            row(Handle="trail-mug", Image_Src="https://cdn.shopify.com/s/files/1/mug-back.jpg",
                Image_Position="2"),
            row(Handle="wool-beanie", Title="Wool Beanie", Body_HTML="<p>Merino.</p>",
                Vendor="Northwind Goods", Type="Hats", Published="TRUE", Option1_Name="Title",
                Option1_Value="Default Title", Variant_SKU="HAT-WOOL",
                Variant_Inventory_Qty="0", Variant_Price="24.00", Gift_Card="FALSE",
                Status="draft"),
        ],
        encoding="utf-8",
    )  # fmt: skip


def tiktok() -> None:
    """TikTok Shop Seller Center › Products › Bulk edit › Export (one row per SKU)."""
    write_csv(
        "tiktok-shop.csv",
        [
            ["Product ID", "Category", "Brand", "Product Name", "Product Description",
             "Main Product Image", "Product Image 2", "Variation 1", "Variation 2", "SKU ID",
             "Seller SKU", "Retail Price (Local Currency)", "Quantity", "Package Weight(lb)"],
            ["1729384756", "Women's Clothing/Dresses", "Lumi", "Linen Midi Dress",
             "Breathable linen.", "https://p16.tiktokcdn.com/dress.jpg", "", "Black", "M",
             "1729384756001", "DRS-BLK-M", "39.90", "25", "0.6"],
            ["1729384756", "Women's Clothing/Dresses", "Lumi", "Linen Midi Dress",
             "Breathable linen.", "https://p16.tiktokcdn.com/dress.jpg", "", "Black", "L",
             "1729384756002", "DRS-BLK-L", "39.90", "4", "0.6"],
        ],
        encoding="utf-8",
    )  # fmt: skip


def main() -> None:
    for write in (taobao, douyin, jd, pinduoduo, kuaishou, shopify, tiktok):
        write()


if __name__ == "__main__":
    main()
