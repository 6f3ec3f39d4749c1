"""Errors of the web platform: JSON ``{"error": message}`` for the API, a page for browsers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """A failure with a message for the user; nothing was changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(ApiError):
    def __init__(self, message: str = "sign in first") -> None:
        super().__init__(401, message)


class Forbidden(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(403, message)


class ConsentRequired(ApiError):
    def __init__(self) -> None:
        super().__init__(403, "read and accept the consent text first (/consent)")


class NotFound(ApiError):
    def __init__(self, what: str = "not found") -> None:
        super().__init__(404, what)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def _describe(errors: Any) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "invalid request: " + "; ".join(parts)


def install(app: FastAPI, page: Any) -> None:
    """Register the handlers; ``page(request, status, message)`` renders the HTML error page."""

    def respond(request: Request, status: int, message: str) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": message}, status_code=status)
        if status == 401:
            return RedirectResponse("/login", status_code=303)
        if status == 403 and message == ConsentRequired().message:
            return RedirectResponse("/consent", status_code=303)
        response: Response = page(request, status, message)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return respond(request, exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, 422, _describe(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return respond(request, exc.status_code, str(exc.detail))
