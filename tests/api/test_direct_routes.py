"""The endpoint's two routes reach their handlers before FastAPI's routing (``DirectRoutes``):
the same answers, the security headers still on them, the rest of the app untouched, and a
handler's bug answered in OpenAI's error format rather than as a bare 500."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest
from sqlalchemy import func, select

from codearena.openai_api import router
from codearena.store import Task
from tests.api.conftest import Server
from tests.conftest import unique


def test_the_routes_are_served_directly_and_keep_the_security_headers(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = server.token()
    seen: list[str] = []
    original = router._DIRECT[("POST", "/v1/chat/completions")]

    async def counted(
        service: router.ApiService, request: router.ApiRequest
    ) -> router.Answer | router.EventStream:
        seen.append(str(request.scope["path"]))
        return await original(service, request)

    monkeypatch.setitem(router._DIRECT, ("POST", "/v1/chat/completions"), counted)
    answer = httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": unique("ok"), "messages": [{"role": "user", "content": "ECHO:hi"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "hi"
    assert seen == ["/v1/chat/completions"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-codearena-generation-id"]


def test_other_methods_and_paths_go_to_the_app(server: Server) -> None:
    wrong_method = httpx.get(f"{server.v1}/chat/completions")
    assert wrong_method.status_code == 405  # FastAPI's route, not the direct one
    unknown = httpx.get(f"{server.v1}/embeddings")
    assert unknown.status_code == 404
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models"} <= set(schema["paths"])  # in /docs


def test_a_handlers_bug_is_a_500_in_openais_format(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(service: router.ApiService, request: router.ApiRequest) -> router.Answer:
        raise RuntimeError("a bug")

    monkeypatch.setitem(router._DIRECT, ("GET", "/v1/models"), broken)
    answer = httpx.get(f"{server.v1}/models")
    assert answer.status_code == 500
    assert answer.json()["error"]["type"] == "server_error"
    assert "a bug" not in answer.text  # the log has it, not the client
    assert any("a bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_a_client_gone_before_its_body_arrived_is_logged_499_and_stores_nothing(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    token, _ = server.token()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 5000\r\n\r\n"
    )
    host, port = server.url.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO, logger="codearena.access"):
        with socket.create_connection((host, int(port))) as client:
            client.sendall(head.encode() + b'{"model": "fake/ok", "mess')  # and no more
        server.settle()
        for _ in range(400):  # the line is written once the request is done (polling)
            if any("chat/completions" in r.getMessage() for r in caplog.records):
                break
            time.sleep(0.005)
    lines = [r.getMessage() for r in caplog.records if "chat/completions" in r.getMessage()]
    assert lines and lines[-1].endswith('"POST /v1/chat/completions HTTP/1.1" 499'), lines
    with server.context.store.session() as session:
        assert not session.scalar(select(func.count()).where(Task.source == "api"))
