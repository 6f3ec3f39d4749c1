"""OpenAI's error format (``{"error": {"message", "type", "code"}}``) and the gateway's failure
kinds (``gateway/errors.py``, ``gateway/client.py``) mapped to it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from codearena.gateway import CallResult


@dataclass
class ApiError(Exception):
    """A request refused or failed, as OpenAI would answer it."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def body(self) -> bytes:
        error = {"message": self.message, "type": self.type, "param": None, "code": self.code}
        return json.dumps({"error": error}).encode()


def invalid(message: str, code: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", code)


_SERVER_SIDE = "the server's provider account is not usable; tell the server's operator"
# kind -> (HTTP status, OpenAI error type, code); the message is the gateway's own unless the
# failure is the server's configuration (then the client learns nothing about the keys).
KINDS: dict[str, tuple[int, str, str]] = {
    "bad_request": (400, "invalid_request_error", "bad_request"),
    "unknown_model": (404, "invalid_request_error", "model_not_found"),
    "not_found": (404, "invalid_request_error", "model_not_found"),
    "forbidden": (403, "permission_error", "upstream_refused"),
    "rate_limited": (429, "rate_limit_exceeded", "upstream_rate_limited"),
    "credits": (502, "upstream_error", "upstream_out_of_credits"),
    "auth": (502, "upstream_error", "upstream_auth_failed"),
    "missing_key": (502, "upstream_error", "upstream_auth_failed"),
    "config": (502, "upstream_error", "upstream_auth_failed"),
    "timeout": (504, "timeout", "upstream_timeout"),
    "first_token_timeout": (504, "timeout", "upstream_timeout"),
    "connect": (502, "upstream_error", "upstream_unreachable"),
    "unavailable": (502, "upstream_error", "upstream_unavailable"),
    "cut": (502, "upstream_error", "upstream_cut"),
    "stream_error": (502, "upstream_error", "upstream_stream_error"),
}
_HIDDEN = frozenset({"auth", "missing_key", "config"})


def from_result(result: CallResult) -> ApiError:
    """The error a failed call is answered with."""
    kind = result.error_kind or "internal"
    status, type_, code = KINDS.get(kind, (500, "server_error", "internal_error"))
    if kind in _HIDDEN:
        message = f"{_SERVER_SIDE} ({kind.replace('_', ' ')})"
    else:
        message = result.error or "the call failed"
    return ApiError(status, message, type_, code)
