"""Accounts from the command line (`host user ...`, `host token ...`), and how the server
listens: never beyond the machine in clear text, TLS served for real, a proxy's scheme trusted."""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from host.accounts import create_user, list_users
from host.changes import list_changes
from host.cli import app
from host.config import REPO_ROOT, Settings
from host.db.migrate import migrated_engine
from host.errors import HostError
from host.web.app import create_app
from host.web.listen import listen_options
from host.web.server import serving

runner = CliRunner()
PASSWORD = "correct horse battery"


@pytest.fixture
def env_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The database the CLI uses (DATABASE_URL), in a folder without a .env."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ROOT_PASSWORD", PASSWORD)
    return migrated_engine(url)


def host(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_the_first_admin_and_a_merchant_are_added_from_the_command_line(
    env_engine: Engine,
) -> None:
    code, _, err = host("user", "add", "root", "--role", "admin", "--password-env", "ROOT_PASSWORD")
    assert code == 0, err
    code, _, err = host(
        "user",
        "add",
        "shop1",
        "--role",
        "merchant",
        "--merchant",
        "demo",
        "--merchant",
        "b",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert code == 0, err
    assert [(u.name, u.role, u.merchants) for u in list_users(env_engine)] == [
        ("root", "admin", ()),
        ("shop1", "merchant", ("demo", "b")),
    ]
    code, out, _ = host("user", "list")
    assert code == 0 and "shop1" in out and "demo, b" in out
    actions = [(r.action, r.target) for r in reversed(list_changes(env_engine))]
    assert actions == [("user.add", "users/root"), ("user.add", "users/shop1")]
    assert all(r.who.startswith("cli:") for r in list_changes(env_engine))


@pytest.mark.parametrize(
    ("args", "input", "message"),
    [
        (["--role", "merchant"], f"{PASSWORD}\n{PASSWORD}\n", "needs --merchant"),
        (["--role", "boss"], f"{PASSWORD}\n{PASSWORD}\n", "role 'boss'"),
        (["--role", "admin", "--password-env", "NOT_SET"], None, "NOT_SET is not set"),
        (["--role", "admin"], "short\nshort\n", "too short"),
        (["--role", "admin"], f"{PASSWORD}\nsomething else\n", "Aborted"),
    ],
)
def test_bad_user_input_is_one_line_and_adds_nobody(
    env_engine: Engine, args: list[str], input: str | None, message: str
) -> None:
    code, _, err = host("user", "add", "ann", *args, input=input)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert list_users(env_engine) == []


def test_a_token_is_printed_once_listed_by_name_and_revoked(
    env_engine: Engine, settings: Settings
) -> None:
    host("user", "add", "root", "--role", "admin", "--password-env", "ROOT_PASSWORD")
    code, out, err = host("token", "create", "bridge", "--user", "root")
    assert code == 0, err
    token = out.strip()
    assert re.fullmatch(r"lh_[A-Za-z0-9_-]{40,}", token) and "shown once" in err
    code, out, _ = host("token", "list")
    assert code == 0 and "bridge" in out and "root" in out and token not in out
    api = TestClient(create_app(settings, env_engine), headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/me").json()["name"] == "root"
    assert host("token", "revoke", "bridge")[0] == 0
    assert api.get("/api/me").status_code == 401
    code, _, err = host("token", "revoke", "bridge")
    assert code == 1 and "no token 'bridge'" in err
    assert host("token", "create", "x", "--user", "nobody")[2].startswith("error: no user")


def test_the_last_admin_cannot_be_removed(env_engine: Engine) -> None:
    host("user", "add", "root", "--role", "admin", "--password-env", "ROOT_PASSWORD")
    code, _, err = host("user", "remove", "root")
    assert code == 1 and "last admin" in err
    host("user", "add", "ops", "--role", "admin", "--password-env", "ROOT_PASSWORD")
    assert host("user", "remove", "root")[0] == 0
    assert [u.name for u in list_users(env_engine)] == ["ops"]


# listening


@pytest.mark.parametrize("command", ["serve", "run"])
def test_a_public_address_without_tls_is_refused_in_one_line(
    env_engine: Engine, command: str
) -> None:
    args = ["serve"] if command == "serve" else ["run", str(REPO_ROOT / "streams/websocket.yaml")]
    code, _, err = host(*args, "--host", "0.0.0.0", "--port", "1")
    assert code == 1
    assert err.startswith("error: refusing to listen on 0.0.0.0 without TLS")
    assert len(err.strip().splitlines()) == 1


def test_listen_options_need_tls_or_a_proxy_off_loopback(
    settings: Settings, tmp_path: Path
) -> None:
    assert listen_options("127.0.0.1", settings) == {"proxy_headers": False}
    assert listen_options("::1", settings) == {"proxy_headers": False}
    behind = listen_options("0.0.0.0", settings, behind_proxy=True)
    assert behind == {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1"}
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    tls = listen_options("10.1.2.3", settings, certfile=cert, keyfile=key)
    assert tls["ssl_certfile"] == str(cert) and tls["ssl_keyfile"] == str(key)
    from_settings = settings.model_copy(update={"ssl_certfile": cert, "ssl_keyfile": key})
    assert listen_options("0.0.0.0", from_settings)["ssl_keyfile"] == str(key)
    with pytest.raises(HostError, match="go together"):
        listen_options("127.0.0.1", settings, certfile=cert)
    with pytest.raises(HostError, match="no such file"):
        listen_options("127.0.0.1", settings, certfile=cert, keyfile=tmp_path / "none.pem")
    with pytest.raises(HostError, match="refusing"):
        listen_options("example.com", settings)


def self_signed(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def session_cookie_header(base: str, verify: ssl.SSLContext | bool, extra: dict[str, str]) -> str:
    """Sign in over real HTTP(S) and return the Set-Cookie header of the session."""
    with httpx.Client(base_url=base, verify=verify, headers=extra) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        form = client.cookies.jar  # sent back by hand: a Secure cookie behind a test "proxy"
        cookie = next(c for c in form if c.name == "livehost_session_login")
        response = client.post(
            "/login",
            data={"name": "ann", "password": PASSWORD, "csrf_token": token},
            headers={"Cookie": f"{cookie.name}={cookie.value}"},
        )
        assert response.status_code == 303, response.text
        return next(v for v in response.headers.get_list("set-cookie") if "livehost_session=" in v)


def test_tls_is_served_and_the_session_cookie_is_secure(
    settings: Settings, demo_engine: Engine, tmp_path: Path
) -> None:
    create_user(demo_engine, "ann", "operator", PASSWORD)
    cert, key = self_signed(tmp_path)
    options = listen_options("127.0.0.1", settings, certfile=cert, keyfile=key)

    async def scenario() -> str:
        async with serving(create_app(settings, demo_engine), "127.0.0.1", 0, **options) as port:
            return await asyncio.to_thread(
                session_cookie_header,
                f"https://127.0.0.1:{port}",
                ssl.create_default_context(cafile=cert),
                {},
            )

    assert "secure" in asyncio.run(scenario()).lower()


@pytest.mark.parametrize("behind_proxy", [True, False])
def test_behind_a_proxy_its_forwarded_scheme_makes_the_cookie_secure(
    settings: Settings, demo_engine: Engine, behind_proxy: bool
) -> None:
    create_user(demo_engine, "ann", "operator", PASSWORD)
    options = listen_options("127.0.0.1", settings, behind_proxy=behind_proxy)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

    async def scenario() -> str:
        async with serving(create_app(settings, demo_engine), "127.0.0.1", 0, **options) as port:
            return await asyncio.to_thread(
                session_cookie_header, f"http://127.0.0.1:{port}", False, forwarded
            )

    assert ("secure" in asyncio.run(scenario()).lower()) is behind_proxy


def test_a_new_password_signs_the_users_browsers_out(
    env_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.accounts import sign_in

    host("user", "add", "ann", "--role", "operator", "--password-env", "ROOT_PASSWORD")
    api = create_app(settings, env_engine)
    browser = TestClient(api)
    sign_in(browser, "ann", PASSWORD)
    monkeypatch.setenv("NEW_PASSWORD", "another long one")
    code, _, err = host("user", "passwd", "ann", "--password-env", "NEW_PASSWORD")
    assert code == 0, err
    assert browser.get("/api/me").status_code == 401
    sign_in(TestClient(api), "ann", "another long one")
    assert host("user", "passwd", "bob", "--password-env", "NEW_PASSWORD")[2].startswith(
        "error: no user 'bob'"
    )
