"""Errors of the web platform: JSON ``{"error": message}`` for the API, a page for browsers.

:func:`translate` is the one place a domain error becomes an HTTP status: the studies' error
tree (``codearena.studies.errors``) by class, the coding workbench's by its ``status``. The
app's handlers use it for an error a route lets through, and a form route that shows the error
in its own page uses it too, so a form and its JSON twin answer the same status and message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from codearena.coding.errors import CodingError
from codearena.studies.errors import (
    Busy,
    Conflict,
    NotAllowed,
    RunUnavailable,
    StudyError,
    UnknownItem,
)

DomainError = StudyError | CodingError
Input = TypeVar("Input", bound=BaseModel)

# most specific first: the first class an error is an instance of gives its status
STUDY_STATUS: tuple[tuple[type[StudyError], int], ...] = (
    (UnknownItem, 404),
    (NotAllowed, 403),
    (Conflict, 409),
    (Busy, 429),
    (RunUnavailable, 503),
    (StudyError, 400),
)


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


def translate(exc: ApiError | DomainError) -> ApiError:
    """The HTTP status and message of a domain error (an :class:`ApiError` is one already)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, CodingError):
        return ApiError(exc.status, str(exc))
    status = next(code for kind, code in STUDY_STATUS if isinstance(exc, kind))
    return ApiError(status, str(exc))


def validate(model: type[Input], data: Mapping[str, Any]) -> Input:
    """A form's fields through the input model of its JSON twin; invalid input is the 422 with
    the message FastAPI's body validation gives the same values."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, describe(exc.errors())) from None


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def describe(errors: Any) -> str:
    """Pydantic's errors as one line: ``invalid request: field: message; ...``."""
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

    @app.exception_handler(StudyError)
    @app.exception_handler(CodingError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        error = translate(exc)
        return respond(request, error.status, error.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, 422, describe(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return respond(request, exc.status_code, str(exc.detail))
