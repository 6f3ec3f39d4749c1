"""Calls through the OpenAI-compatible endpoint with a study's token enter that study's
dashboard and analysis JSON (per model: calls, how they ended, tokens, cost, latency)."""

from __future__ import annotations

import httpx
import openai
import pytest

from codearena.studies.study import StudySpec, create_study
from codearena.web.auth import create_user
from tests.api.conftest import PASSWORD, Server
from tests.conftest import unique


def _admin(server: Server) -> httpx.Client:
    email = f"admin-{unique('x')[-8:]}@example.org"
    create_user(server.context.store, email, "admin", PASSWORD)
    client = httpx.Client(base_url=server.url)
    csrf = client.get("/api/session").json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    login = client.post("/api/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return client


def test_a_study_tokens_calls_appear_on_its_dashboard(server: Server) -> None:
    good, broken = unique("ok"), unique("error-502")
    spec = StudySpec(name="api dashboard", models=[good, broken], mode="named")
    study = create_study(server.context.store, server.context.catalog, spec)
    other = create_study(
        server.context.store, server.context.catalog, StudySpec(name="x", models=[good, broken])
    )
    token, _ = server.token(study=study.id)
    stranger, _ = server.token(study=other.id)
    client = server.sdk(token)
    for _ in range(2):
        client.chat.completions.create(model=good, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model=broken, messages=[{"role": "user", "content": "x"}])
    server.sdk(stranger).chat.completions.create(
        model=good, messages=[{"role": "user", "content": "elsewhere"}]
    )
    server.settle()
    admin = _admin(server)
    try:
        data = admin.get(f"/api/studies/{study.id}/analysis?rounds=20").json()
        page = admin.get(f"/researcher/studies/{study.id}/dashboard?rounds=20").text
        empty = admin.get(f"/researcher/studies/{other.id}/dashboard?rounds=20").text
    finally:
        admin.close()
    usage = {u["model"]: u for u in data["api_calls"]}
    assert list(usage) == [good, broken]
    assert (usage[good]["calls"], usage[good]["ok"], usage[good]["tokens"]) == (2, 2, 1)
    assert usage[good]["cost_usd"] > 0 and usage[good]["median_latency_ms"] is not None
    assert (usage[broken]["calls"], usage[broken]["failed"]) == (1, 1)
    assert 'data-testid="api-calls"' in page and page.count('data-testid="api-calls-row"') == 2
    assert (
        page.count('data-testid="api-calls-row"') == 2
        and 'data-testid="api-calls-none"' not in page
    )
    assert empty.count('data-testid="api-calls-row"') == 1  # the other study's one call
