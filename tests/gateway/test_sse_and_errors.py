"""SSE framing and error classification, byte by byte."""

from __future__ import annotations

import email.utils
import time

import pytest

from codearena.gateway.errors import from_body, from_status, parse_retry_after
from codearena.gateway.sse import EventStream


def collect(lines: list[str]) -> list[str]:
    stream = EventStream()
    events = [data for line in lines for data in stream.feed(line.encode() + b"\n")]
    return events + stream.close()


def test_comments_are_skipped_and_done_ends() -> None:
    lines = [
        ": OPENROUTER PROCESSING",
        "",
        'data: {"a": 1}',
        "",
        ": keep-alive",
        "",
        "data: [DONE]",
        "",
        'data: {"late": 1}',
        "",
    ]
    assert collect(lines) == ['{"a": 1}']


def test_multiline_data_and_missing_trailing_blank() -> None:
    assert collect(["data: one", "data: two", "", "event: x", "data:three"]) == [
        "one\ntwo",
        "three",
    ]


def test_crlf_and_other_fields_ignored() -> None:
    assert collect(["id: 5\r", "data: {}\r", "\r", "retry: 100", ""]) == ["{}"]


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    value = parse_retry_after(future)
    assert value is not None and 25 <= value <= 31


def test_error_in_body_with_http_code_is_classified_like_the_status() -> None:
    error = from_body(
        {"error": {"code": 401, "message": "bad key"}},
        provider="openrouter",
        key_env="OPENROUTER_API_KEY",
    )
    assert error.kind == "auth" and "OPENROUTER_API_KEY" in error.message and not error.retryable


def test_moderation_reasons_are_shown() -> None:
    payload = {"error": {"code": 403, "message": "flagged", "metadata": {"reasons": ["violence"]}}}
    error = from_status(403, payload, provider="openrouter", key_env=None, retry_after=None)
    assert "violence" in error.message


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert from_status(status, {}, provider="p", key_env=None, retry_after=None).retryable


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404])
def test_final_statuses(status: int) -> None:
    assert not from_status(status, {}, provider="p", key_env=None, retry_after=None).retryable
