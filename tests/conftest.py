"""Shared fixtures: real databases (a SQLite file, a fresh PostgreSQL one) and the demo catalog."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from host.catalog.store import DbCatalog, ensure_demo_catalog
from host.config import REPO_ROOT, Settings
from host.db.engine import make_engine, sqlite_file
from host.db.migrate import migrated_engine

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """Under CI (CI set, as .ci/run does), a skip is a failure.

    Tests skip where a service or extra is missing on a developer's machine (PostgreSQL,
    nginx with the RTMP module, Coqui, the emoji font); CI installs and starts all of them,
    so a skip there means a test it is meant to run did not run.
    """
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {reason}"


@pytest.fixture(autouse=True)
def root_logging() -> Iterator[None]:
    """No root handler left writing to a closed stream: a command run through Typer's runner
    sets up logging on the runner's stderr, which is closed when the command returns, and a
    thread of a later test logging there would print "Logging error" tracebacks instead."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(getattr(handler, "stream", None), "closed", False):
            root.removeHandler(handler)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: database and runtime files under tmp_path, nothing from `.env`."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'livehost.db'}",
        var_dir=tmp_path / "var",
        products_dir=REPO_ROOT / "products",
        demo_merchant="demo",
    )


@contextmanager
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database created for one test and dropped after it; yields its name."""
    name = f"livehost_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc.__class__.__name__})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # after outages
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL database created for this test only."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with postgres_database() as name:
        yield POSTGRES_URL.format(name=name)


@pytest.fixture
def postgres_name() -> Iterator[str]:
    """A fresh PostgreSQL database's name, for tests about PostgreSQL alone (outages, limits)."""
    with postgres_database() as name:
        yield name


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated, empty database on each backend."""
    engine = migrated_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and loaded with the demo catalog once; tests get copies of it."""
    path = tmp_path_factory.mktemp("demo-template") / "livehost.db"
    url = f"sqlite:///{path}"
    engine = migrated_engine(url)
    ensure_demo_catalog(
        engine,
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url,
            products_dir=REPO_ROOT / "products",
            demo_merchant="demo",
        ),
    )
    engine.dispose()  # checkpoints the WAL, so the .db file alone is complete
    return path


@pytest.fixture
def demo_engine(settings: Settings, demo_template: Path) -> Iterator[Engine]:
    """A migrated SQLite file (settings.database_url) with the demo catalog for merchant "demo"."""
    path = sqlite_file(settings.database_url)
    assert path is not None
    shutil.copyfile(demo_template, path)
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_catalog(demo_engine: Engine, settings: Settings) -> DbCatalog:
    return DbCatalog(demo_engine, settings.demo_merchant)


@pytest.fixture
def photo_avatar(settings: Settings, tmp_path: Path) -> str:
    """A photo avatar made from scikit-image's public-domain astronaut, stored in `settings`."""
    import cv2
    from skimage import data

    from host.db.migrate import migrated_engine
    from host.face.avatars import create_avatar

    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    create_avatar(settings, migrated_engine(settings.database_url), photo, "eileen", "test fixture")
    return "eileen"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A Redis server of this test's own, on a free port, with a password (the system one on
    6379 has none and is left alone); yields its URL with the password."""
    import secrets
    import socket
    import subprocess
    import time

    import redis

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    password = secrets.token_hex(16)
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(10)
