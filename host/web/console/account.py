"""The Account page: who you are, your API tokens (shown once), and for admins the users,
their roles and merchants, and the recent changes. Thin over `/api/users`, `/api/tokens`
and `/api/changes`, which the accounts library serves."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from host.web.auth import CurrentUser
from host.web.console.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, user: CurrentUser) -> Any:
    return page(request, "account.html", user, "Account")


@router.get("/prompts", response_class=HTMLResponse)
def prompts_placeholder(request: Request, user: CurrentUser) -> Any:
    """Where the prompt library's pages (issue 21) will live; a placeholder until then."""
    return page(request, "prompts.html", user, "Prompts")
