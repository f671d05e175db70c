"""Catalog files from outside are bounded while they are read, and every bad value is a
row/column error on SQLite and PostgreSQL alike (never a DataError, a 500 or a hang)."""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from host.catalog.errors import CatalogError
from host.catalog.importer import ImportReport, import_file
from host.catalog.limits import ImportLimits
from host.catalog.store import DbCatalog
from host.config import Settings
from host.db.models import Merchant, Product
from host.web.app import create_app
from tests.accounts import auth_headers

HEADER = "sku,name,price\n"


def products(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Product)) or 0


def refused(report: ImportReport, pattern: str) -> None:
    assert not report.ok and report.import_id is None
    assert any(re.search(pattern, str(e)) for e in report.errors), report.errors


def far_cell_workbook(path: Path, *, keep_dimension: bool) -> Path:
    """A tiny workbook with a header, one product and one cell at XFD1048576."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["sku", "name", "price"])
    sheet.append(["A-1", "杯子", 10])
    sheet["XFD1048576"] = "x"
    workbook.save(path)
    if not keep_dimension:  # a crafted file: no <dimension>, so nothing declares the size
        with zipfile.ZipFile(path) as source:
            members = {name: source.read(name) for name in source.namelist()}
        sheet_xml = members["xl/worksheets/sheet1.xml"].decode()
        members["xl/worksheets/sheet1.xml"] = re.sub(r"<dimension[^>]*/>", "", sheet_xml).encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
            for name, data in members.items():
                target.writestr(name, data)
    return path


@pytest.mark.parametrize("keep_dimension", [True, False])
def test_xlsx_with_a_far_away_cell_is_refused_at_once(
    engine: Engine, tmp_path: Path, keep_dimension: bool
) -> None:
    path = far_cell_workbook(tmp_path / "far.xlsx", keep_dimension=keep_dimension)
    assert path.stat().st_size < 8000
    started = time.monotonic()
    report = import_file(engine, path, "shop")
    assert time.monotonic() - started < 10
    refused(report, r"rows|columns")
    assert products(engine) == 0


@pytest.mark.parametrize(
    ("limit_mb", "pattern"),
    [
        (4, r"unpacks to .* MB, more than 4 MB \(CATALOG_MAX_UNZIPPED_MB\)"),
        (16, r"text table unpacks to .* MB, more than 2 MB \(1/8 of CATALOG_MAX_UNZIPPED_MB\)"),
    ],
)
def test_shared_strings_bomb_is_refused_before_parsing(
    engine: Engine, tmp_path: Path, limit_mb: int, pattern: str
) -> None:
    path = tmp_path / "bomb.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["sku", "name", "price"])
    workbook.save(path)
    strings = "<si><t>aaaaaaaaaaaaaaaa</t></si>" * 400_000  # ~11 MB, compresses to ~30 KB
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", f"<sst>{strings}</sst>")
    assert path.stat().st_size < 200_000
    started = time.monotonic()
    limits = ImportLimits(max_unzipped_bytes=limit_mb << 20)
    refused(import_file(engine, path, "shop", limits=limits), pattern)
    assert time.monotonic() - started < 2


def test_file_over_the_size_limit_is_refused_unread(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("w") as handle:
        handle.write(HEADER)
        handle.writelines(f"S-{i},name {i},9.90\n" for i in range(120_000))
    report = import_file(engine, path, "shop", limits=ImportLimits(max_file_bytes=1 << 20))
    refused(report, r"larger than 1 MB \(CATALOG_MAX_FILE_MB\)")


@pytest.mark.parametrize(
    ("text", "limits", "pattern"),
    [
        (HEADER + "A,a,1\n" * 11, ImportLimits(max_rows=10), r"more than 10 rows"),
        ("," * 400 + "sku,name,price\n", ImportLimits(), r"403 columns; at most 300"),
        (HEADER + "A," + "长" * 10_001 + ",1\n", ImportLimits(), r"row 2, column name: cell"),
        (HEADER + "A,a,1\n", ImportLimits(max_seconds=0), r"longer than 0 s"),
    ],
    ids=["rows", "columns", "cell", "time"],
)
def test_each_limit_is_a_clear_error(
    engine: Engine, tmp_path: Path, text: str, limits: ImportLimits, pattern: str
) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(text, encoding="utf-8")
    refused(import_file(engine, path, "shop", limits=limits), pattern)


def test_a_million_attribute_columns_are_refused(engine: Engine, tmp_path: Path) -> None:
    csv_path = tmp_path / "wide.csv"
    csv_path.write_text(HEADER.strip() + "".join(f",a{i}" for i in range(1_000_000)) + "\n")
    refused(import_file(engine, csv_path, "shop"), r"1000003 columns; at most 300")
    json_path = tmp_path / "wide.json"
    attributes = {f"a{i}": "x" for i in range(1_000_000)}
    json_path.write_text(json.dumps([{"sku": "A", "name": "a", "price": 1, **attributes}]))
    refused(import_file(engine, json_path, "shop"), r"columns; at most 300")
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps([{"sku": "A", "name": "a", "price": 1, "attributes": attributes}]))
    refused(import_file(engine, nested, "shop"), r"row 1, column attributes: 1000000 attributes")
    assert products(engine) == 0


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"sku": "S" * 65}, CatalogError(1, "sku", "longer than 64 characters")),
        ({"name": "名" * 201}, CatalogError(1, "name", "longer than 200 characters")),
        ({"name": "杯\x00子"}, CatalogError(1, "name", "contains a NUL character")),
        (
            {"promotion": "\ud800"},
            CatalogError(1, "promotion", "contains an invalid character (a lone surrogate)"),
        ),
        (
            {"price": "99,999,999,999.99"},
            CatalogError(1, "price", "too large (at most 9999999999.99)"),
        ),
        ({"price": "1" * 30}, CatalogError(1, "price", "too large (at most 9999999999.99)")),
        ({"stock": 2**31}, CatalogError(1, "stock", "too large (at most 2147483647)")),
        ({"color": "x" * 1001}, CatalogError(1, "color", "longer than 1000 characters")),
    ],
    ids=["sku", "name", "nul", "surrogate", "price", "price-digits", "stock", "attribute"],
)
def test_values_the_schema_cannot_hold_are_row_errors_on_every_database(
    engine: Engine, tmp_path: Path, row: dict[str, object], error: CatalogError
) -> None:
    product = {"sku": "A-1", "name": "杯子", "price": "10"} | row
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps([product]), encoding="utf-8")
    report = import_file(engine, path, "shop")
    assert report.errors == [error]
    assert products(engine) == 0


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('[{"sku": "A", "name": "a", "price": 1e300}]', r"row 1, column price: too large"),
        ('[{"sku": "A", "name": "a", "price": ' + "9" * 5000 + "}]", r"price: too large"),
        (
            '[{"sku": "A", "name": "a", "price": 1, "stock": ' + "9" * 5000 + "}]",
            r"stock: too large",
        ),
        ("[" * 100_000 + "]" * 100_000, r"file: invalid JSON: nested too deeply"),
        ('[{"sku": "A", "name": "a", "price": NaN}]', r"invalid JSON"),
    ],
    ids=["1e300", "5000-digit-price", "5000-digit-stock", "nested", "nan"],
)
def test_hostile_json_numbers_and_nesting_are_errors(
    engine: Engine, tmp_path: Path, text: str, pattern: str
) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(text, encoding="utf-8")
    refused(import_file(engine, path, "shop"), pattern)


def test_csv_with_a_nul_byte_names_the_row(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_bytes((HEADER + "A-1,杯\x00子,10\n").encode())
    refused(import_file(engine, path, "shop"), r"row 2")


@pytest.fixture
def small_client(settings: Settings, engine: Engine) -> TestClient:
    capped = settings.model_copy(update={"catalog_max_file_mb": 0.5})
    return TestClient(create_app(capped, engine), headers=auth_headers(engine))


def test_http_upload_over_the_cap_is_413_before_the_body_is_read(
    small_client: TestClient, engine: Engine
) -> None:
    body = (HEADER + "A-1,杯子,10\n" * 200_000).encode()  # ~2.6 MB
    response = small_client.post(
        "/api/merchants/shop/imports", files={"file": ("c.csv", body, "text/csv")}
    )
    assert response.status_code == 413
    assert "CATALOG_MAX_FILE_MB" in response.json()["detail"]

    def chunks():  # no Content-Length: the cap must hold while streaming
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=c.csv\r\n\r\n"
        for _ in range(100):
            yield b"A-1,x,1\n" * 10_000
        yield b"\r\n--b--\r\n"

    streamed = small_client.post(
        "/api/merchants/shop/imports",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert streamed.status_code == 413
    assert products(engine) == 0


def test_http_bad_values_are_422_never_500(small_client: TestClient, engine: Engine) -> None:
    api = "/api/merchants/shop"
    upload = small_client.post(
        f"{api}/imports",
        files={"file": ("c.csv", (HEADER + "A-1,杯子," + "1" * 30 + "\n").encode(), "text/csv")},
    )
    assert upload.status_code == 422
    assert upload.json()["detail"]["errors"][0]["message"] == (
        "row 2, column price: too large (at most 9999999999.99)"
    )
    long_cell = (HEADER + "A-1," + "x" * 20_000 + ",1\n").encode()
    response = small_client.post(f"{api}/imports", files={"file": ("c.csv", long_cell)})
    assert response.status_code == 422 and "column name: cell longer" in response.text
    ok = small_client.post(
        f"{api}/imports", files={"file": ("c.csv", (HEADER + "A-1,杯子,10\n").encode())}
    )
    assert ok.status_code == 200, ok.text
    patches = [
        json.dumps({"price": "1" * 30}),
        '{"price": 1e300}',
        '{"stock": ' + "9" * 5000 + "}",
        '{"stock": 2147483648}',
        '{"promotion": "a\\u0000b"}',
        "[" * 100_000 + "]" * 100_000,
    ]
    for body in patches:
        response = small_client.patch(
            f"{api}/products/A-1", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code in (400, 422), (body[:40], response.status_code)
    assert DbCatalog(engine, "shop").get("A-1").price == 10  # type: ignore[union-attr]


def test_concurrent_imports_for_a_new_merchant_all_succeed(engine: Engine, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "catalog.csv"
    path.write_text(HEADER + "".join(f"S-{i},name {i},{i}.50\n" for i in range(30)))
    with ThreadPoolExecutor(max_workers=20) as pool:
        reports = list(pool.map(lambda _: import_file(engine, path, "newshop"), range(40)))
    assert [r.errors for r in reports] == [[]] * 40
    assert sorted(len(r.added) for r in reports) == [0] * 39 + [30]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Merchant)) == 1
    assert products(engine) == 30
