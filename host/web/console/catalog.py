"""The Catalog page: upload with the validation report and diff before confirming, the
product list with search and inline price/stock/promotion edits, and the store policy.

Uploads and edits go through `/api/merchants/{merchant}/...` (the importer, `edits.py`):
the page checks a file with `dry_run`, shows what would change, and sends it again to
import. Only the store policy has its own route here, as the catalog API had none.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from host.catalog.policy import PolicyError, as_json, parse_policy, read_policy, set_policy
from host.changes import merchant_target, record_change
from host.db import models as db
from host.web.auth import Principal, require
from host.web.console.templating import page
from host.web.deps import EngineDep

router = APIRouter()
Keeper = require("operator", "merchant")


def merchants_of(engine: Engine, user: Principal) -> list[str]:
    """The merchants `user` keeps: their own, or every merchant for admins and operators."""
    if user.role == "merchant":
        return sorted(user.merchants)
    with Session(engine) as s:
        return list(s.scalars(select(db.Merchant.name).order_by(db.Merchant.name)))


def _kept(merchant: str, user: Principal) -> None:
    if not user.may_manage_merchant(merchant):
        raise HTTPException(403, detail=f"{user.name} does not keep merchant {merchant!r}")


@router.get("/catalog", response_class=HTMLResponse, include_in_schema=False)
def catalog_page(
    request: Request, engine: EngineDep, merchant: str | None = None, user: Principal = Keeper
) -> Any:
    merchants = merchants_of(engine, user)
    chosen = merchant or (merchants[0] if merchants else None)
    if chosen is not None:
        _kept(chosen, user)
    return page(
        request,
        "catalog.html",
        user,
        "Catalog",
        merchants=merchants,
        merchant=chosen,
    )


@router.get("/api/merchants/{merchant}/policy", tags=["catalog"])
def get_policy(merchant: str, engine: EngineDep, user: Principal = Keeper) -> dict[str, Any]:
    """The store policy: topic -> language -> wordings the host may quote word for word."""
    _kept(merchant, user)
    return as_json(read_policy(engine, merchant))


@router.put("/api/merchants/{merchant}/policy", tags=["catalog"])
async def put_policy(
    merchant: str, body: dict[str, Any], engine: EngineDep, user: Principal = Keeper
) -> dict[str, Any]:
    """Replace the store policy (same shape as a policy file); running streams read it on
    their next catalog refresh."""
    _kept(merchant, user)
    try:
        policy = parse_policy(body, "policy")
    except PolicyError as error:
        raise HTTPException(422, detail=str(error)) from None
    await run_in_threadpool(set_policy, engine, merchant, policy)
    target = merchant_target(merchant, "policy")
    await run_in_threadpool(record_change, engine, user.name, "catalog.policy", target, body)
    return as_json(policy)
