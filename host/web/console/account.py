"""The Account page: who you are, your API tokens (shown once), and for admins the users,
their roles and merchants, and the recent changes. Thin over `/api/users`, `/api/tokens`
and `/api/changes`, which the accounts library serves. Also the Prompts page, thin over
`/api/prompts` (`prompts.js`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from host.web.auth import CurrentUser, Principal, require
from host.web.console.templating import page

router = APIRouter(include_in_schema=False)
Editor = require("marketer", "operator")  # as `/api/prompts`


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, user: CurrentUser) -> Any:
    return page(request, "account.html", user, "Account")


@router.get("/prompts", response_class=HTMLResponse)
def prompts_page(request: Request, user: Principal = Editor) -> Any:
    """The prompt library (issue 21): items and labels, versions, diff, save, label moves
    and the playground, over `/api/prompts`."""
    return page(request, "prompts.html", user, "Prompts")
