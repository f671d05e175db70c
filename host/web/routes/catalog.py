"""REST API for the merchant's catalog: upload, read, live edits and the stream lineup.

Thin over the same functions as `host catalog ...`, so the console and the CLI cannot
disagree. Every write is one transaction; a bad value is a 422 that changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from pydantic import BaseModel, Field

from host.catalog.edits import (
    UNSET,
    EditError,
    ProductEdit,
    UnknownProduct,
    edit_product,
    set_lineup,
)
from host.catalog.export import product_json
from host.catalog.importer import import_bytes
from host.catalog.store import DbCatalog, merchant_has_products
from host.web.deps import EngineDep

router = APIRouter(prefix="/api/merchants/{merchant}", tags=["catalog"])


class ProductPatch(BaseModel):
    """Fields left out stay as they are; `null` clears stock (unknown) or the promotion."""

    price: str | Decimal | None = Field(default=None, examples=["359.00", "¥1,299"])
    stock: int | None = Field(default=None, ge=0)
    promotion: str | None = Field(default=None, max_length=2000)


class Lineup(BaseModel):
    skus: list[str] = Field(description="products on sale now; link numbers follow this order")


@router.post("/imports")
def upload_catalog(
    merchant: str,
    engine: EngineDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/GBK), XLSX or JSON")],
    dry_run: Annotated[bool, Form()] = False,
    fmt: Annotated[str | None, Form(alias="format", description="csv|xlsx|json")] = None,
) -> dict[str, Any]:
    """Import a whole catalog file; 422 with the per-row report when anything is wrong."""
    report = import_bytes(
        engine,
        file.file.read(),
        file.filename or "upload.csv",
        merchant,
        fmt=fmt,
        dry_run=dry_run,
        by="api",
    )
    if report.errors:
        raise HTTPException(422, detail=report.as_json())
    return report.as_json()


@router.get("/products")
def list_products(merchant: str, engine: EngineDep) -> list[dict[str, Any]]:
    """Active products, lineup first in link order, with live prices and stock."""
    if not merchant_has_products(engine, merchant):
        raise HTTPException(404, detail=f"merchant {merchant!r} has no products")
    return [product_json(p) for p in DbCatalog(engine, merchant).products()]


@router.get("/products/{sku}")
def get_product(merchant: str, sku: str, engine: EngineDep) -> dict[str, Any]:
    product = DbCatalog(engine, merchant).get(sku)
    if product is None:
        raise HTTPException(404, detail=f"no active product {sku!r} for merchant {merchant!r}")
    return product_json(product)


@router.patch("/products/{sku}")
def patch_product(
    merchant: str, sku: str, patch: ProductPatch, engine: EngineDep
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
        return product_json(edit_product(engine, merchant, sku, edit))
    except UnknownProduct as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except EditError as exc:
        raise HTTPException(422, detail=str(exc)) from exc


@router.get("/lineup")
def get_lineup(merchant: str, engine: EngineDep) -> list[dict[str, Any]]:
    """The products on sale now, in link order (link 1 first)."""
    return [product_json(p) for p in DbCatalog(engine, merchant).lineup()]


@router.put("/lineup")
def put_lineup(merchant: str, lineup: Lineup, engine: EngineDep) -> list[dict[str, Any]]:
    """Replace the lineup: these SKUs become links 1..n; every other product loses its link."""
    try:
        return [product_json(p) for p in set_lineup(engine, merchant, lineup.skus)]
    except UnknownProduct as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except EditError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
