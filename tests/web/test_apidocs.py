"""/docs and /redoc load every script and style from codearena itself, under a CSP without inline
scripts, so they work offline."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Arena

ASSET = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_assets_are_local(arena: Arena, path: str) -> None:
    client = await arena.client()
    page = await client.get(path)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    urls = ASSET.findall(page.text)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
    assert "<script>" not in page.text  # no inline script: each <script> has a src
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "http" not in csp and "unsafe-eval" not in csp


async def test_swagger_ui_starts_from_a_static_script(arena: Arena) -> None:
    client = await arena.client()
    page = (await client.get("/docs")).text
    assert 'data-url="/openapi.json"' in page
    assert '<script src="/static/swagger-init.js"></script>' in page
    init = await client.get("/static/swagger-init.js")
    assert init.status_code == 200 and "SwaggerUIBundle" in init.text
    assert (await client.get("/openapi.json")).status_code == 200
