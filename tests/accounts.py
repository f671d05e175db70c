"""Accounts for tests: a user of any role and the header or signed-in client that acts as them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from host.accounts import create_token, create_user

_serial = itertools.count(1)


def auth_headers(
    engine: Engine, role: str = "admin", merchants: Iterable[str] = (), name: str | None = None
) -> dict[str, str]:
    """`Authorization: Bearer` of a new token-only user with `role` (no password to hash)."""
    name = name or f"{role}{next(_serial)}"
    create_user(engine, name, role, None, merchants)
    return {"Authorization": f"Bearer {create_token(engine, f'{name}-token', name)}"}


def sign_in(client: TestClient, name: str, password: str) -> str:
    """Sign `client` in through the /login form, as a browser would; returns the CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None, page.text
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    csrf: str = client.get("/api/me").json()["csrf_token"]
    return csrf
