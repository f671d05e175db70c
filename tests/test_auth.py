"""Accounts and access through the real app: who may call what, sign-in, CSRF, rate limits,
tokens, and the changes trail that says who did what."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

import host.accounts as accounts
from host.accounts import Principal, create_user, remove_user, revoke_token
from host.catalog.store import DbCatalog
from host.changes import list_changes
from host.config import REPO_ROOT, Settings
from host.web.app import create_app
from tests.accounts import auth_headers, sign_in

# What an anonymous caller may reach, written out here rather than read from the code, so a
# route opened by mistake (or the gate's list growing) fails this file.
OPEN = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("POST", "/webhooks/douyin"),
    ("POST", "/webhooks/douyin/{stream}"),
}
OPEN_WEBSOCKETS = {"/ws/ingress/{stream}"}
PARAMS = {
    "merchant": "demo", "sku": "LH-001", "name": "north", "stream": "north",
    "language": "zh", "which": "1", "label": "staging", "pending_id": "1", "file": "index.m3u8",
}  # fmt: skip
PASSWORD = "correct horse battery"
PRODUCT = "/api/merchants/demo/products/LH-001"


@pytest.fixture
def app(settings: Settings, demo_engine: Engine) -> FastAPI:
    return create_app(settings, demo_engine)


@pytest.fixture
def anonymous(app: FastAPI) -> TestClient:
    return TestClient(app)


def path_of(template: str) -> str:
    return template.format(**PARAMS)


def test_every_operation_in_the_openapi_document_refuses_anonymous_callers(
    app: FastAPI, anonymous: TestClient
) -> None:
    schema = app.openapi()
    called = 0
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            response = anonymous.request(method.upper(), path_of(template), json={})
            called += 1
            if (method.upper(), template) in OPEN:
                assert operation["security"] == [] or template == "/metrics", template
                continue
            assert response.status_code == 401, (method, template, response.text)
            assert {"session": []} in operation["security"], (method, template)
            assert {"bearer": []} in operation["security"], (method, template)
    assert called >= 12  # catalog, streams, changes, me, sign-in, health, ...
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie" and schemes["session"]["name"] == "livehost_session"


def test_every_route_outside_the_document_refuses_anonymous_callers_too(
    app: FastAPI, anonymous: TestClient
) -> None:
    """Pages left out of the OpenAPI document (/docs, /redoc, /openapi.json, the docs'
    assets) and websockets are behind the same gate."""
    checked = []
    for route in app.routes:
        if isinstance(route, Mount):
            response = anonymous.get(f"{route.path}/swagger-ui.css")
            assert response.status_code == 401, route.path
            checked.append(route.path)
        elif isinstance(route, WebSocketRoute):
            if route.path in OPEN_WEBSOCKETS:
                continue
            with pytest.raises(WebSocketDisconnect), anonymous.websocket_connect(route.path):
                pass
        elif isinstance(route, Route):
            for method in route.methods or ():
                if (method, route.path) in OPEN or method == "HEAD":
                    continue
                response = anonymous.request(method, path_of(route.path))
                assert response.status_code == 401, (method, route.path)
                checked.append(route.path)
    assert {"/docs", "/redoc", "/openapi.json", "/docs-assets"} <= set(checked)


def test_a_browser_asking_for_a_page_is_sent_to_sign_in_and_comes_back(
    app: FastAPI, demo_engine: Engine
) -> None:
    browser = TestClient(app, headers={"Accept": "text/html"})
    response = browser.get("/docs?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdocs%3Fx%3D1"
    assert browser.get("/api/streams").status_code == 401  # the API never redirects
    create_user(demo_engine, "ann", "operator", PASSWORD)
    page = browser.get(response.headers["location"])
    assert 'name="next" value="/docs?x=1"' in page.text
    sign_in(browser, "ann", PASSWORD)
    assert browser.get("/docs").status_code == 200


def test_sign_in_sets_an_httponly_samesite_cookie_secure_over_tls(
    app: FastAPI, demo_engine: Engine
) -> None:
    create_user(demo_engine, "ann", "operator", PASSWORD)
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = TestClient(app, base_url=base)
        sign_in(client, "ann", PASSWORD)
        cookie = next(c for c in client.cookies.jar if c.name == "livehost_session")
        assert cookie.has_nonstandard_attr("HttpOnly")
        assert cookie.get_nonstandard_attr("SameSite").lower() == "lax"
        assert cookie.secure is secure


def test_sign_in_only_redirects_within_the_site(app: FastAPI, demo_engine: Engine) -> None:
    create_user(demo_engine, "ann", "operator", PASSWORD)
    client = TestClient(app)
    page = client.get("/login?next=//evil.example/x")
    assert "evil" not in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"name": "ann", "password": PASSWORD, "csrf_token": token, "next": "//evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_sign_in_without_the_forms_token_is_refused(app: FastAPI, demo_engine: Engine) -> None:
    create_user(demo_engine, "ann", "operator", PASSWORD)
    client = TestClient(app)
    response = client.post("/login", data={"name": "ann", "password": PASSWORD})
    assert response.status_code == 403
    assert "livehost_session" not in client.cookies


def test_cookie_writes_need_the_csrf_token_bearer_writes_do_not(
    app: FastAPI, demo_engine: Engine
) -> None:
    create_user(demo_engine, "ann", "operator", PASSWORD)
    browser = TestClient(app)
    csrf = sign_in(browser, "ann", PASSWORD)
    catalog = DbCatalog(demo_engine, "demo")

    refused = browser.patch(PRODUCT, json={"price": "1.00"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = browser.patch(PRODUCT, json={"price": "1.00"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    assert catalog.get("LH-001").price == Decimal("399.00")  # type: ignore[union-attr]

    accepted = browser.patch(PRODUCT, json={"price": "359"}, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 200, accepted.text
    assert catalog.get("LH-001").price == Decimal("359.00")  # type: ignore[union-attr]

    script = TestClient(app, headers=auth_headers(demo_engine, "operator"))
    assert script.patch(PRODUCT, json={"stock": 3}).status_code == 200


def test_a_form_upload_carries_the_csrf_token_as_a_field(app: FastAPI, demo_engine: Engine) -> None:
    """The token in a multipart form is read without losing the body the route then reads."""
    create_user(demo_engine, "ann", "merchant", PASSWORD, ["shop"])
    browser = TestClient(app)
    csrf = sign_in(browser, "ann", PASSWORD)
    body = b"sku,name,price\nP-1,cup,10\nP-2,bowl,5\n"
    upload = {"file": ("c.csv", body, "text/csv")}
    refused = browser.post("/api/merchants/shop/imports", files=upload)
    assert refused.status_code == 403
    accepted = browser.post("/api/merchants/shop/imports", files=upload, data={"csrf_token": csrf})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["counts"]["added"] == 2
    assert DbCatalog(demo_engine, "shop").get("P-2") is not None


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    app: FastAPI, demo_engine: Engine
) -> None:
    create_user(demo_engine, "ann", "operator", PASSWORD)
    browser = TestClient(app)
    csrf = sign_in(browser, "ann", PASSWORD)
    cookie = browser.cookies["livehost_session"]
    assert browser.post("/logout", follow_redirects=False).status_code == 403
    out = browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    replay = TestClient(app, cookies={"livehost_session": cookie})
    assert replay.get("/api/me").status_code == 401  # the old cookie is dead on the server


def test_removing_a_user_signs_them_out_and_kills_their_tokens(
    app: FastAPI, demo_engine: Engine
) -> None:
    create_user(demo_engine, "root", "admin", None)
    create_user(demo_engine, "ann", "operator", PASSWORD)
    browser = TestClient(app)
    sign_in(browser, "ann", PASSWORD)
    token = accounts.create_token(demo_engine, "ann-script", "ann")
    script = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert browser.get("/api/me").status_code == script.get("/api/me").status_code == 200
    remove_user(demo_engine, "ann")
    assert browser.get("/api/me").status_code == script.get("/api/me").status_code == 401


def test_a_revoked_token_is_refused_and_its_last_use_was_noted(
    app: FastAPI, demo_engine: Engine
) -> None:
    create_user(demo_engine, "bot", "operator", None)
    token = accounts.create_token(demo_engine, "bridge", "bot")
    assert token.startswith("lh_") and len(token) > 40
    script = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert accounts.list_tokens(demo_engine)[0].last_used_at is None
    me = script.get("/api/me").json()
    assert me["name"] == "bot" and me["via"] == "token" and me["csrf_token"] is None
    assert accounts.list_tokens(demo_engine)[0].last_used_at is not None
    assert revoke_token(demo_engine, "bridge") == "bot"
    refused = script.get("/api/me")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert accounts.list_tokens(demo_engine) == []


def test_tokens_are_stored_only_as_hashes(demo_engine: Engine) -> None:
    create_user(demo_engine, "bot", "operator", "a long password")
    token = accounts.create_token(demo_engine, "bridge", "bot")
    with demo_engine.connect() as connection:
        dump = "\n".join(connection.connection.iterdump())  # type: ignore[attr-defined]
    assert token not in dump and token[3:] not in dump
    assert "a long password" not in dump and "$argon2id$" in dump


@pytest.fixture
def limited(settings: Settings, demo_engine: Engine) -> TestClient:
    strict = settings.model_copy(update={"login_max_failures": 3, "login_window_s": 300})
    create_user(demo_engine, "ann", "operator", PASSWORD)
    return TestClient(create_app(strict, demo_engine))


def try_sign_in(client: TestClient, name: str, password: str) -> Any:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_failed_sign_ins_for_one_name_pause_it_with_retry_after(limited: TestClient) -> None:
    for _ in range(3):
        assert try_sign_in(limited, "ann", "wrong password").status_code == 401
    paused = try_sign_in(limited, "ann", PASSWORD)  # even the right password waits
    assert paused.status_code == 429
    assert 0 < int(paused.headers["Retry-After"]) <= 300
    assert "livehost_session" not in limited.cookies


def test_failed_sign_ins_from_one_address_pause_every_name(limited: TestClient) -> None:
    for name in ("bob", "carl", "dora"):
        assert try_sign_in(limited, name, "guess").status_code == 401
    assert try_sign_in(limited, "ann", PASSWORD).status_code == 429


def test_an_unknown_name_costs_a_password_check_like_a_known_one(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_user(demo_engine, "ann", "operator", PASSWORD)
    checked: list[str] = []
    real = accounts._hasher

    class Spy:
        def verify(self, stored: str, password: str) -> bool:
            checked.append(stored)
            return real.verify(stored, password)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", Spy())
    assert accounts.check_password(demo_engine, "nobody", PASSWORD) is None
    assert accounts.check_password(demo_engine, "ann", "wrong") is None
    assert len(checked) == 2 and all(h.startswith("$argon2id$") for h in checked)


# roles


@pytest.fixture
def clients(app: FastAPI, demo_engine: Engine) -> dict[str, TestClient]:
    people = {
        "admin": ("admin", ()),
        "operator": ("operator", ()),
        "marketer": ("marketer", ()),
        "demo-merchant": ("merchant", ("demo",)),
        "other-merchant": ("merchant", ("other",)),
    }
    return {
        who: TestClient(app, headers=auth_headers(demo_engine, role, merchants, name=who))
        for who, (role, merchants) in people.items()
    }


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [
        ("admin", 200, 200),
        ("operator", 200, 200),
        ("demo-merchant", 200, 200),
        ("marketer", 200, 403),
        ("other-merchant", 403, 403),
    ],
)
def test_each_role_reads_and_changes_only_the_catalogs_it_should(
    clients: dict[str, TestClient], demo_engine: Engine, who: str, read: int, write: int
) -> None:
    client = clients[who]
    for path in (PRODUCT, "/api/merchants/demo/products", "/api/merchants/demo/lineup"):
        assert client.get(path).status_code == read, path
    before = DbCatalog(demo_engine, "demo").get("LH-001")
    assert client.patch(PRODUCT, json={"price": "1.00"}).status_code == write
    lineup = client.put("/api/merchants/demo/lineup", json={"skus": ["LH-002"]})
    assert lineup.status_code == write
    upload = client.post(
        "/api/merchants/demo/imports", files={"file": ("c.csv", b"sku,name,price\nX-1,x,1\n")}
    )
    assert upload.status_code in ((200, 422) if write == 200 else (403,))
    if write != 200:
        assert DbCatalog(demo_engine, "demo").get("LH-001") == before
        assert DbCatalog(demo_engine, "demo").get("X-1") is None
        assert list_changes(demo_engine) == []


def test_changes_record_who_changed_what(
    clients: dict[str, TestClient], demo_engine: Engine
) -> None:
    merchant = clients["demo-merchant"]
    assert merchant.patch(PRODUCT, json={"price": "359", "stock": 7}).status_code == 200
    assert merchant.put("/api/merchants/demo/lineup", json={"skus": ["LH-003"]}).status_code == 200
    rows = list_changes(demo_engine)
    assert [(r.who, r.action, r.target, r.detail) for r in reversed(rows)] == [
        ("demo-merchant", "catalog.price", "merchants/demo/products/LH-001", {"price": "359"}),
        ("demo-merchant", "catalog.stock", "merchants/demo/products/LH-001", {"stock": 7}),
        ("demo-merchant", "lineup.set", "merchants/demo/lineup", {"skus": ["LH-003"]}),
    ]
    upload = clients["operator"].post(
        "/api/merchants/other/imports", files={"file": ("o.csv", b"sku,name,price\nO-1,o,2\n")}
    )
    assert upload.status_code == 200, upload.text
    newest = list_changes(demo_engine, limit=1)[0]
    assert (newest.who, newest.action, newest.target) == (
        "operator",
        "catalog.import",
        "merchants/other/catalog",
    )
    assert newest.detail is not None and newest.detail["counts"]["added"] == 1


def test_the_changes_trail_shows_each_role_what_it_may_see(
    clients: dict[str, TestClient],
) -> None:
    clients["operator"].patch(PRODUCT, json={"stock": 1})
    clients["operator"].post(
        "/api/merchants/other/imports", files={"file": ("o.csv", b"sku,name,price\nO-1,o,2\n")}
    )
    everything = clients["admin"].get("/api/changes").json()
    assert all(c["at"].endswith("+00:00") and c["who"] == "operator" for c in everything)
    assert {c["target"] for c in everything} == {
        "merchants/demo/products/LH-001",
        "merchants/other/catalog",
    }
    mine = clients["other-merchant"].get("/api/changes").json()
    assert [c["target"] for c in mine] == ["merchants/other/catalog"]
    assert clients["other-merchant"].get("/api/changes?target=merchants/demo/").status_code == 403
    assert clients["marketer"].get("/api/changes").json() == []


# streams


STREAM = """name: {name}
merchant: {merchant}
sources:
  - kind: websocket
    token_env: NONE_TOKEN
sinks:
  - kind: mp4
    path: {name}.mp4
"""


class Ended:
    """A finished stream task (what the manager keeps once a stream has ended)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error

    def done(self) -> bool:
        return True

    def cancelled(self) -> bool:
        return False

    def exception(self) -> BaseException | None:
        return self.error


@pytest.fixture
def streams(settings: Settings, tmp_path: Path) -> Settings:
    folder = tmp_path / "streams"
    folder.mkdir()
    for name, merchant in (("north", "demo"), ("south", "other")):
        (folder / f"{name}.yaml").write_text(STREAM.format(name=name, merchant=merchant))
    return settings.model_copy(update={"streams_dir": folder})


def ended_streams(app: FastAPI, settings: Settings, error: str | None = None) -> None:
    from host.session.manager import Managed
    from host.session.spec import load_stream

    manager = app.state.manager
    for name in ("north", "south"):
        path = settings.streams_dir / f"{name}.yaml"
        failure = RuntimeError(error) if error else None
        managed = Managed(load_stream(path), settings, path, Ended(failure))  # type: ignore[arg-type]
        managed.error = error
        manager.streams[name] = managed


def test_merchants_see_and_stop_only_their_own_streams(
    streams: Settings, demo_engine: Engine
) -> None:
    app = create_app(streams, demo_engine)
    ended_streams(app, streams)
    people = {
        "ops": ("operator", ()),
        "demo-merchant": ("merchant", ("demo",)),
        "mk": ("marketer", ()),
    }
    client = {
        who: TestClient(app, headers=auth_headers(demo_engine, role, merchants, name=who))
        for who, (role, merchants) in people.items()
    }
    assert [s["stream"] for s in client["ops"].get("/api/streams").json()] == ["north", "south"]
    assert [s["stream"] for s in client["demo-merchant"].get("/api/streams").json()] == ["north"]
    assert client["demo-merchant"].get("/api/streams/south").status_code == 404
    assert client["demo-merchant"].post("/api/streams/south/stop").status_code == 404
    refused = client["demo-merchant"].post("/api/streams", json={"file": "south.yaml"})
    assert refused.status_code == 404
    assert client["mk"].get("/api/streams").status_code == 403
    assert client["mk"].get("/api/streams/north").status_code == 403
    assert client["demo-merchant"].post("/api/streams/north/stop").status_code == 202
    rows = list_changes(demo_engine)
    assert [(r.who, r.action, r.target) for r in rows] == [
        ("demo-merchant", "stream.stop", "merchants/demo/streams/north")
    ]


def test_a_stream_status_never_carries_a_secret(streams: Settings, demo_engine: Engine) -> None:
    secret = "tok-9f8e7d6c5b4a"
    key = "live_123456789_abcdefghijkl"
    configured = streams.model_copy(
        update={"ingress_tokens": {"north": SecretStr(secret)}, "metrics_token": None}
    )
    app = create_app(configured, demo_engine)
    error = f"push to rtmp://a.rtmp.youtube.com/live2/{key} failed; token {secret} refused"
    ended_streams(app, configured, error)
    client = TestClient(app, headers=auth_headers(demo_engine, "operator"))
    health = TestClient(app).get("/health")  # anyone may read it
    for response in (client.get("/api/streams"), client.get("/api/streams/north"), health):
        text = response.text
        assert response.status_code == 200
        assert "failed" in text and "rtmp://a.rtmp.youtube.com/live2/***" in text
        assert key not in text and secret not in text
        assert str(REPO_ROOT) not in text and str(streams.streams_dir) not in text


# websockets and metrics


def test_a_console_websocket_needs_a_sign_in_from_this_site(
    app: FastAPI, demo_engine: Engine
) -> None:
    @app.websocket("/ws/console-test")
    async def console_feed(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.scope["state"]["principal"].name)
        await websocket.close()

    with pytest.raises(WebSocketDisconnect), TestClient(app).websocket_connect("/ws/console-test"):
        pass
    script = TestClient(app, headers=auth_headers(demo_engine, "operator", name="bot"))
    with script.websocket_connect("/ws/console-test") as ws:
        assert ws.receive_text() == "bot"
    create_user(demo_engine, "ann", "operator", PASSWORD)
    browser = TestClient(app)
    sign_in(browser, "ann", PASSWORD)
    with browser.websocket_connect("/ws/console-test") as ws:
        assert ws.receive_text() == "ann"
    foreign = {"Origin": "https://evil.example"}
    with (
        pytest.raises(WebSocketDisconnect),
        browser.websocket_connect("/ws/console-test", headers=foreign),
    ):
        pass


def test_metrics_takes_its_own_token_when_one_is_set(
    settings: Settings, demo_engine: Engine
) -> None:
    assert TestClient(create_app(settings, demo_engine)).get("/metrics").status_code == 200
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    app = create_app(guarded, demo_engine)
    client = TestClient(app)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200
    operation = app.openapi()["paths"]["/metrics"]["get"]
    assert operation["security"] == [{"metricsToken": []}]


# accounts over the API


def test_admins_manage_users_over_the_api_and_nobody_else_does(
    app: FastAPI, demo_engine: Engine
) -> None:
    admin = TestClient(app, headers=auth_headers(demo_engine, "admin", name="root"))
    operator = TestClient(app, headers=auth_headers(demo_engine, "operator", name="ops"))
    new = {"name": "shop1", "role": "merchant", "password": PASSWORD, "merchants": ["demo"]}
    assert operator.post("/api/users", json=new).status_code == 403
    assert operator.get("/api/users").status_code == 403
    made = admin.post("/api/users", json=new)
    assert made.status_code == 201, made.text
    assert made.json()["merchants"] == ["demo"] and "password" not in made.text
    assert admin.post("/api/users", json=new).status_code == 422  # the name is taken
    bad = admin.post("/api/users", json={**new, "name": "x", "merchants": []})
    assert bad.status_code == 422 and "--merchant" in bad.text
    assert [u["name"] for u in admin.get("/api/users").json()] == ["ops", "root", "shop1"]
    browser = TestClient(app)
    sign_in(browser, "shop1", PASSWORD)
    assert browser.get("/api/me").json()["merchants"] == ["demo"]
    assert operator.delete("/api/users/shop1").status_code == 403
    assert admin.delete("/api/users/shop1").status_code == 204
    assert admin.delete("/api/users/shop1").status_code == 404
    assert browser.get("/api/me").status_code == 401
    trail = [(r.who, r.action, r.target) for r in reversed(list_changes(demo_engine))]
    assert trail == [("root", "user.add", "users/shop1"), ("root", "user.remove", "users/shop1")]


def test_each_user_keeps_their_own_tokens_and_admins_all(app: FastAPI, demo_engine: Engine) -> None:
    admin = TestClient(app, headers=auth_headers(demo_engine, "admin", name="root"))
    operator = TestClient(app, headers=auth_headers(demo_engine, "operator", name="ops"))
    made = operator.post("/api/tokens", json={"name": "ops-bridge"})
    assert made.status_code == 201 and made.json()["user"] == "ops"
    token = made.json()["token"]
    bridge = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert bridge.get("/api/me").json()["name"] == "ops"
    listed = operator.get("/api/tokens").json()
    assert {t["name"] for t in listed} == {"ops-token", "ops-bridge"}
    assert token not in operator.get("/api/tokens").text
    assert len(admin.get("/api/tokens").json()) == 3
    stolen = operator.post("/api/tokens", json={"name": "x", "user": "root"})
    assert stolen.status_code == 403
    assert operator.delete("/api/tokens/root-token").status_code == 404
    assert admin.get("/api/me").status_code == 200
    assert admin.delete("/api/tokens/ops-bridge").status_code == 204
    assert bridge.get("/api/me").status_code == 401
    trail = [(r.who, r.action, r.target) for r in reversed(list_changes(demo_engine))]
    assert trail == [
        ("ops", "token.create", "users/ops/tokens/ops-bridge"),
        ("root", "token.revoke", "users/ops/tokens/ops-bridge"),
    ]


def test_accounts_and_the_trail_work_on_both_databases(engine: Engine) -> None:
    from datetime import timedelta

    from host.changes import record_change

    create_user(engine, "shop_1", "merchant", PASSWORD, ["demo", "a_b"])
    principal = accounts.check_password(engine, "shop_1", PASSWORD)
    assert principal is not None and principal.merchants == frozenset({"demo", "a_b"})
    token = accounts.create_token(engine, "t", "shop_1")
    assert accounts.token_principal(engine, token) == Principal(
        "shop_1", "merchant", frozenset({"demo", "a_b"}), "token"
    )
    cookie, csrf = accounts.start_session(engine, "shop_1", timedelta(hours=1))
    signed = accounts.session_principal(engine, cookie)
    assert signed is not None and signed.csrf_token == csrf
    cookie2, _ = accounts.start_session(engine, "shop_1", timedelta(seconds=-1))
    assert accounts.session_principal(engine, cookie2) is None  # expired
    record_change(engine, "shop_1", "catalog.price", "merchants/a_b/products/X", {"price": "1"})
    record_change(engine, "shop_1", "catalog.price", "merchants/aXb/products/X", {"price": "2"})
    rows = list_changes(engine, target_prefix="merchants/a_b/")  # "_" is not a wildcard
    assert [r.detail for r in rows] == [{"price": "1"}]
    assert list_changes(engine, target_prefix=[]) == []


def test_a_form_too_large_to_hold_its_csrf_token_is_refused(
    settings: Settings, demo_engine: Engine
) -> None:
    capped = settings.model_copy(update={"catalog_max_file_mb": 0.1})
    app = create_app(capped, demo_engine)
    create_user(demo_engine, "ann", "operator", PASSWORD)
    browser = TestClient(app)
    csrf = sign_in(browser, "ann", PASSWORD)
    body = b"sku,name,price\n" + b"P-1,cup,10\n" * 200_000  # 2.2 MB: past the cap + 1 MB
    response = browser.post(
        "/api/merchants/shop/imports",
        files={"file": ("c.csv", body, "text/csv")},
        data={"csrf_token": csrf},
    )
    assert response.status_code == 413
    assert DbCatalog(demo_engine, "shop").get("P-1") is None
