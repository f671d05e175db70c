"""Catalog import, validation and the live catalog view, on real databases."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from host.catalog.edits import price_history, set_price, set_stock
from host.catalog.errors import CatalogError
from host.catalog.importer import import_file
from host.catalog.money import PriceError, parse_price
from host.catalog.store import DbCatalog, ensure_demo_catalog
from host.config import REPO_ROOT, Settings
from host.db.models import CatalogImport, Merchant, PriceHistory, Product

DEMO_CSV = REPO_ROOT / "products" / "demo" / "catalog.csv"


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """A one-sheet workbook; numbers stay numbers, as a merchant's Excel stores them."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def demo_rows() -> list[dict[str, str]]:
    with DEMO_CSV.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_catalog_imports_every_product(engine: Engine) -> None:
    report = import_file(engine, DEMO_CSV, "demo")
    assert report.errors == []
    assert len(report.added) == 24 and report.changed == [] and report.removed == []
    catalog = DbCatalog(engine, "demo")
    lineup = catalog.lineup()
    assert [p.link for p in lineup] == list(range(1, 25))
    jacket = catalog.get("LH-001")
    assert jacket is not None
    assert jacket.price == Decimal("399.00") and jacket.list_price == Decimal("699.00")
    assert jacket.currency == "CNY" and jacket.stock == 128
    assert jacket.aliases == ("羽绒服", "down jacket", "puffer jacket")
    assert jacket.attributes == {
        "color": "黑色/米白/雾霾蓝",
        "material": "90%白鸭绒",
        "size": "S/M/L/XL",
        "category_en": "outerwear",
        "color_en": "black/off-white/haze blue",
        "material_en": "90% white duck down",
    }
    assert jacket.promotion == "直播间立减300元"
    with Session(engine) as session:
        record = session.scalars(select(CatalogImport)).one()
        assert record.id == report.import_id
        assert (record.added, record.changed, record.removed, record.unchanged) == (24, 0, 0, 0)
        assert record.sha256 == report.sha256 and len(record.sha256) == 64
        assert record.file_name == "catalog.csv" and record.by == "cli"
    assert count(engine, PriceHistory) == 24


def test_reimport_reports_price_change_removal_and_keeps_history(
    engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, DEMO_CSV, "demo")
    rows = [r for r in demo_rows() if r["sku"] != "LH-024"]
    rows[0]["price"] = "359.00"
    path = write_csv(tmp_path / "v2.csv", rows)

    report = import_file(engine, path, "demo", by="ops")

    assert report.errors == []
    assert report.added == [] and report.removed == ["LH-024"]
    assert [(c.sku, c.changes) for c in report.changed] == [
        ("LH-001", {"price": ["399.00", "359.00"]})
    ]
    assert len(report.unchanged) == 22
    assert price_history(engine, "demo", "LH-001") == [
        (None, Decimal("399.00")),
        (Decimal("399.00"), Decimal("359.00")),
    ]
    with Session(engine) as session:
        candle = session.scalars(select(Product).where(Product.sku == "LH-024")).one()
        assert candle.active is False
        record = session.get(CatalogImport, report.import_id)
        assert record is not None and record.by == "ops"
        assert record.diff["removed"] == ["LH-024"]
        assert record.diff["changed"][0]["changes"]["price"] == ["399.00", "359.00"]
    catalog = DbCatalog(engine, "demo")
    assert catalog.get("LH-024") is None
    assert len(catalog.lineup()) == 23
    assert catalog.get("LH-001").price == Decimal("359.00")  # type: ignore[union-attr]


def test_removed_product_comes_back_as_added(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, DEMO_CSV, "demo")
    import_file(engine, write_csv(tmp_path / "less.csv", demo_rows()[:-1]), "demo")
    report = import_file(engine, DEMO_CSV, "demo")
    assert report.added == ["LH-024"] and report.removed == []
    assert DbCatalog(engine, "demo").get("LH-024") is not None


def test_one_bad_row_imports_nothing_and_names_row_and_column(
    engine: Engine, tmp_path: Path
) -> None:
    rows = demo_rows()
    rows[4]["price"] = "-5"
    report = import_file(engine, write_csv(tmp_path / "bad.csv", rows), "demo")
    assert report.errors == [CatalogError(6, "price", "negative")]
    assert report.import_id is None and report.added == []
    assert count(engine, Product) == 0 and count(engine, Merchant) == 0
    assert count(engine, CatalogImport) == 0


def test_every_bad_cell_is_reported(tmp_path: Path, demo_engine: Engine) -> None:
    rows = demo_rows()[:6]
    rows[0]["sku"] = ""
    rows[1]["name"] = "  "
    rows[2]["sku"] = rows[3]["sku"]
    rows[4]["price"] = "abc"
    rows[5]["currency"] = "XYZ"
    report = import_file(demo_engine, write_csv(tmp_path / "bad.csv", rows), "demo")
    assert {(e.row, e.column) for e in report.errors} == {
        (2, "sku"),
        (3, "name"),
        (5, "sku"),
        (6, "price"),
        (7, "currency"),
    }
    duplicate = next(e for e in report.errors if e.row == 5)
    assert "duplicate sku LH-004" in duplicate.reason and "row 4" in duplicate.reason
    assert str(report.errors[0]) == "row 2, column sku: missing"
    assert len(DbCatalog(demo_engine, "demo").lineup()) == 24


def test_missing_required_column_is_a_file_error(tmp_path: Path, demo_engine: Engine) -> None:
    path = write_csv(tmp_path / "noprice.csv", [{"sku": "A", "name": "x"}])
    report = import_file(demo_engine, path, "other")
    assert report.errors == [CatalogError(None, "price", "missing column")]


def test_dry_run_reports_the_diff_and_writes_nothing(demo_engine: Engine, tmp_path: Path) -> None:
    rows = demo_rows()[:-2]
    rows[1]["price"] = "149"
    rows.append(dict(rows[0], sku="LH-100", name="新品", link="30", aliases=""))
    before = (count(demo_engine, Product), count(demo_engine, CatalogImport))

    report = import_file(demo_engine, write_csv(tmp_path / "v2.csv", rows), "demo", dry_run=True)

    assert report.dry_run and report.import_id is None
    assert report.added == ["LH-100"]
    assert report.removed == ["LH-023", "LH-024"]
    assert [c.sku for c in report.changed] == ["LH-002"]
    assert (count(demo_engine, Product), count(demo_engine, CatalogImport)) == before
    assert DbCatalog(demo_engine, "demo").get("LH-002").price == Decimal("159.00")  # type: ignore[union-attr]


def test_dry_run_for_a_new_merchant_creates_nothing(engine: Engine) -> None:
    report = import_file(engine, DEMO_CSV, "newcomer", dry_run=True)
    assert len(report.added) == 24
    assert count(engine, Merchant) == 0


CHINESE_ROWS = [
    {"货号": "A-1", "商品名称": "羽绒服", "售价": "￥1,299.00", "库存": "有货", "链接号": "1号",
     "原价": "1599元", "规格": "M/L", "颜色": "黑色", "产地": "杭州", "别名": "棉衣|外套"},
    {"货号": "A-2", "商品名称": "围巾", "售价": "89", "库存": "售罄", "链接号": "2",
     "原价": "", "规格": "均码", "颜色": "", "产地": "", "别名": ""},
]  # fmt: skip


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "gb18030", "utf-8"])
def test_chinese_headers_in_any_common_encoding(
    demo_engine: Engine, tmp_path: Path, encoding: str
) -> None:
    path = write_csv(tmp_path / f"cn-{encoding}.csv", CHINESE_ROWS, encoding)
    report = import_file(demo_engine, path, "cn")
    assert report.errors == [] and report.added == ["A-1", "A-2"]
    catalog = DbCatalog(demo_engine, "cn")
    coat, scarf = catalog.get("A-1"), catalog.get("A-2")
    assert coat is not None and scarf is not None
    assert (coat.price, coat.currency, coat.list_price) == (
        Decimal("1299.00"),
        "CNY",
        Decimal("1599"),
    )
    assert coat.stock is None and scarf.stock == 0
    assert coat.link == 1 and coat.aliases == ("棉衣", "外套")
    assert coat.attributes == {"color": "黑色", "size": "M/L", "产地": "杭州"}
    assert scarf.attributes == {"size": "均码"}


def test_json_list_of_objects(demo_engine: Engine, tmp_path: Path) -> None:
    items = [
        {"sku": "J-1", "name": "Mug", "price": "$19.99", "stock": 3, "link": 1,
         "aliases": ["cup", "coffee mug"], "attributes": {"color": "red"}, "volume": "350ml"},
        {"sku": "J-2", "name": "Plate", "price": 7.5, "currency": "USD"},
    ]  # fmt: skip
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    report = import_file(demo_engine, path, "shop")
    assert report.errors == []
    mug, plate = (
        DbCatalog(demo_engine, "shop").get("J-1"),
        DbCatalog(demo_engine, "shop").get("J-2"),
    )
    assert mug is not None and plate is not None
    assert (mug.price, mug.currency, mug.stock) == (Decimal("19.99"), "USD", 3)
    assert mug.aliases == ("cup", "coffee mug")
    assert mug.attributes == {"color": "red", "volume": "350ml"}
    assert (plate.price, plate.currency) == (Decimal("7.50"), "USD")


def test_json_errors_name_the_object(demo_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"sku": "A", "name": "a", "price": 1}, {"sku": "B", "price": 2}]))
    report = import_file(demo_engine, path, "shop")
    assert report.errors == [CatalogError(2, "name", "missing")]


def test_xlsx_workbook(demo_engine: Engine, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "catalog.xlsx",
        [
            ["SKU", "商品名称", "价格", "库存", "链接号", "币种"],
            ["X-1", "保温杯", 69, 12, 1, "CNY"],
            ["X-2", "茶杯", "19,90 €", None, None, "EUR"],
        ],
    )
    report = import_file(demo_engine, path, "xl")
    assert report.errors == []
    cup = DbCatalog(demo_engine, "xl").get("X-2")
    assert cup is not None and (cup.price, cup.currency, cup.stock) == (
        Decimal("19.90"),
        "EUR",
        None,
    )
    assert DbCatalog(demo_engine, "xl").get("X-1").stock == 12  # type: ignore[union-attr]


def test_xlsx_number_cells_import_as_written(demo_engine: Engine, tmp_path: Path) -> None:
    """Excel stores typed numbers as floats: a shoe size of 42.5 and a SKU typed as 1001.0."""
    path = write_xlsx(
        tmp_path / "catalog.xlsx",
        [["SKU", "商品名称", "价格", "尺码"], [1001.0, "跑鞋", 399, 42.5]],
    )
    report = import_file(demo_engine, path, "xl")
    assert report.errors == []
    shoe = DbCatalog(demo_engine, "xl").get("1001")
    assert shoe is not None and shoe.attributes == {"size": "42.5"}


def test_currency_disagreement_is_an_error(demo_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv", [{"sku": "A", "name": "a", "price": "$5", "currency": "CNY"}]
    )
    report = import_file(demo_engine, path, "m")
    assert [(e.row, e.column) for e in report.errors] == [(2, "currency")]


def test_unsupported_format_is_reported(demo_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "catalog.pdf"
    path.write_bytes(b"%PDF")
    report = import_file(demo_engine, path, "m")
    assert len(report.errors) == 1 and report.errors[0].row is None
    assert "unsupported format" in report.errors[0].reason


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("¥1,299.00", "1299.00", "CNY"),
        ("￥59", "59", "CNY"),
        ("1299元", "1299", "CNY"),
        ("RMB 88.5", "88.50", "CNY"),
        ("$19.99", "19.99", "USD"),
        ("US$ 5", "5", "USD"),
        ("HK$12", "12", "HKD"),
        ("19,99 €", "19.99", "EUR"),
        ("1.299,00 €", "1299.00", "EUR"),
        ("£7", "7", "GBP"),
        ("1,299", "1299", None),
        ("1 299,50", "1299.50", None),
        ("399", "399", None),
    ],
)
def test_price_notations(text: str, amount: str, currency: str | None) -> None:
    assert parse_price(text) == (Decimal(amount), currency)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("-5", "negative"), ("abc", "not a price"), ("12 xyz", "unknown currency"),
     ("0.005", "more than two decimals"), ("", "empty")],
)  # fmt: skip
def test_bad_prices_say_why(text: str, reason: str) -> None:
    with pytest.raises(PriceError, match=reason):
        parse_price(text)


def test_set_price_is_seen_by_the_very_next_get_and_search(demo_catalog: DbCatalog) -> None:
    assert demo_catalog.search("down jacket")[0].product.price == Decimal("399.00")
    set_price(demo_catalog._engine, "demo", "LH-001", Decimal("299.00"))
    assert demo_catalog.get("LH-001").price == Decimal("299.00")  # type: ignore[union-attr]
    assert demo_catalog.search("down jacket")[0].product.price == Decimal("299.00")
    assert demo_catalog.lineup()[0].price == Decimal("299.00")
    set_stock(demo_catalog._engine, "demo", "LH-001", 0)
    assert demo_catalog.current().stock == 0  # type: ignore[union-attr]
    assert price_history(demo_catalog._engine, "demo", "LH-001")[-1] == (
        Decimal("399.00"),
        Decimal("299.00"),
    )


def test_search_sees_a_new_alias_after_reimport(
    demo_engine: Engine, demo_catalog: DbCatalog, tmp_path: Path
) -> None:
    assert demo_catalog.search("kettle mug") == []
    rows = demo_rows()
    rows[5]["aliases"] += "|kettle mug"
    import_file(demo_engine, write_csv(tmp_path / "v2.csv", rows), "demo")
    assert demo_catalog.search("kettle mug")[0].product.sku == "LH-006"


def test_current_follows_set_current(demo_catalog: DbCatalog) -> None:
    assert demo_catalog.current().sku == "LH-001"  # type: ignore[union-attr]
    demo_catalog.set_current("LH-007")
    assert demo_catalog.current().sku == "LH-007"  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        demo_catalog.set_current("NOPE")
    demo_catalog.set_current(None)
    assert demo_catalog.current().sku == "LH-001"  # type: ignore[union-attr]


def test_ensure_demo_catalog_imports_once(demo_engine: Engine, settings: Settings) -> None:
    ensure_demo_catalog(demo_engine, settings)
    assert count(demo_engine, CatalogImport) == 1
    assert count(demo_engine, Product) == 24
