"""The endpoint's two routes reach their handlers before FastAPI's routing (``DirectRoutes``):
the same answers, the security headers still on them, the rest of the app untouched, and a
handler's bug answered in OpenAI's error format rather than as a bare 500."""

from __future__ import annotations

import httpx
import pytest

from codearena.openai_api import router
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
