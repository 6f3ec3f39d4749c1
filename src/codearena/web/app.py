"""The FastAPI application (participant and researcher pages arrive with the web issue)."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from codearena import __version__
from codearena.pipeline import Context

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(context: Context) -> FastAPI:
    app = FastAPI(title="codearena", version=__version__)
    app.state.context = context

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with context.store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # report, never crash the probe
            database = f"error: {type(exc).__name__}"
        body: dict[str, Any] = {
            "status": "ok" if database == "ok" else "degraded",
            "version": __version__,
            "database": database,
        }
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        providers = context.settings.providers.values()
        rows = "".join(
            f"<li>{escape(p.name)}: {'ready' if p.has_key else 'missing key: set ' + escape(p.key_env or '')}</li>"
            for p in providers
        )
        configured = any(p.has_key for p in providers if p.needs_key)
        hint = (
            ""
            if configured
            else (
                "<p>No API key is configured. Stop the server, run "
                "<code>export OPENROUTER_API_KEY=sk-or-...</code> (or <code>OPENAI_API_KEY</code>, "
                "or start Ollama), and start it again.</p>"
            )
        )
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>codearena</title></head>"
            f"<body><h1>codearena {escape(__version__)}</h1>{hint}<h2>Providers</h2><ul>{rows}</ul>"
            "</body></html>"
        )
        return HTMLResponse(page, headers=SECURITY_HEADERS)

    return app
