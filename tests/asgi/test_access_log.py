"""The access log: uvicorn's line, written once a request is done (asgi/access_log.py)."""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from codearena.asgi.access_log import ACCESS_LOGGER, AccessLog
from codearena.web.auth import redact_invites_in_access_log


class _Order(logging.Handler):
    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(f"log {record.getMessage()}")


def _app(events: list[str]) -> AccessLog:
    async def answer(request: Request) -> PlainTextResponse:
        events.append("answered")
        return PlainTextResponse("hi", background=BackgroundTask(events.append, "background"))

    async def broken(request: Request) -> PlainTextResponse:
        raise RuntimeError("a bug")

    async def joined(request: Request) -> PlainTextResponse:
        return PlainTextResponse("welcome", status_code=201)

    routes = [
        Route("/answer", answer),
        Route("/broken", broken),
        Route("/join/{token}", joined),
    ]
    return AccessLog(Starlette(routes=routes))


@pytest.fixture
def events() -> list[str]:
    logger = logging.getLogger(ACCESS_LOGGER)
    events: list[str] = []
    handler = _Order(events)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield events
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_line_is_uvicorns_and_comes_once_the_request_is_done(events: list[str]) -> None:
    with TestClient(_app(events)) as client:
        assert client.get("/answer?x=1").text == "hi"
    assert events == [
        "answered",
        "background",  # what the response runs after it, before the line
        'log testclient:50000 - "GET /answer?x=1 HTTP/1.1" 200',
    ]


def test_a_request_whose_handler_failed_is_logged_with_its_500(events: list[str]) -> None:
    with TestClient(_app(events), raise_server_exceptions=False) as client:
        assert client.get("/broken").status_code == 500
    assert events == ['log testclient:50000 - "GET /broken HTTP/1.1" 500']


def test_invite_tokens_stay_out_of_the_line(events: list[str]) -> None:
    redact_invites_in_access_log()
    with TestClient(_app(events)) as client:
        assert client.get("/join/single-use-secret").status_code == 201
    assert events == ['log testclient:50000 - "GET /join/… HTTP/1.1" 201']


def test_nothing_is_formatted_when_the_log_is_off(events: list[str]) -> None:
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.WARNING)
    with TestClient(_app(events)) as client:
        assert client.get("/answer").text == "hi"
    assert events == ["answered", "background"]
