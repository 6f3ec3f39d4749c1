"""The FastAPI application: participant and researcher pages, the JSON API, ``/healthz``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

import codearena.store.platform_models  # noqa: F401  (the platform's tables)
from codearena import __version__
from codearena.analysis import display
from codearena.asgi.access_log import AccessLog
from codearena.asgi.body_limit import BodyLimit
from codearena.asgi.security import SECURITY_HEADERS, SecurityHeaders
from codearena.config import with_concurrency
from codearena.gateway import Gateway
from codearena.openai_api import router as openai_api
from codearena.pipeline import Context
from codearena.studies.invites import platform_secret
from codearena.web import api, apidocs, coding, dashboard, errors, pages
from codearena.web.limits import PlatformLimits
from codearena.web.state import STATIC, TEMPLATES, Platform, SharedSandbox
from codearena.web.tasks import mark_interrupted

__all__ = ["SECURITY_HEADERS", "create_app"]
SHUTDOWN_GRACE_S = 5.0


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters.update(display.FILTERS)  # the report's formatters, so both show the same text
    return env


class CodearenaApp(FastAPI):
    """FastAPI with codearena's own layers outside all of FastAPI's: the OpenAI-compatible
    endpoint's two routes (:class:`~codearena.openai_api.router.DirectRoutes`) are answered
    before FastAPI's ``__call__`` (its telemetry check, routing and middleware), on plain ASGI
    messages, with the same access log line, security headers and body limit as the rest;
    everything else goes through the access log, the security headers and the limit on
    request bodies (``[web] max_request_mb``) around FastAPI's stack, where a body over the
    limit is answered by the app's error handlers."""

    direct: openai_api.DirectRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = openai_api.DirectRoutes.handler(scope)
        if handler is not None and self.direct is not None:
            await self.direct.answer(handler, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        megabytes = self.state.context.settings.web.max_request_mb
        return AccessLog(SecurityHeaders(BodyLimit(super().build_middleware_stack(), megabytes)))


def create_app(
    context: Context,
    *,
    limits: PlatformLimits | None = None,
) -> FastAPI:
    shared = SharedSandbox(
        context.settings.sandbox
    )  # the configured backend, for the app's lifetime
    platform = Platform(
        context=context,
        secret=platform_secret(context.store),
        limits=limits or PlatformLimits(),
        sandbox_factory=shared,
        templates=templates(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        platform.gateway = Gateway(context.settings, context.catalog)
        # the endpoint's own gateway: its clients bring their own concurrency (and their
        # tokens' rates); the providers' batch limits would queue them ([web] api_concurrency)
        platform.api_gateway = Gateway(
            with_concurrency(context.settings, context.settings.web.api_concurrency),
            context.catalog,
        )
        mark_interrupted(platform)
        _app.state.openai_api.sweep()  # calls a stopped server left pending
        try:
            yield
        finally:
            running = list(platform.background)
            if running:
                _, unfinished = await asyncio.wait(running, timeout=SHUTDOWN_GRACE_S)
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)
            await platform.gateway.aclose()
            platform.gateway = None
            await platform.api_gateway.aclose()
            platform.api_gateway = None
            await _app.state.openai_api.writer.aclose()  # what is queued, written
            shared.close()

    app = CodearenaApp(
        title="codearena",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served by apidocs with local assets
        redoc_url=None,
        description="Web platform of codearena: studies, tasks streamed from many models, "
        "sandboxed runs, ratings, blind votes and surveys. Every state-changing request needs "
        'the X-CSRF-Token header (GET /api/session gives it). Errors are {"error": message}.',
    )
    app.state.context = context
    app.state.platform = platform
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    apidocs.install(app)
    errors.install(app, pages.error_page)
    # the OpenAI-compatible endpoint (/v1): its own tokens and error format; its two routes are
    # answered by `direct` before FastAPI, and declared on the router for /docs and the 405s
    app.state.openai_api = openai_api.ApiService(context, lambda: platform.api_gateway)
    app.direct = openai_api.DirectRoutes(app.state.openai_api, context.settings.web.max_request_mb)
    app.include_router(openai_api.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(dashboard.router)
    app.include_router(coding.router)

    @app.get("/healthz", tags=["health"])
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

    return app
