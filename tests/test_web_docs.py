"""The API pages work offline: /docs and /redoc load only assets the app itself serves."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from host.config import Settings
from host.web.app import create_app
from tests.accounts import auth_headers

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture
def client(settings: Settings, demo_engine: Engine) -> TestClient:
    return TestClient(create_app(settings, demo_engine), headers=auth_headers(demo_engine))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_pages_reference_only_local_assets_and_they_are_served(
    client: TestClient, page: str
) -> None:
    html = client.get(page)
    assert html.status_code == 200
    urls = [a or b for a, b in ASSET.findall(html.text)]
    assert urls, html.text
    assert not [u for u in urls if "//" in u], "a page loads something from another host"
    assert "googleapis" not in html.text and "cdn" not in html.text.lower()
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    assert any(len(client.get(u).content) > 100_000 for u in scripts)  # the real bundle


def test_the_openapi_schema_the_page_reads_is_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "livehost"
    assert "/health" in schema["paths"]
    assert not any(path.startswith("/docs") for path in schema["paths"])
