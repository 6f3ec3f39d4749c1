"""Upstream failures turned into one clear message per model."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 520, 522, 524, 529})


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


def error_fields(payload: Any) -> tuple[Any, str]:
    """``(code, message)`` from ``{"error": {"code", "message"}}`` or a bare string."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or "no message")
        metadata = error.get("metadata")
        if isinstance(metadata, dict) and metadata.get("reasons"):
            message += f" (reasons: {', '.join(map(str, metadata['reasons']))})"
        return error.get("code"), message
    if isinstance(error, str):
        return None, error
    return None, "no error message"


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


def from_status(
    status: int, payload: Any, *, provider: str, key_env: str | None, retry_after: float | None
) -> UpstreamError:
    """The error for an HTTP status (or a status-like code inside a 200 body)."""
    _, detail = error_fields(payload)
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
    if status == 429:
        return UpstreamError(
            "rate_limited",
            f"rate limited by {provider} ({detail}); wait and retry, or lower the concurrency",
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
    code, detail = error_fields(payload)
    status = code if isinstance(code, int) else None
    if status is not None and 400 <= status <= 599:
        return from_status(status, payload, provider=provider, key_env=key_env, retry_after=None)
    label = f"{code}: " if code else ""
    return UpstreamError("stream_error", f"upstream error ({label}{detail})", None, True)
