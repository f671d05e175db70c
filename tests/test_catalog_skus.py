"""One spelling per SKU, formula-safe CSV exports written atomically, and the catalog
commands on the merchant the demo reads (DEMO_MERCHANT)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from host.catalog.edits import set_price
from host.catalog.export import export_catalog
from host.catalog.importer import import_file
from host.catalog.store import DbCatalog
from host.cli import app
from host.config import Settings

LOOK_ALIKES = ["LH-001", "lh-001", "ＬＨ-001", "LH\u2011001"]


def test_look_alike_skus_in_one_file_are_duplicates_with_rows(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    path.write_text("sku,name,price\n" + "".join(f"{s},杯子,1\n" for s in LOOK_ALIKES))
    report = import_file(engine, path, "shop")
    assert [str(e) for e in report.errors] == [
        "row 3, column sku: duplicate sku LH-001 (first on row 2 as 'LH-001')",
        "row 4, column sku: duplicate sku LH-001 (first on row 2 as 'LH-001')",
        "row 5, column sku: duplicate sku LH-001 (first on row 2 as 'LH-001')",
    ]


@pytest.mark.parametrize("spelling", LOOK_ALIKES)
def test_every_spelling_finds_the_one_product(
    engine: Engine, tmp_path: Path, spelling: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text("sku,name,price\nlh-001,杯子,1\n")
    assert import_file(engine, path, "shop").added == ["LH-001"]
    path.write_text(f"sku,name,price\n{spelling},杯子,2\n")
    report = import_file(engine, path, "shop")
    assert [c.sku for c in report.changed] == ["LH-001"] and report.added == []
    assert set_price(engine, "shop", spelling, "3").sku == "LH-001"
    assert DbCatalog(engine, "shop").get(spelling).price == 3  # type: ignore[union-attr]


FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\ry"]


def test_csv_export_neutralises_formulas_and_imports_back(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    import json

    rows = [
        {"sku": f"F-{i}", "name": text, "price": 1, "promotion": text, "fit": text}
        for i, text in enumerate(FORMULAS)
    ]
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert import_file(engine, path, "shop").errors == []
    text = export_catalog(engine, "shop", "csv")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert '\'=HYPERLINK("http://x","y")' in cells
    exported = tmp_path / "export.csv"
    exported.write_text(text, encoding="utf-8")
    report = import_file(engine, exported, "shop", dry_run=True)
    assert report.errors == [] and report.changed == [] and len(report.unchanged) == 6
    names = {p.name for p in DbCatalog(engine, "shop").products()}
    assert names == {text.strip() for text in FORMULAS}  # the importer trims cells


def test_export_out_is_atomic(
    demo_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "catalog.csv"
    out.write_text("the previous export\n")

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    result = CliRunner().invoke(app, ["catalog", "export", "--out", str(out)])
    message = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 1 and "cannot write" in message and "disk full" in message
    assert out.read_text() == "the previous export\n"
    assert [p.name for p in out.parent.iterdir()] == ["catalog.csv"]  # no temp file left
    monkeypatch.undo()
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert CliRunner().invoke(app, ["catalog", "export", "--out", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("sku,name")


def test_catalog_commands_use_demo_merchant(
    demo_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DEMO_MERCHANT", "shop")
    path = tmp_path / "shop.csv"
    path.write_text("sku,name,price,stock\nLH-001,店铺杯子,50,5\nLH-002,店铺碗,20,5\n")
    runner = CliRunner()
    assert runner.invoke(app, ["catalog", "import", str(path), "--merchant", "shop"]).exit_code == 0
    commands = [
        ["catalog", "set-price", "LH-001", "45"],
        ["catalog", "set-stock", "LH-001", "4"],
        ["catalog", "set-promotion", "LH-001", "买一送一"],
        ["catalog", "lineup", "LH-002", "LH-001"],
    ]
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    shop, demo = DbCatalog(demo_engine, "shop").get("LH-001"), DbCatalog(demo_engine, "demo")
    assert shop is not None and (shop.price, shop.stock, shop.link) == (45, 4, 2)
    assert shop.promotion == "买一送一"
    jacket = demo.get("LH-001")
    assert jacket is not None and (jacket.price, jacket.stock, jacket.link) == (399, 128, 1)
    for command in (["catalog", "list"], ["catalog", "show", "LH-001"], ["catalog", "export"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0 and "店铺杯子" in result.output, command
        assert "轻薄羽绒服" not in result.output
