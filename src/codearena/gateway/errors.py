"""Upstream failures turned into one clear message per model.

Every error body a provider sends is read here (``parse_error``), whatever its shape:

* OpenAI / OpenRouter / Groq / Together / DeepSeek / Hugging Face: ``{"error": {"message",
  "type", "code"}}`` (OpenRouter adds ``metadata.reasons``);
* Hugging Face (some routes): ``{"error": "text"}``, with ``estimated_time`` while a model loads;
* Anthropic: ``{"type": "error", "error": {"type": "overloaded_error", "message"}}``; its types
  stand for statuses (``overloaded_error`` is HTTP 529, retryable), also inside a stream;
* Gemini's OpenAI compatibility: a JSON *list* ``[{"error": {"code", "message", "status",
  "details"}}]``; ``details`` may hold the reason (``API_KEY_INVALID``, sent with HTTP 400) and a
  ``RetryInfo`` with ``retryDelay: "13s"``;
* Mistral: the error at the top level, ``{"object": "error", "message", "type", "code"}``, where
  ``message`` may itself be a pydantic ``{"detail": [{"loc", "msg"}]}`` (a 422), or
  ``{"message": "Unauthorized"}`` for a bad key.

``from_status`` turns a status and its body into an ``UpstreamError`` (kind, message saying what
to do, retry decision), with the providers' own statuses: 529 (Anthropic: overloaded), 498 (Groq:
flex capacity exceeded), 402 (out of credits: DeepSeek's insufficient balance, Hugging Face's
monthly credits), 422 (invalid parameters), 413 (request too large).
"""

from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass
from typing import Any

RETRYABLE_STATUS = frozenset({408, 429, 498, 500, 502, 503, 504, 520, 522, 524, 529})

# Anthropic's error types, the status each stands for (they also arrive inside a 200 stream).
_TYPE_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
# Google's canonical status names (Gemini), the HTTP status each is sent with.
_GOOGLE_STATUS: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


@dataclass
class UpstreamError(Exception):
    """A failed call: ``kind`` is a short code, ``message`` says what to do."""

    kind: str
    message: str
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ErrorDetail:
    """What an error body says, whichever provider's shape it came in."""

    message: str
    code: Any = None  # error.code: an HTTP status (OpenRouter, Gemini) or a name
    type: str | None = None  # error.type (Anthropic's stand for statuses)
    status: str | None = None  # Google's canonical status (RESOURCE_EXHAUSTED)
    reason: str | None = None  # Google's ErrorInfo reason (API_KEY_INVALID)
    retry_after: float | None = None  # Google's RetryInfo, Hugging Face's estimated_time

    def implied_status(self) -> int | None:
        """The HTTP status the body names: its numeric code, else its type or status name."""
        code = self.code
        if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
            return code
        if self.status in _GOOGLE_STATUS:
            return _GOOGLE_STATUS[self.status]
        if self.type in _TYPE_STATUS:
            return _TYPE_STATUS[self.type]
        return None


def _text(value: Any) -> str:
    """A message that may be a string or a pydantic ``{"detail": [{"loc", "msg"}]}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "detail" in value:
        return _text(value["detail"])
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict) and "msg" in item:
                loc = ".".join(str(p) for p in item.get("loc") or ())
                parts.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
            elif isinstance(item, str):
                parts.append(item)
        return "; ".join(parts)
    return ""


def _seconds(value: Any) -> float | None:
    """``13``, ``13.5`` or Google's duration ``"13s"`` as seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return max(0.0, float(value))
    if isinstance(value, str) and (match := re.fullmatch(r"\s*(\d+(?:\.\d+)?)s?\s*", value)):
        return float(match.group(1))
    return None


def parse_error(payload: Any) -> ErrorDetail:
    """The error in a body of any provider's shape (see the module docstring)."""
    if isinstance(payload, list):  # Gemini: [{"error": {...}}]
        payload = next((item for item in payload if isinstance(item, dict)), {})
    if not isinstance(payload, dict):
        return ErrorDetail("no error message")
    error = payload.get("error")
    if isinstance(error, str):
        return ErrorDetail(
            error or "no message", retry_after=_seconds(payload.get("estimated_time"))
        )
    if isinstance(error, dict):
        source = error
    elif any(key in payload for key in ("message", "detail")):  # Mistral: at the top level
        source = payload
    else:
        return ErrorDetail("no error message")
    message = _text(source.get("message")) or _text(source.get("detail")) or "no message"
    metadata = source.get("metadata")
    if isinstance(metadata, dict) and metadata.get("reasons"):
        message += f" (reasons: {', '.join(map(str, metadata['reasons']))})"
    reason, retry_after = None, _seconds(payload.get("estimated_time"))
    for item in source.get("details") or ():
        if isinstance(item, dict):
            reason = reason or (item.get("reason") if isinstance(item.get("reason"), str) else None)
            retry_after = _first(retry_after, _seconds(item.get("retryDelay")))
    kind = source.get("type")
    status = source.get("status")
    return ErrorDetail(
        message,
        source.get("code"),
        kind if isinstance(kind, str) else None,
        status if isinstance(status, str) else None,
        reason,
        retry_after,
    )


def _first(a: float | None, b: float | None) -> float | None:
    return a if a is not None else b


def error_fields(payload: Any) -> tuple[Any, str]:
    """``(code, message)`` of an error body of any provider's shape."""
    detail = parse_error(payload)
    return detail.code, detail.message


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def redact(text: str, secret: str | None) -> str:
    """``text`` without ``secret`` (an upstream may echo the key it refused)."""
    if not secret or len(secret) < 4:
        return text
    return text.replace(secret, "***")


def from_status(
    status: int, payload: Any, *, provider: str, key_env: str | None, retry_after: float | None
) -> UpstreamError:
    """The error for an HTTP status (or a status-like code inside a 200 body)."""
    error = parse_error(payload)
    detail = error.message
    retry_after = _first(retry_after, error.retry_after)
    lowered = detail.lower()
    if status == 400 and (error.reason == "API_KEY_INVALID" or "api key not valid" in lowered):
        status = 401  # Gemini refuses a bad key with 400 INVALID_ARGUMENT
    if status == 400 and "credit balance is too low" in lowered:
        status = 402  # Anthropic reports an empty balance as a 400 invalid_request_error
    retryable = status in RETRYABLE_STATUS
    if status == 401:
        hint = f"check {key_env}" if key_env else f"check the credentials of provider '{provider}'"
        return UpstreamError("auth", f"authentication failed ({detail}): {hint}", status)
    if status == 402:
        return UpstreamError(
            "credits",
            f"out of credits ({detail}): add credits to the {provider} account or choose a free model",
            status,
        )
    if status == 403:
        return UpstreamError("forbidden", f"request refused by {provider} ({detail})", status)
    if status == 404:
        return UpstreamError(
            "not_found", f"model or endpoint not found at {provider} ({detail})", status
        )
    if status == 408:
        return UpstreamError(
            "timeout", f"{provider} timed out the request ({detail})", status, True
        )
    if status == 413:
        return UpstreamError(
            "bad_request",
            f"request too large for {provider} (HTTP 413: {detail}); send a shorter prompt",
            status,
        )
    if status == 422:
        return UpstreamError(
            "bad_request",
            f"{provider} refused the request's parameters (HTTP 422: {detail})",
            status,
        )
    if status == 429:
        return UpstreamError(
            "rate_limited",
            f"rate limited by {provider} ({detail}); wait and retry, or lower the concurrency",
            status,
            True,
            retry_after,
        )
    if status == 498:
        return UpstreamError(
            "unavailable",
            f"{provider} has no capacity for the request now (HTTP 498: {detail}); "
            "retry later or use a fallback",
            status,
            True,
            retry_after,
        )
    if status == 529 or error.type == "overloaded_error":
        return UpstreamError(
            "unavailable",
            f"{provider} is overloaded (HTTP {status}: {detail}); retry later or use a fallback",
            status,
            True,
            retry_after,
        )
    if status >= 500:
        return UpstreamError(
            "unavailable",
            f"{provider} or its upstream is unavailable (HTTP {status}: {detail})",
            status,
            retryable,
            retry_after,
        )
    return UpstreamError("bad_request", f"bad request (HTTP {status}: {detail})", status)


def from_body(payload: Any, *, provider: str, key_env: str | None) -> UpstreamError:
    """The error for an ``error`` object inside a 200 body or a streamed chunk."""
    error = parse_error(payload)
    status = error.implied_status()
    if status is not None:
        return from_status(status, payload, provider=provider, key_env=key_env, retry_after=None)
    label = f"{error.code}: " if error.code else ""
    return UpstreamError("stream_error", f"upstream error ({label}{error.message})", None, True)


def error_in(chunk: Any, *, provider: str, key_env: str | None) -> UpstreamError | None:
    """The error a streamed chunk or a 200 body carries, if any: an ``error`` member (every
    provider; Anthropic's ``{"type": "error", "error": ...}``) or Gemini's list of errors."""
    if isinstance(chunk, list):
        for item in chunk:
            if isinstance(item, dict) and item.get("error"):
                return from_body(item, provider=provider, key_env=key_env)
        return None
    if isinstance(chunk, dict) and (chunk.get("error") or chunk.get("type") == "error"):
        return from_body(chunk, provider=provider, key_env=key_env)
    return None
