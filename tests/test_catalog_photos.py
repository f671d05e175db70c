"""Product photos are copied into the media store at import; nothing else is ever opened,
at import or on air."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine

from host.catalog.importer import import_file
from host.catalog.photos import MediaStore, media_dir
from host.catalog.store import DbCatalog
from host.config import Settings
from host.stream.card import card_text, render_card
from host.stream.layout import Layout
from host.web.app import create_app
from tests.accounts import auth_headers


def store(settings: Settings, max_pixels: int = 40_000_000) -> MediaStore:
    return MediaStore(media_dir(settings), 10 << 20, max_pixels)


def catalog(folder: Path, photos: list[str]) -> Path:
    path = folder / "catalog.csv"
    rows = "".join(f"P-{i},杯子{i},10,{photo}\n" for i, photo in enumerate(photos))
    path.write_text("sku,name,price,主图\n" + rows, encoding="utf-8")
    return path


def test_photo_is_reencoded_into_the_store_and_shown_on_the_card(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    Image.new("RGB", (3000, 2000), (200, 30, 30)).save(tmp_path / "cup.png")
    path = catalog(tmp_path, ["cup.png"])
    media = store(settings)
    dry = import_file(engine, path, "shop", media=media, photos_from=tmp_path, dry_run=True)
    assert dry.ok and not media_dir(settings).exists()  # a dry run stores nothing
    report = import_file(engine, path, "shop", media=store(settings), photos_from=tmp_path)
    assert report.ok and report.warnings == []
    product = DbCatalog(engine, "shop").get("P-0")
    assert product is not None
    ref = product.attributes["image"]
    assert ref.startswith("media/") and ref.endswith(".jpg")
    stored = media_dir(settings) / ref.removeprefix("media/")
    with Image.open(stored) as photo:
        assert photo.format == "JPEG" and max(photo.size) == 1024
    card = card_text(product, media_root=media_dir(settings))
    assert card.image == str(stored)
    patch = render_card(card, Layout(720, 1280, "top-left", 0))
    assert patch.size[1] > 300  # the photo adds its height to the card
    again = import_file(engine, path, "shop", media=store(settings), photos_from=tmp_path)
    assert again.changed == []  # the same photo is the same reference


@pytest.mark.parametrize(
    ("alpha", "suffix"), [(255, "jpg"), (254, "png")], ids=["opaque", "one-translucent-pixel"]
)
def test_a_photo_keeps_its_transparency_as_png(
    settings: Settings, tmp_path: Path, alpha: int, suffix: str
) -> None:
    logo = Image.new("RGBA", (40, 40), (200, 30, 30, 255))
    logo.putpixel((39, 39), (200, 30, 30, alpha))
    logo.save(tmp_path / "logo.png")
    ref = store(settings).ingest("logo.png", tmp_path, write=True)
    assert ref.endswith(f".{suffix}")
    with Image.open(media_dir(settings) / ref.removeprefix("media/")) as photo:
        assert photo.getpixel((39, 39)) == (200, 30, 30, alpha)[: len(photo.getbands())]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("/etc/shadow", "an absolute path"),
        ("../outside.png", "outside the catalog's folder"),
        ("fifo.png", "not a regular file"),
        ("notes.png", "not an image"),
        ("huge.png", "pixels; at most 10000"),
        ("missing.png", "cannot open missing.png"),
    ],
)
def test_unusable_photos_import_without_a_photo_and_a_warning(
    engine: Engine, settings: Settings, tmp_path: Path, cell: str, reason: str
) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    Image.new("RGB", (10, 10)).save(tmp_path / "outside.png")
    os.mkfifo(folder / "fifo.png")
    (folder / "notes.png").write_text("not a picture")
    Image.new("1", (200, 200)).save(folder / "huge.png")
    started = time.monotonic()
    report = import_file(
        engine,
        catalog(folder, [cell]),
        "shop",
        media=store(settings, max_pixels=10_000),
        photos_from=folder,
    )
    assert time.monotonic() - started < 5  # a FIFO never blocks
    assert report.ok and report.added == ["P-0"]
    assert len(report.warnings) == 1 and report.warnings[0].row == 2
    assert reason in report.warnings[0].reason
    assert "image" not in DbCatalog(engine, "shop").get("P-0").attributes  # type: ignore[union-attr]


def test_an_uploaded_catalog_reads_no_local_file(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    Image.new("RGB", (10, 10)).save(tmp_path / "cup.png")
    client = TestClient(create_app(settings, engine), headers=auth_headers(engine))
    body = f"sku,name,price,image\nP-1,杯子,10,{tmp_path / 'cup.png'}\nP-2,碗,5,cup.png\n"
    response = client.post(
        "/api/merchants/shop/imports", files={"file": ("c.csv", body.encode(), "text/csv")}
    )
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert [w["row"] for w in warnings] == [2, 3]
    assert all("already in the store" in w["reason"] for w in warnings)
    assert not media_dir(settings).exists()


def test_the_card_opens_nothing_outside_the_media_store(settings: Settings, tmp_path: Path) -> None:
    from host.catalog.facts import ProductFacts

    media = media_dir(settings)
    media.mkdir(parents=True)
    os.mkfifo(media / ("0" * 64 + ".png"))
    for ref in ["/etc/shadow", "../../etc/passwd", "media/../x.png", "media/" + "0" * 64 + ".png"]:
        product = ProductFacts("A", "杯子", Decimal(1), "CNY", attributes={"image": ref})
        assert card_text(product, media_root=media).image is None, ref
