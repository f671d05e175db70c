"""A merchant's own shop export imports as downloaded: title rows above the header, the
platform's column names, one row per variant, bookkeeping columns left out."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine

from host.catalog.facts import ProductFacts
from host.catalog.importer import import_file
from host.catalog.photos import MediaStore
from host.catalog.product_rows import facts_of
from host.catalog.store import DbCatalog
from host.config import REPO_ROOT

SHOPS = REPO_ROOT / "products" / "samples" / "shops"


def imported(engine: Engine, name: str, currency: str = "CNY") -> dict[str, ProductFacts]:
    report = import_file(engine, SHOPS / name, "shop", default_currency=currency)
    assert report.errors == [], report.errors
    return {p.sku: p for p in DbCatalog(engine, "shop").products()}


def every_product(engine: Engine) -> dict[str, tuple[ProductFacts, bool]]:
    """Active and inactive products, with their active flag."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from host.db.models import Product

    with Session(engine) as session:
        return {p.sku: (facts_of(p), p.active) for p in session.scalars(select(Product))}


def test_taobao_seller_centre_export_with_a_title_row(engine: Engine) -> None:
    products = imported(engine, "taobao-selling.xlsx")
    jacket = products["TB-DOWN-01"]
    assert (jacket.name, jacket.price, jacket.stock) == ("轻薄羽绒服女短款2026新款", 399, 128)
    assert jacket.category == "女装/羽绒服" and jacket.attributes == {}  # 运费模板, 销量 left out
    assert products["TB-JEANS-02"].stock == 0
    assert products["712345678903"].name == "真丝眼罩 睡眠遮光"  # no 商家编码: the 宝贝ID


def test_douyin_shop_export_one_row_per_sku(engine: Engine) -> None:
    imported(engine, "douyin-shop.csv")
    products = every_product(engine)
    small, medium = products["DY-SUN-S"][0], products["DY-SUN-M"][0]
    assert (small.name, small.price, small.list_price) == ("冰丝防晒衣", 89, 159)
    assert (small.attributes, medium.attributes) == ({"size": "S"}, {"size": "M"})
    assert (small.stock, medium.stock) == (40, 8)
    assert products["DY-JUICE"][1] is False  # 已下架


def test_jd_export_in_gbk(engine: Engine) -> None:
    imported(engine, "jd-products.csv")
    products = every_product(engine)
    earbuds, active = products["JD-EAR-01"]
    assert active and (earbuds.price, earbuds.list_price) == (299, 499)
    assert earbuds.attributes == {"brand": "声悦"} and earbuds.category == "数码/耳机"
    assert products["JD-PWR-02"][1] is False  # 下柜


def test_pinduoduo_export_takes_the_group_price(engine: Engine) -> None:
    products = imported(engine, "pinduoduo-goods.csv")
    bedding = products["PDD-BED-18"]
    assert (bedding.price, bedding.list_price, bedding.stock) == (139, 299, 60)
    assert bedding.attributes == {"size": "1.8m床", "单买价": "159.00"}
    assert products["PDD-BED-15"].name == "纯棉四件套 1.8m床"


def test_kuaishou_shop_export(engine: Engine) -> None:
    products = imported(engine, "kuaishou-shop.csv")
    assert products["KS-SUGAR-500"].price == Decimal("19.90")
    assert products["KS-LONGAN-250"].stock == 3


def test_shopify_export_variants_inherit_their_product(engine: Engine) -> None:
    imported(engine, "shopify-products.csv", currency="USD")
    products = every_product(engine)
    assert set(products) == {"MUG-BLUE", "MUG-GREEN", "HAT-WOOL"}  # the picture row is no product
    green, active = products["MUG-GREEN"]
    assert active and (green.name, green.category, green.currency) == ("Trail Mug", "Mugs", "USD")
    assert (green.price, green.list_price, green.stock) == (Decimal("12.50"), 16, 8)
    assert green.attributes == {"brand": "Northwind Goods", "color": "Green"}
    beanie, beanie_active = products["HAT-WOOL"]
    assert beanie.attributes == {"brand": "Northwind Goods"}  # "Default Title" is no option
    assert beanie_active is False  # Status draft


def test_tiktok_shop_export(engine: Engine) -> None:
    products = imported(engine, "tiktok-shop.csv", currency="USD")
    dress = products["DRS-BLK-L"]
    assert (dress.name, dress.price, dress.stock) == ("Linen Midi Dress", Decimal("39.90"), 4)
    assert dress.attributes == {"Variation 1": "Black", "Variation 2": "L", "brand": "Lumi"}


def test_header_found_below_title_rows_in_csv_too(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("出售中的宝贝 导出时间：2026-11-30\n\n宝贝标题,商家编码,一口价\n杯子,C-1,9.9\n")
    report = import_file(engine, path, "shop")
    assert report.errors == [] and report.added == ["C-1"]
    bad = tmp_path / "bad.csv"
    bad.write_text("导出时间：2026-11-30\n宝贝标题,商家编码,一口价\n杯子,C-1,abc\n")
    assert [str(e) for e in import_file(engine, bad, "shop").errors] == [
        "row 3, column price: not a price: 'abc'"
    ]


def test_a_sheet_without_a_known_header_still_says_which_columns_are_missing(
    engine: Engine, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["货品", "金额"])
    sheet.append(["杯子", 9])
    workbook.save(tmp_path / "odd.xlsx")
    errors = import_file(engine, tmp_path / "odd.xlsx", "shop").errors
    assert {str(e) for e in errors} == {"file, column sku: missing column",
                                        "file, column name: missing column",
                                        "file, column price: missing column"}  # fmt: skip


@pytest.mark.parametrize("name", ["shopify-products.csv", "tiktok-shop.csv"])
def test_web_photo_addresses_are_left_out_with_a_warning(
    engine: Engine, tmp_path: Path, name: str
) -> None:
    media = MediaStore(tmp_path / "media", 1 << 20, 1 << 20)
    report = import_file(engine, SHOPS / name, "shop", default_currency="USD", media=media)
    assert report.ok and report.warnings
    assert all(w.column == "image" and "web address" in w.reason for w in report.warnings)
    assert not any("image" in p.attributes for p in DbCatalog(engine, "shop").products())
