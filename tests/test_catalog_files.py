"""The documented sample files import, and an export imports back unchanged."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from host.catalog.export import export_catalog
from host.catalog.importer import import_file
from host.catalog.store import DbCatalog
from host.cli import app
from host.config import REPO_ROOT, Settings

SAMPLES = REPO_ROOT / "products" / "samples"


@pytest.mark.parametrize("name", ["catalog-utf8.csv", "catalog-gbk.csv", "catalog.xlsx"])
def test_chinese_samples_import(engine: Engine, name: str) -> None:
    report = import_file(engine, SAMPLES / name, "sample")
    assert report.errors == [] and len(report.added) == 3
    catalog = DbCatalog(engine, "sample")
    jacket, cup = catalog.get("S-001"), catalog.get("S-003")
    assert jacket is not None and cup is not None
    assert (jacket.price, jacket.list_price, jacket.link) == (Decimal("399"), Decimal("699"), 1)
    assert jacket.attributes == {"color": "黑色/米白", "size": "S/M/L"}
    assert jacket.aliases == ("羽绒服", "down jacket")
    assert (cup.price, cup.stock, cup.link) == (Decimal("1299"), 0, 3)
    assert catalog.get("S-002").stock is None  # type: ignore[union-attr]  # 有货: count unknown


def test_json_sample_imports(engine: Engine) -> None:
    report = import_file(engine, SAMPLES / "catalog.json", "sample")
    assert report.errors == [] and len(report.added) == 3
    catalog = DbCatalog(engine, "sample")
    prices = {p.sku: (p.price, p.currency) for p in catalog.products()}
    assert prices == {
        "S-001": (Decimal("59.99"), "USD"),
        "S-002": (Decimal("19.99"), "EUR"),
        "S-003": (Decimal("12.50"), "USD"),
    }


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_imports_back_unchanged(demo_engine: Engine, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"export.{fmt}"
    path.write_text(export_catalog(demo_engine, "demo", fmt), encoding="utf-8")
    report = import_file(demo_engine, path, "demo", dry_run=True)
    assert report.errors == []
    assert (report.added, report.changed, report.removed) == ([], [], [])
    assert len(report.unchanged) == 24
    fresh = import_file(demo_engine, path, "copy")
    assert DbCatalog(demo_engine, "copy").products() == DbCatalog(demo_engine, "demo").products()
    assert fresh.errors == []


def test_cli_edits_lineup_and_export(
    demo_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.chdir(tmp_path)  # the CLI reads .env from where it runs: never the developer's
    runner = CliRunner()
    result = runner.invoke(app, ["catalog", "set-price", "LH-002", "￥149"])
    assert result.exit_code == 0 and "149.00 CNY" in result.output
    assert runner.invoke(app, ["catalog", "set-stock", "LH-002", "7"]).exit_code == 0
    bad = runner.invoke(app, ["catalog", "set-price", "LH-002", "abc"])
    assert bad.exit_code == 1 and "price: not a price" in bad.output
    assert runner.invoke(app, ["catalog", "set-stock", "NOPE", "1"]).exit_code == 1
    assert runner.invoke(app, ["catalog", "lineup", "LH-002", "LH-001"]).exit_code == 0
    out = tmp_path / "export.csv"
    assert runner.invoke(app, ["catalog", "export", "--out", str(out)]).exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("LH-002,") and ",149.00,229.00,CNY,7,1," in lines[1]
    assert lines[2].startswith("LH-001,")
    assert runner.invoke(app, ["catalog", "export", "--format", "xml"]).exit_code == 1
