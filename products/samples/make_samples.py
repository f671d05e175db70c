"""Write the sample catalogs in every supported format from one list of products.

Run: python products/samples/make_samples.py  (rewrites catalog-*.csv/json/xlsx beside it)
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
ZH_HEADER = [
    "货号",
    "商品名称",
    "英文名",
    "类目",
    "售价",
    "原价",
    "库存",
    "链接号",
    "尺码",
    "颜色",
    "优惠",
    "别名",
]
ROWS = [
    [
        "S-001",
        "轻薄羽绒服",
        "Lightweight Down Jacket",
        "外套",
        "￥399.00",
        "￥699.00",
        "128",
        "1号",
        "S/M/L",
        "黑色/米白",
        "直播间立减300元",
        "羽绒服|down jacket",
    ],
    [
        "S-002",
        "高腰牛仔裤",
        "High-Waist Jeans",
        "裤子",
        "159元",
        "229元",
        "有货",
        "2",
        "25/26/27",
        "浅蓝",
        "第二件半价",
        "牛仔裤|jeans",
    ],
    [
        "S-003",
        "保温杯",
        "Thermos Cup",
        "家居",
        "1,299.00",
        "",
        "售罄",
        "#3",
        "500ml",
        "白色",
        "",
        "杯子|thermos",
    ],
]


def main() -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ZH_HEADER)
    writer.writerows(ROWS)
    (HERE / "catalog-utf8.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    (HERE / "catalog-gbk.csv").write_bytes(buffer.getvalue().encode("gbk"))
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(ZH_HEADER)
    for row in ROWS:
        sheet.append(row)
    workbook.save(HERE / "catalog.xlsx")
    english = [
        {
            "sku": "S-001",
            "name": "Lightweight Down Jacket",
            "category": "outerwear",
            "price": "$59.99",
            "list_price": "$99.00",
            "stock": 128,
            "link": 1,
            "size": "S/M/L",
            "color": "black/ivory",
            "promotion": "$40 off live only",
            "aliases": ["down jacket", "puffer"],
        },
        {"sku": "S-002", "name": "High-Waist Jeans", "price": "19,99 €", "stock": "in stock"},
        {"sku": "S-003", "name": "Thermos Cup", "price": 12.5, "currency": "USD", "stock": 0},
    ]
    (HERE / "catalog.json").write_text(
        json.dumps(english, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
