"""A gateway's per-provider limit comes from its own settings, so a door can raise it: the
OpenAI-compatible endpoint's clients bring their own concurrency ([web] api_concurrency)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from codearena.catalog import Catalog
from codearena.config import Settings, with_concurrency
from codearena.gateway import ChatRequest, Gateway
from codearena.pipeline import Context
from codearena.store import Store
from codearena.testing.fake_upstream import FakeUpstream
from codearena.web.app import create_app
from tests.conftest import unique


def test_with_concurrency_only_raises(settings: Settings) -> None:
    raised = with_concurrency(settings, 64)
    assert all(p.concurrency == 64 for p in raised.providers.values())
    lowered = with_concurrency(settings, 1)
    assert lowered.providers == settings.providers
    one = with_concurrency(settings, {"openrouter": 20})
    assert one.providers["openrouter"].concurrency == 20
    assert one.providers["ollama"].concurrency == settings.providers["ollama"].concurrency


async def _connections(gateway: Gateway, fake: FakeUpstream, calls: int) -> int:
    """How many upstream connections ``calls`` simultaneous slow calls used: a call waiting
    for a slot reuses a finished call's connection, so this is the peak of calls in flight."""
    model = unique("slow-first-0.3")
    requests = [ChatRequest(model, [{"role": "user", "content": "x"}]) for _ in range(calls)]
    results = await asyncio.gather(*(gateway.complete(r) for r in requests))
    assert all(r.status == "ok" for r in results)
    upstream = model.removeprefix("openrouter:")
    return len({r.connection for r in fake.requests if r.body and r.body.get("model") == upstream})


async def test_calls_beyond_the_batch_limit_run_at_once_when_the_gateway_allows(
    settings: Settings, catalog: Catalog, fake: FakeUpstream
) -> None:
    limit = settings.providers["openrouter"].concurrency
    async with Gateway(with_concurrency(settings, limit + 4), catalog) as gateway:
        assert await _connections(gateway, fake, limit + 4) == limit + 4
    async with Gateway(settings, catalog) as batch:
        assert await _connections(batch, fake, limit + 4) <= limit


async def test_the_endpoint_uses_its_own_limit(settings: Settings, catalog: Catalog) -> None:
    store = Store(settings.database_url)
    app: FastAPI = create_app(Context(settings, store, catalog))
    async with app.router.lifespan_context(app):
        gateway = app.state.openai_api.gateway()
        route = catalog.resolve(unique("ok"))
        assert gateway._semaphore(route)._value == settings.web.api_concurrency == 256
        assert app.state.platform.gateway._semaphore(route)._value == route.provider.concurrency
    store.dispose()


async def test_hundreds_of_calls_run_at_once_each_on_its_own_connection(
    settings: Settings, catalog: Catalog, fake: FakeUpstream
) -> None:
    """The gateway keeps at least 256 connections, more if a provider's limit is higher: that
    many slow calls run at the same time, none waiting for another's connection."""
    calls = 300
    async with Gateway(with_concurrency(settings, calls), catalog) as gateway:
        assert await _connections(gateway, fake, calls) == calls
