"""``/docs`` (Swagger UI) and ``/redoc`` served with their assets, so they work offline.

The scripts and styles come from the ``fastapi-offline`` package's static files (Swagger UI is
Apache-2.0, ReDoc and the package MIT), mounted at ``/docs/assets``; Swagger UI's start-up script
is ``/static/swagger-init.js``, which reads the OpenAPI address from ``data-url``, so the pages
need no inline script and no CDN.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import escape

ASSETS = Path(str(files("fastapi_offline") / "static"))
ASSETS_URL = "/docs/assets"


def install(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their assets to an app made with ``docs_url=None`` and
    ``redoc_url=None``."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    title = escape(app.title)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title} - Swagger UI</title>"
            f'<link rel="icon" href="{ASSETS_URL}/favicon.png">'
            f'<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">'
            "</head><body>"
            f'<div id="swagger-ui" data-url="{escape(openapi_url)}"></div>'
            f'<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>'
            '<script src="/static/swagger-init.js"></script>'
            "</body></html>\n"
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
