"""The catalog REST API: upload with report, product reads, live edits, the lineup."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from host.catalog.edits import price_history
from host.catalog.store import DbCatalog
from host.config import REPO_ROOT, Settings
from host.db.models import CatalogImport, Product
from host.web.app import create_app
from tests.accounts import auth_headers

DEMO_CSV = REPO_ROOT / "products" / "demo" / "catalog.csv"
API = "/api/merchants/demo"


@pytest.fixture
def client(settings: Settings, demo_engine: Engine) -> TestClient:
    return TestClient(create_app(settings, demo_engine), headers=auth_headers(demo_engine))


def demo_csv(edit: dict[int, dict[str, str]] | None = None, drop: str | None = None) -> bytes:
    with DEMO_CSV.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["sku"] != drop]
    for index, cells in (edit or {}).items():
        rows[index].update(cells)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def imports(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(CatalogImport)) or 0


def test_upload_applies_the_file_and_returns_the_diff(
    client: TestClient, demo_engine: Engine
) -> None:
    data = demo_csv({0: {"price": "¥359.00"}}, drop="LH-024")
    response = client.post(f"{API}/imports", files={"file": ("v2.csv", data, "text/csv")})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] and report["import_id"] is not None and not report["dry_run"]
    assert report["counts"] == {"added": 0, "changed": 1, "removed": 1, "unchanged": 22}
    assert report["diff"]["changed"] == [
        {"sku": "LH-001", "changes": {"price": ["399.00", "359.00"]}}
    ]
    assert report["diff"]["removed"] == ["LH-024"]
    catalog = DbCatalog(demo_engine, "demo")
    assert catalog.get("LH-001").price == Decimal("359.00")  # type: ignore[union-attr]
    assert catalog.get("LH-024") is None
    assert imports(demo_engine) == 2


def test_upload_dry_run_reports_and_writes_nothing(client: TestClient, demo_engine: Engine) -> None:
    data = demo_csv({0: {"price": "359"}})
    response = client.post(
        f"{API}/imports", files={"file": ("v2.csv", data)}, data={"dry_run": "true"}
    )
    assert response.status_code == 200
    assert response.json()["dry_run"] and response.json()["import_id"] is None
    assert response.json()["counts"]["changed"] == 1
    assert DbCatalog(demo_engine, "demo").get("LH-001").price == Decimal("399.00")  # type: ignore[union-attr]
    assert imports(demo_engine) == 1


def test_upload_with_a_bad_row_is_422_with_row_and_column_and_changes_nothing(
    client: TestClient, demo_engine: Engine
) -> None:
    data = demo_csv({0: {"price": "359"}, 4: {"price": "-5"}, 6: {"currency": "XYZ"}})
    response = client.post(f"{API}/imports", files={"file": ("bad.csv", data)})
    assert response.status_code == 422
    errors = response.json()["detail"]["errors"]
    assert [(e["row"], e["column"], e["reason"]) for e in errors] == [
        (6, "price", "negative"),
        (8, "currency", "unknown currency 'XYZ'"),
    ]
    assert errors[0]["message"] == "row 6, column price: negative"
    assert DbCatalog(demo_engine, "demo").get("LH-001").price == Decimal("399.00")  # type: ignore[union-attr]
    assert imports(demo_engine) == 1


def test_upload_in_json_with_format_field(client: TestClient) -> None:
    body = '[{"sku": "N-1", "名称": "新品", "价格": "12元"}]'.encode()
    response = client.post(
        "/api/merchants/newshop/imports",
        files={"file": ("catalog.txt", body)},
        data={"format": "json"},
    )
    assert response.status_code == 200, response.text
    assert client.get("/api/merchants/newshop/products/N-1").json()["price"] == "12.00"


def test_upload_of_an_unreadable_file_is_a_file_error(client: TestClient) -> None:
    response = client.post(f"{API}/imports", files={"file": ("x.pdf", b"%PDF")})
    assert response.status_code == 422
    assert response.json()["detail"]["errors"][0]["row"] is None


def test_products_lineup_first_and_one_product(client: TestClient) -> None:
    products = client.get(f"{API}/products").json()
    assert len(products) == 24 and products[0]["sku"] == "LH-001" and products[0]["link"] == 1
    jacket = client.get(f"{API}/products/LH-001").json()
    assert jacket["price"] == "399.00" and jacket["currency"] == "CNY"
    assert jacket["attributes"]["size"] == "S/M/L/XL"
    assert client.get(f"{API}/products/NOPE").status_code == 404
    assert client.get("/api/merchants/nobody/products").status_code == 404


def test_patch_price_writes_history_and_is_read_at_once(
    client: TestClient, demo_engine: Engine
) -> None:
    response = client.patch(f"{API}/products/LH-001", json={"price": "¥359"})
    assert response.status_code == 200 and response.json()["price"] == "359.00"
    assert client.patch(f"{API}/products/LH-001", json={"price": 349.5}).json()["price"] == (
        "349.50"
    )
    assert price_history(demo_engine, "demo", "LH-001") == [
        (None, Decimal("399.00")),
        (Decimal("399.00"), Decimal("359.00")),
        (Decimal("359.00"), Decimal("349.50")),
    ]
    assert DbCatalog(demo_engine, "demo").search("down jacket")[0].product.price == Decimal(
        "349.50"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"price": "-5"},
        {"price": "abc"},
        {"price": "$10"},  # the product is priced in CNY
        {"price": "99999999999"},
        {"price": None},
        {"stock": -1},
        {"price": "359", "stock": -1},  # all or nothing: the price is not changed either
    ],
)
def test_patch_with_a_bad_value_is_422_and_changes_nothing(
    client: TestClient, demo_engine: Engine, body: dict[str, object]
) -> None:
    response = client.patch(f"{API}/products/LH-001", json=body)
    assert response.status_code == 422
    jacket = DbCatalog(demo_engine, "demo").get("LH-001")
    assert jacket is not None and jacket.price == Decimal("399.00") and jacket.stock == 128
    assert len(price_history(demo_engine, "demo", "LH-001")) == 1


def test_patch_stock_and_promotion_leave_other_fields(client: TestClient) -> None:
    sold_out = client.patch(f"{API}/products/LH-002", json={"stock": 0}).json()
    assert sold_out["stock"] == 0 and sold_out["price"] == "159.00"
    assert sold_out["promotion"] == "第二件半价"
    promo = client.patch(f"{API}/products/LH-002", json={"promotion": "买一送一"}).json()
    assert promo["promotion"] == "买一送一" and promo["stock"] == 0
    cleared = client.patch(f"{API}/products/LH-002", json={"promotion": None, "stock": None})
    assert cleared.json()["promotion"] is None and cleared.json()["stock"] is None
    assert client.patch(f"{API}/products/NOPE", json={"stock": 1}).status_code == 404


def test_put_lineup_renumbers_links_and_unlinks_the_rest(
    client: TestClient, demo_engine: Engine
) -> None:
    response = client.put(f"{API}/lineup", json={"skus": ["LH-007", "LH-002", "LH-005"]})
    assert response.status_code == 200
    assert [(p["link"], p["sku"]) for p in response.json()] == [
        (1, "LH-007"),
        (2, "LH-002"),
        (3, "LH-005"),
    ]
    assert [p["sku"] for p in client.get(f"{API}/lineup").json()] == ["LH-007", "LH-002", "LH-005"]
    catalog = DbCatalog(demo_engine, "demo")
    assert catalog.get("LH-001").link is None  # type: ignore[union-attr]
    assert catalog.search("3号链接")[0].product.sku == "LH-005"
    assert catalog.current().sku == "LH-007"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("skus", "status"),
    [(["LH-001", "NOPE"], 404), (["LH-001", "LH-001"], 422), ([1, 2], 422)],
)
def test_bad_lineup_changes_nothing(
    client: TestClient, demo_engine: Engine, skus: list[object], status: int
) -> None:
    assert client.put(f"{API}/lineup", json={"skus": skus}).status_code == status
    assert len(DbCatalog(demo_engine, "demo").lineup()) == 24


def test_empty_lineup_takes_every_product_off_sale(client: TestClient) -> None:
    assert client.put(f"{API}/lineup", json={"skus": []}).json() == []
    assert client.get(f"{API}/lineup").json() == []
    assert all(p["link"] is None for p in client.get(f"{API}/products").json())


def test_upload_keeps_unrelated_products_of_other_merchants(
    client: TestClient, demo_engine: Engine
) -> None:
    body = b"sku,name,price\nO-1,Other,5\n"
    assert client.post("/api/merchants/other/imports", files={"file": ("o.csv", body)}).is_success
    with Session(demo_engine) as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 25
    assert len(client.get(f"{API}/products").json()) == 24
