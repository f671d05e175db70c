"""The console's pages share one layout: the signed-in user, the navigation, and the CSRF
token the page's scripts send back with every change (`X-CSRF-Token`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from host.web.auth import Principal, csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

NAV = (
    ("/streams", "Streams", ("admin", "operator", "merchant")),
    ("/catalog", "Catalog", ("admin", "operator", "merchant")),
    ("/avatars", "Avatars & voices", ("admin", "operator")),
    ("/prompts", "Prompts", ("admin", "marketer")),  # the prompt library's page (issue 21)
    ("/account", "Account", ("admin", "operator", "merchant", "marketer")),
)


def page(
    request: Request, template: str, user: Principal, title: str, **context: Any
) -> HTMLResponse:
    nav = [(href, label) for href, label, roles in NAV if user.role in roles]
    active = next((href for href, _ in nav if request.url.path.startswith(href)), None)
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf": csrf_token(request),
            "nav": nav,
            "active": active,
            "title": title,
            **context,
        },
    )
