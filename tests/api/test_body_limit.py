"""``[web] max_request_mb``: a body over the limit is refused with 413 at every door, before it is
read whole (``asgi/body_limit.py``), and nothing of it is stored; a body under it is served."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import openai
import pytest
from sqlalchemy import func, select

from codearena.config import Settings
from codearena.store import Task
from tests.api.conftest import Server
from tests.conftest import unique

LIMIT_MB = 0.01  # 10,485 bytes


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, web=replace(settings.web, max_request_mb=LIMIT_MB))


def _messages(characters: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": "ECHO:" + "x" * characters}]


def _api_tasks(server: Server) -> int:
    with server.context.store.session() as session:
        return int(session.scalar(select(func.count()).where(Task.source == "api")) or 0)


def test_a_completion_over_the_limit_is_refused_in_openais_error_format(server: Server) -> None:
    token, _ = server.token()
    body = {"model": unique("ok"), "messages": _messages(20_000)}
    response = httpx.post(
        f"{server.v1}/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "request_too_large")
    assert "0.01 MB" in error["message"] and "[web] max_request_mb" in error["message"]
    server.settle()
    assert _api_tasks(server) == 0
    # the same client, under the limit, is answered
    small = server.sdk(token).chat.completions.create(model=unique("ok"), messages=_messages(50))
    assert small.choices[0].message.content == "x" * 50
    server.settle()
    assert _api_tasks(server) == 1


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(server: Server) -> None:
    """No Content-Length: the body is counted as it arrives and refused once it passes the
    limit (what the client still sends is read and dropped, never held)."""
    token, _ = server.token()

    def pieces() -> Iterator[bytes]:
        yield b'{"model": "fake/ok", "messages": [{"role": "user", "content": "'
        for _ in range(200):
            yield b"x" * 10_000
        yield b'"}]}'

    with httpx.Client() as client:
        try:
            response = client.post(
                f"{server.v1}/chat/completions",
                content=pieces(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:  # the server may close while the client still sends
            pytest.fail(f"no 413 answer before the connection closed: {exc!r}")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    server.settle()
    assert _api_tasks(server) == 0


def test_the_sdk_sees_the_413_as_its_status_error(server: Server) -> None:
    token, _ = server.token()
    with pytest.raises(openai.APIStatusError) as raised:
        server.sdk(token).chat.completions.create(model="fake/ok", messages=_messages(20_000))
    assert raised.value.status_code == 413


def test_the_json_api_answers_its_own_error_form(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        csrf = client.get("/api/session").json()["csrf_token"]
        response = client.post(
            "/api/login",
            json={"email": "someone@example.org", "password": "p" * 20_000},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code == 413
        assert "max_request_mb" in response.json()["error"]
        # under the limit, the same route answers as usual (a wrong password here)
        response = client.post(
            "/api/login",
            json={"email": "someone@example.org", "password": "wrong password"},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code == 401
