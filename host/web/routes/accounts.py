"""`/api/users` and `/api/tokens`: accounts over the API, thin over host/accounts.py.

Admins manage users and every token; anyone else sees, makes and revokes their own tokens.
A new token is in the response that made it and nowhere else, ever. Each change is recorded
in the changes trail under `users/{name}`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from host.accounts import (
    AccountError,
    TokenRow,
    UserRow,
    create_token,
    create_user,
    list_tokens,
    list_users,
    remove_user,
    revoke_token,
)
from host.changes import record_change
from host.web.auth import CurrentUser, Principal, require
from host.web.deps import EngineDep

router = APIRouter(prefix="/api", tags=["accounts"])
Admin = Annotated[Principal, require("admin")]


class NewUser(BaseModel):
    name: str = Field(max_length=100)
    role: str = Field(description="admin, operator, merchant or marketer")
    password: str | None = Field(
        default=None, max_length=1000, description="unset: the user signs in only by token"
    )
    merchants: list[str] = Field(default_factory=list, description="merchant users only")


class NewToken(BaseModel):
    name: str = Field(max_length=100, description="what the token is for")
    user: str | None = Field(default=None, description="admins only: whose token (default: yours)")


def _user_json(user: UserRow) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "merchants": list(user.merchants),
        "created_at": user.created_at.isoformat(),
    }


def _token_json(token: TokenRow) -> dict[str, Any]:
    last = token.last_used_at
    return {
        "name": token.name,
        "user": token.user,
        "created_at": token.created_at.isoformat(),
        "last_used_at": last.isoformat() if last else None,
    }


def _refused(error: AccountError) -> HTTPException:
    return HTTPException(404 if str(error).startswith("no ") else 422, str(error))


@router.get("/users")
def users(engine: EngineDep, _: Admin) -> list[dict[str, Any]]:
    return [_user_json(u) for u in list_users(engine)]


@router.post("/users", status_code=201)
def add_user(body: NewUser, engine: EngineDep, admin: Admin) -> dict[str, Any]:
    try:
        user = create_user(engine, body.name, body.role, body.password, body.merchants)
    except AccountError as error:
        raise _refused(error) from None
    detail = {"role": user.role, "merchants": list(user.merchants)}
    record_change(engine, admin.name, "user.add", f"users/{user.name}", detail)
    return _user_json(user)


@router.delete("/users/{name}", status_code=204)
def delete_user(name: str, engine: EngineDep, admin: Admin) -> None:
    try:
        remove_user(engine, name)
    except AccountError as error:
        raise _refused(error) from None
    record_change(engine, admin.name, "user.remove", f"users/{name}")


@router.get("/tokens")
def tokens(engine: EngineDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Every token for admins, your own for anyone else; names and use, never the token."""
    owner = None if user.role == "admin" else user.name
    return [_token_json(t) for t in list_tokens(engine, owner)]


@router.post("/tokens", status_code=201)
def add_token(body: NewToken, engine: EngineDep, user: CurrentUser) -> dict[str, Any]:
    """Make a token; the response carries it, once (only its hash is kept)."""
    owner = body.user or user.name
    if owner != user.name and user.role != "admin":
        raise HTTPException(403, "only an admin makes tokens for someone else")
    try:
        token = create_token(engine, body.name, owner)
    except AccountError as error:
        raise _refused(error) from None
    record_change(engine, user.name, "token.create", f"users/{owner}/tokens/{body.name}")
    return {"name": body.name, "user": owner, "token": token}


@router.delete("/tokens/{name}", status_code=204)
def delete_token(name: str, engine: EngineDep, user: CurrentUser) -> None:
    """Revoke a token (admins any, anyone else their own): its next request is refused."""
    try:
        owner = revoke_token(engine, name, user=None if user.role == "admin" else user.name)
    except AccountError as error:
        raise _refused(error) from None
    record_change(engine, user.name, "token.revoke", f"users/{owner}/tokens/{name}")
