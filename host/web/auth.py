"""Who may call what: sign-in, sessions, API tokens, CSRF, and the few routes left open.

Every request and websocket passes one gate (`AuthGate`, an ASGI middleware) before any
route sees it, so a route added later is closed by default: forgetting a dependency cannot
open it. The gate lets through only `PUBLIC_PATHS`/`PUBLIC_PREFIXES` — sign-in, `/health`,
`/metrics` (its own bearer token when METRICS_TOKEN is set), the Douyin webhook (signed) and
the websocket ingress (a token per stream) — and for everything else it finds the caller:

- `Authorization: Bearer <API token>` (scripts, bridges): exempt from CSRF, since a browser
  never attaches it by itself;
- the session cookie (HttpOnly, SameSite=Lax, Secure over TLS or behind a TLS proxy); an
  unsafe method (POST, PUT, PATCH, DELETE) must then carry the session's CSRF token in the
  `X-CSRF-Token` header or a `csrf_token` form field, and a websocket's Origin must be
  this host.

Anonymous: an API call gets 401 JSON; a browser asking for a page is sent to /login.
Routes read the caller with `CurrentUser` and gate roles with `require(...)`.

Database lookups and password hashing run in worker threads: `host serve` runs streams on
the same event loop, and their clocks must not wait on a sign-in.
"""

from __future__ import annotations

import html
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import HTTPConnection, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from host.accounts import (
    Principal,
    Role,
    SignedIn,
    check_password,
    end_session,
    session_principal,
    start_session,
    token_principal,
)
from host.config import Settings
from host.web.deps import get_engine, get_settings

PUBLIC_PATHS = frozenset({"/login", "/logout", "/health", "/metrics", "/webhooks/douyin"})
PUBLIC_PREFIXES = ("/webhooks/douyin/", "/ws/ingress/")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
FORM_SLACK = 1024 * 1024  # form fields and multipart framing beyond the largest upload
LOGIN_FORM_TTL_S = 3600  # a sign-in form left open longer must be reloaded
LIMITER_KEYS = 10_000  # names and addresses remembered; the oldest is forgotten beyond this

Refusal = Response | WebSocketClose  # what the gate answers instead of the route


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def login_cookie(settings: Settings) -> str:
    """The cookie carrying the sign-in form's CSRF token (before there is a session)."""
    return f"{settings.session_cookie}_login"


class LoginLimiter:
    """Failed sign-ins per user name and per client address over a sliding window.

    In memory: a restart forgets them, which costs an attacker a restart they cannot cause.
    At most LIMITER_KEYS keys are kept (oldest forgotten first), so a flood of made-up names
    cannot grow the process; each key keeps at most `max_failures` times.
    """

    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # sign-ins run in worker threads

    def retry_after(self, *keys: str) -> int:
        """Seconds until another try is allowed for all of `keys`; 0 when allowed now."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._failures.get(key)
                if times is None:
                    continue
                while times and now - times[0] >= self.window_s:
                    times.popleft()
                if len(times) >= self.max_failures:
                    wait = max(wait, times[0] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                times = self._failures.pop(key, None) or deque(maxlen=self.max_failures)
                times.append(now)
                self._failures[key] = times
                while len(self._failures) > LIMITER_KEYS:
                    self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


# the gate


class AuthGate:
    """ASGI middleware: every non-public request is identified (or refused) before routing."""

    def __init__(self, app: ASGIApp, settings: Settings, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.cookie = settings.session_cookie
        self.metrics_token = settings.metrics_token
        self.form_cap = int(settings.catalog_max_file_mb * 1024 * 1024) + FORM_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        if is_public(path):
            refusal: Refusal | None = None
            if path == "/metrics" and not self._metrics_allowed(headers):
                refusal = _unauthorized("/metrics needs Authorization: Bearer <METRICS_TOKEN>")
        else:
            refusal, receive = await self._admit(scope, receive, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket" and not isinstance(refusal, WebSocketClose):
            refusal = WebSocketClose(code=1008, reason="sign in first")
        await refusal(scope, receive, send)

    async def _admit(
        self, scope: Scope, receive: Receive, headers: Headers
    ) -> tuple[Refusal | None, Receive]:
        """Find the caller and put them in the scope's state, or say why not. Returns the
        receive the app reads the body from (a form read for its CSRF token is replayed)."""
        token = _bearer(headers)
        if token is not None:
            principal = await to_thread.run_sync(token_principal, self.engine, token)
            if principal is None:
                return _unauthorized("unknown or revoked API token"), receive
            signed = SignedIn(principal, "")
        else:
            cookie = cookie_parser(headers.get("cookie", "")).get(self.cookie)
            found = (
                await to_thread.run_sync(session_principal, self.engine, cookie) if cookie else None
            )
            if found is None:
                return _anonymous(scope, headers), receive
            signed = found
            if scope["type"] == "websocket" and not _same_origin(headers):
                return WebSocketClose(code=1008, reason="cross-site websocket"), receive
            if scope["type"] == "http" and scope["method"] in UNSAFE:
                refusal, receive = await self._check_csrf(scope, receive, headers, signed)
                if refusal is not None:
                    return refusal, receive
        state = scope.setdefault("state", {})
        state["principal"] = signed.principal
        state["csrf_token"] = signed.csrf_token
        return None, receive

    def _metrics_allowed(self, headers: Headers) -> bool:
        if self.metrics_token is None:
            return True
        given = _bearer(headers) or ""
        return secrets.compare_digest(
            given.encode(), self.metrics_token.get_secret_value().encode()
        )

    async def _check_csrf(
        self, scope: Scope, receive: Receive, headers: Headers, signed: SignedIn
    ) -> tuple[Refusal | None, Receive]:
        """(refusal or None, the receive the app should read the body from)."""
        expected = signed.csrf_token.encode()
        given = headers.get(CSRF_HEADER)
        if given is not None:
            ok = secrets.compare_digest(given.encode(), expected)
            return (None if ok else _csrf_refused()), receive
        if not headers.get("content-type", "").startswith(FORM_TYPES):
            return _csrf_refused(), receive
        declared = headers.get("content-length", "")
        too_large = JSONResponse({"detail": "the form is too large"}, 413)
        if declared.isdigit() and int(declared) > self.form_cap:
            return too_large, receive  # refused before a byte of it is read
        messages = await _read_body(receive, self.form_cap)
        if messages is None:
            return too_large, receive
        try:
            form = await Request(scope, _replay(messages, receive)).form()
        except (MultiPartException, StarletteHTTPException):
            return _csrf_refused(), receive  # a form that does not parse carries no token
        field = form.get(CSRF_FIELD)
        await form.close()
        if not isinstance(field, str) or not secrets.compare_digest(field.encode(), expected):
            return _csrf_refused(), receive
        return None, _replay(messages, receive)


def _bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _unauthorized(detail: str) -> Response:
    return JSONResponse({"detail": detail}, 401, headers={"WWW-Authenticate": "Bearer"})


def _csrf_refused() -> Response:
    return JSONResponse(
        {
            "detail": f"missing or wrong CSRF token (send the {CSRF_HEADER} header"
            f" or a {CSRF_FIELD} form field)"
        },
        403,
    )


def _anonymous(scope: Scope, headers: Headers) -> Response | WebSocketClose:
    """A browser asking for a page goes to the sign-in page; anything else gets 401."""
    if scope["type"] == "websocket":
        return WebSocketClose(code=1008, reason="sign in first")
    page = scope["method"] in ("GET", "HEAD") and not scope["path"].startswith("/api/")
    if page and "text/html" in headers.get("accept", ""):
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
    return _unauthorized("sign in, or send Authorization: Bearer <API token>")


def _same_origin(headers: Headers) -> bool:
    origin = headers.get("origin")
    return origin is None or urlsplit(origin).netloc == headers.get("host")


async def _read_body(receive: Receive, cap: int) -> list[Message] | None:
    """The request's body messages, or None once they pass `cap` bytes."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > cap:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


# what routes use


def current_principal(connection: HTTPConnection) -> Principal:
    """The caller, as the gate identified them; 401 on a route the gate leaves open."""
    principal: Principal | None = connection.scope.get("state", {}).get("principal")
    if principal is None:
        raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Any:
    """A dependency admitting `roles` (and admin, always); anyone else gets 403."""
    allowed = frozenset(roles) | {"admin"}
    needed = " or ".join(sorted(allowed))

    def check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise HTTPException(403, f"this needs the role {needed}; you are {user.role}")
        return user

    return Depends(check)


def csrf_token(request: HTTPConnection) -> str:
    """The CSRF token a page puts in its forms (`csrf_token`) or fetch calls (`X-CSRF-Token`)."""
    token: str = request.scope.get("state", {}).get("csrf_token", "")
    return token


# sign-in and sign-out

router = APIRouter(tags=["accounts"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>livehost · sign in</title>
<style>
body {{ font: 16px system-ui, sans-serif; background: #f4f4f6; display: grid;
       place-items: center; min-height: 100vh; margin: 0; }}
form {{ background: #fff; padding: 2rem; border-radius: 8px; width: 18rem;
       box-shadow: 0 1px 4px #0002; display: grid; gap: .75rem; }}
input {{ font: inherit; padding: .5rem; }}
button {{ font: inherit; padding: .6rem; background: #222; color: #fff; border: 0;
         border-radius: 4px; }}
.message {{ color: #a00; margin: 0; }}
</style></head>
<body><form method="post" action="/login">
<h1>livehost</h1>
{message}
<label>Name <input name="name" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"
 required></label>
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<button type="submit">Sign in</button>
</form></body></html>
"""


def _tls(request: Request) -> bool:
    """Over TLS, directly or at a trusted proxy (uvicorn rewrites the scheme from
    X-Forwarded-Proto only for the addresses in FORWARDED_ALLOW_IPS, with --behind-proxy)."""
    return request.url.scheme in ("https", "wss")


def _local(target: str) -> str:
    """`target` if it is a path on this site, else `/`: the sign-in page is no open redirect."""
    ok = target.startswith("/") and not target.startswith(("//", "/\\"))
    return target if ok else "/"


def _login_page(request: Request, next_: str, message: str, status: int) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    body = _PAGE.format(
        message=f'<p class="message" role="alert">{html.escape(message)}</p>' if message else "",
        csrf=token,
        next=html.escape(_local(next_)),
    )
    response = HTMLResponse(body, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.set_cookie(
        login_cookie(get_settings(request)),
        token,
        max_age=LOGIN_FORM_TTL_S,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=_tls(request),
    )
    return response


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next, "", 200)


@router.post("/login", response_class=HTMLResponse, summary="Sign in (the /login form)")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next_: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    """Check the password and set the session cookie; 429 with Retry-After after too many
    failures for this name or this client address."""
    settings = get_settings(request)
    expected = request.cookies.get(login_cookie(settings), "")
    if not expected or not secrets.compare_digest(csrf_token.encode(), expected.encode()):
        return _login_page(request, next_, "The sign-in form expired: please try again.", 403)
    limiter: LoginLimiter = request.app.state.login_limiter
    address = request.client.host if request.client else "unknown"
    keys = (f"name:{name.casefold()}", f"address:{address}")
    wait = limiter.retry_after(*keys)
    if wait:
        page = _login_page(request, next_, f"Too many failed sign-ins: wait {wait} s.", 429)
        page.headers["Retry-After"] = str(wait)
        return page
    principal = check_password(get_engine(request), name, password)
    if principal is None:
        limiter.failed(*keys)
        return _login_page(request, next_, "Wrong name or password.", 401)
    limiter.succeeded(keys[0])
    lifetime = timedelta(hours=settings.session_lifetime_h)
    cookie, _ = start_session(get_engine(request), principal.name, lifetime)
    response = RedirectResponse(_local(next_), 303)
    response.set_cookie(
        settings.session_cookie,
        cookie,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_tls(request),
    )
    response.delete_cookie(login_cookie(settings), path="/login")
    return response


@router.post("/logout", summary="Sign out (ends the session; needs its CSRF token)")
async def logout(request: Request) -> Response:
    settings = get_settings(request)
    cookie = request.cookies.get(settings.session_cookie)
    if cookie:
        signed = await to_thread.run_sync(session_principal, get_engine(request), cookie)
        if signed is not None:
            given: Any = request.headers.get(CSRF_HEADER)
            if given is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
                given = (await request.form()).get(CSRF_FIELD)
            if not isinstance(given, str) or not secrets.compare_digest(
                given.encode(), signed.csrf_token.encode()
            ):
                return _csrf_refused()
            await to_thread.run_sync(end_session, get_engine(request), cookie)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(settings.session_cookie, path="/")
    return response


@router.get("/api/me", summary="Who is signed in (and the CSRF token for their requests)")
def me(user: CurrentUser, request: Request) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "merchants": sorted(user.merchants),
        "via": user.via,
        "csrf_token": csrf_token(request) or None,
    }


# wiring


def install_auth(app: FastAPI, settings: Settings, engine: Engine) -> None:
    """Close `app` behind the gate, add sign-in and sign-out, and declare it in OpenAPI."""
    app.state.login_limiter = LoginLimiter(settings.login_max_failures, settings.login_window_s)
    app.add_middleware(AuthGate, settings=settings, engine=engine)
    app.include_router(router)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_security(build(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_security(schema: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Security schemes, and on each operation the ones it takes (none: open to anyone)."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["session"] = {
        "type": "apiKey",
        "in": "cookie",
        "name": settings.session_cookie,
        "description": "signed in at /login; unsafe methods also need the X-CSRF-Token header",
    }
    schemes["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token from `host token create`",
    }
    if settings.metrics_token is not None:
        schemes["metricsToken"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "METRICS_TOKEN",
        }
    signed_in: list[dict[str, list[str]]] = [{"session": []}, {"bearer": []}]
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method.upper() not in METHODS:
                continue
            if path == "/metrics" and settings.metrics_token is not None:
                operation["security"] = [{"metricsToken": []}]
            else:
                operation["security"] = [] if is_public(path) else signed_in
    return schema


METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})
