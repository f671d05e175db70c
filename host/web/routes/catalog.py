"""REST API for the merchant's catalog: upload, read, live edits and the stream lineup.

Thin over the same functions as `host catalog ...`, so the console and the CLI cannot
disagree. Every write is one transaction; a bad value is a 422 that changes nothing.

Who may: admins and operators every merchant, a merchant user their own merchants (403 for
others), a marketer reads every catalog (pitches and scripts quote it) and changes none.
Every change is recorded in the changes trail with who made it.

An upload is read from the socket into a temporary file with a cap (CATALOG_MAX_FILE_MB):
a larger body is refused (413) as soon as it passes the cap, never received in full.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncGenerator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from host.catalog.edits import (
    UNSET,
    EditError,
    ProductEdit,
    UnknownProduct,
    edit_product,
    set_lineup,
)
from host.catalog.export import product_json
from host.catalog.importer import import_file
from host.catalog.limits import ImportLimits
from host.catalog.money import PriceError, parse_currency
from host.catalog.photos import MediaStore, media_dir
from host.catalog.store import DbCatalog, merchant_has_products
from host.changes import merchant_target, record_change
from host.web.auth import CurrentUser, Principal
from host.web.deps import EngineDep, SettingsDep

_FORM_SLACK = 64 * 1024  # multipart boundaries, part headers and the small form fields

router = APIRouter(prefix="/api/merchants/{merchant}", tags=["catalog"])


def _may_read(merchant: str, user: CurrentUser) -> Principal:
    if user.role == "marketer" or user.may_manage_merchant(merchant):
        return user
    raise HTTPException(403, detail=f"{user.name} does not keep merchant {merchant!r}")


def _may_change(merchant: str, user: CurrentUser) -> Principal:
    if user.may_manage_merchant(merchant):
        return user
    if user.role == "marketer":
        raise HTTPException(403, detail="marketers read catalogs; changing one needs a merchant")
    raise HTTPException(403, detail=f"{user.name} does not keep merchant {merchant!r}")


Reader = Annotated[Principal, Depends(_may_read)]
Changer = Annotated[Principal, Depends(_may_change)]


class ProductPatch(BaseModel):
    """Fields left out stay as they are; `null` clears stock (unknown) or the promotion."""

    price: str | Decimal | None = Field(default=None, examples=["359.00", "¥1,299"])
    stock: int | None = Field(default=None, ge=0)
    promotion: str | None = Field(default=None, max_length=2000)


class Lineup(BaseModel):
    skus: list[str] = Field(description="products on sale now; link numbers follow this order")


@router.post(
    "/imports",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "dry_run": {"type": "boolean", "default": False},
                            "format": {"type": "string", "enum": ["csv", "xlsx", "json"]},
                            "currency": {"type": "string", "default": "CNY"},
                        },
                    }
                }
            }
        }
    },
)
async def upload_catalog(
    merchant: str, request: Request, engine: EngineDep, settings: SettingsDep, user: Changer
) -> dict[str, Any]:
    """Import a whole catalog file (multipart `file`, `dry_run`, `format`: csv|xlsx|json,
    `currency` of prices that name none); 422 with the per-row report when anything is
    wrong, 413 when the file is too large."""
    limits = ImportLimits.from_settings(settings)
    cap = limits.max_file_bytes + _FORM_SLACK
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise HTTPException(413, detail=str(limits.too_big()))
    parser = MultiPartParser(
        request.headers, _capped(request.stream(), cap), max_files=1, max_fields=4
    )
    try:
        form = await parser.parse()
    except _TooLarge as exc:
        raise HTTPException(413, detail=str(limits.too_big())) from exc
    except MultiPartException as exc:
        raise HTTPException(422, detail=f"not a catalog upload: {exc.message}") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, detail="no catalog file: send it as the multipart field 'file'")
    fmt = form.get("format")
    try:
        currency = parse_currency(str(form.get("currency") or "CNY"))
    except PriceError as exc:
        raise HTTPException(422, detail=f"currency: {exc}") from exc
    dry_run = str(form.get("dry_run", "false")).lower() in ("1", "true", "yes", "on")
    with tempfile.TemporaryDirectory(prefix="catalog-upload-") as folder:
        path = Path(folder) / "upload"
        with path.open("wb") as handle:
            shutil.copyfileobj(upload.file, handle)
        await upload.close()
        report = await run_in_threadpool(
            import_file,
            engine,
            path,
            merchant,
            file_name=Path(upload.filename or "upload.csv").name,
            fmt=fmt if isinstance(fmt, str) and fmt else None,
            dry_run=dry_run,
            by=user.name,
            default_currency=currency,
            limits=limits,
            media=MediaStore(media_dir(settings), limits.max_photo_bytes, limits.max_photo_pixels),
            photos_from=None,  # an upload may only name photos already in the media store
        )
    if report.errors:
        raise HTTPException(422, detail=report.as_json())
    result = report.as_json()
    if not dry_run:
        detail = {k: result[k] for k in ("file_name", "import_id", "counts")}
        await run_in_threadpool(
            record_change,
            engine,
            user.name,
            "catalog.import",
            merchant_target(merchant, "catalog"),
            detail,
        )
    return result


class _TooLarge(Exception):
    """The request body passed the upload cap; reading stopped there."""


async def _capped(stream: AsyncGenerator[bytes, None], cap: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > cap:
            raise _TooLarge
        yield chunk


@router.get("/products")
def list_products(merchant: str, engine: EngineDep, _: Reader) -> list[dict[str, Any]]:
    """Active products, lineup first in link order, with live prices and stock."""
    if not merchant_has_products(engine, merchant):
        raise HTTPException(404, detail=f"merchant {merchant!r} has no products")
    return [product_json(p) for p in DbCatalog(engine, merchant).products()]


@router.get("/products/{sku}")
def get_product(merchant: str, sku: str, engine: EngineDep, _: Reader) -> dict[str, Any]:
    product = DbCatalog(engine, merchant).get(sku)
    if product is None:
        raise HTTPException(404, detail=f"no active product {sku!r} for merchant {merchant!r}")
    return product_json(product)


@router.patch("/products/{sku}")
def patch_product(
    merchant: str, sku: str, patch: ProductPatch, engine: EngineDep, user: Changer
) -> dict[str, Any]:
    """Change price, stock and/or promotion now; running sessions quote it on their next reply."""
    given = patch.model_fields_set
    if "price" in given and patch.price is None:
        raise HTTPException(422, detail="price cannot be cleared")
    edit = ProductEdit(
        price=patch.price if patch.price is not None else UNSET,
        stock=patch.stock if "stock" in given else UNSET,
        promotion=patch.promotion if "promotion" in given else UNSET,
    )
    try:
        product = product_json(edit_product(engine, merchant, sku, edit))
    except UnknownProduct as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except EditError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    target = merchant_target(merchant, "products", product["sku"])
    for field in sorted(given & {"price", "stock", "promotion"}):
        value = getattr(patch, field)
        shown = str(value) if isinstance(value, Decimal) else value
        record_change(engine, user.name, f"catalog.{field}", target, {field: shown})
    return product


@router.get("/lineup")
def get_lineup(merchant: str, engine: EngineDep, _: Reader) -> list[dict[str, Any]]:
    """The products on sale now, in link order (link 1 first)."""
    return [product_json(p) for p in DbCatalog(engine, merchant).lineup()]


@router.put("/lineup")
def put_lineup(
    merchant: str, lineup: Lineup, engine: EngineDep, user: Changer
) -> list[dict[str, Any]]:
    """Replace the lineup: these SKUs become links 1..n; every other product loses its link."""
    try:
        products = [product_json(p) for p in set_lineup(engine, merchant, lineup.skus)]
    except UnknownProduct as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except EditError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    skus = [p["sku"] for p in products]
    record_change(
        engine, user.name, "lineup.set", merchant_target(merchant, "lineup"), {"skus": skus}
    )
    return products
