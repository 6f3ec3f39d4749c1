"""The gateway against the loopback fake of OpenRouter's wire protocol."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from codearena.catalog import Catalog, ModelInfo
from codearena.config import Settings
from codearena.gateway import CallResult, ChatRequest, Gateway, GatewayEvent
from codearena.testing.fake_upstream import DEFAULT_REPLY, FakeUpstream
from tests.conftest import SECRET, fast, unique

MESSAGES = [{"role": "user", "content": "write add(a, b)"}]


async def call(settings: Settings, model: str, **kwargs: object) -> tuple[CallResult, list[float]]:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    async with Gateway(settings, Catalog(settings), sleep=sleep) as gateway:
        result = await gateway.complete(ChatRequest(model, MESSAGES, **kwargs))  # type: ignore[arg-type]
    return result, delays


async def test_streamed_answer_with_all_figures(settings: Settings, fake: FakeUpstream) -> None:
    model = unique("ok")
    result, _ = await call(settings, model)
    assert result.status == "ok", result.error
    assert result.text == DEFAULT_REPLY
    assert "OPENROUTER PROCESSING" not in result.text
    assert result.finish_reason == "stop"
    assert result.served_model == model.removeprefix("openrouter:")
    assert result.upstream_id and result.upstream_id.startswith("gen-")
    assert result.prompt_tokens and result.completion_tokens
    assert not result.tokens_estimated
    assert result.cost_source == "upstream" and result.cost_usd and result.cost_usd > 0
    assert result.ttft_ms is not None and result.latency_ms is not None
    assert 0 < result.ttft_ms <= result.latency_ms
    assert result.attempts == 1


async def test_request_carries_key_attribution_and_usage(
    settings: Settings, fake: FakeUpstream
) -> None:
    model = unique("ok")
    await call(settings, model, temperature=0.5)
    sent = [
        r
        for r in fake.requests
        if r.body and r.body.get("model") == model.removeprefix("openrouter:")
    ]
    assert len(sent) == 1
    headers, body = sent[0].headers, sent[0].body
    assert headers["authorization"] == f"Bearer {SECRET}"
    assert headers["http-referer"] and headers["x-title"] == "codearena"
    assert body is not None and body["stream"] is True and body["usage"] == {"include": True}
    assert body["temperature"] == 0.5 and body["messages"] == MESSAGES


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (400, "bad_request", "bad request"),
        (401, "auth", "check OPENROUTER_API_KEY"),
        (402, "credits", "out of credits"),
        (403, "forbidden", "refused"),
        (408, "timeout", "timed out"),
        (429, "rate_limited", "rate limited"),
        (502, "unavailable", "unavailable"),
        (503, "unavailable", "unavailable"),
    ],
)
async def test_http_errors_become_clear_messages(
    settings: Settings, fake: FakeUpstream, status: int, kind: str, words: str
) -> None:
    model = unique(f"error-{status}")
    result, delays = await call(settings, model)
    assert result.status == "error"
    assert result.error_kind == kind
    assert result.error and words in result.error
    retried = status in {408, 429, 502, 503}
    expected_calls = settings.gateway.max_retries + 1 if retried else 1
    assert fake.count(model.removeprefix("openrouter:")) == expected_calls
    assert result.attempts == expected_calls
    if status == 429:
        assert all(d >= 1.0 for d in delays), "Retry-After: 1 must be honoured"


async def test_retries_with_growing_backoff_until_success(
    settings: Settings, fake: FakeUpstream
) -> None:
    settings = fast(settings, backoff_base=0.01, backoff_max=10.0)
    model = unique("flaky-503-2")
    result, delays = await call(settings, model)
    assert result.status == "ok" and result.attempts == 3
    assert fake.count(model.removeprefix("openrouter:")) == 3
    assert len(delays) == 2
    assert 0.005 <= delays[0] <= 0.01 and 0.01 <= delays[1] <= 0.02  # jittered doubling


async def test_retry_after_is_honoured(settings: Settings, fake: FakeUpstream) -> None:
    result, delays = await call(settings, unique("flaky-429-1"))
    assert result.status == "ok" and result.attempts == 2
    assert delays == [pytest.approx(1.0, abs=0.01)]


async def test_connection_closed_before_answer_is_retried(
    settings: Settings, fake: FakeUpstream
) -> None:
    result, _ = await call(settings, unique("flaky-connect-1"))
    assert result.status == "ok" and result.attempts == 2


async def test_connect_error_names_the_url(settings: Settings) -> None:
    settings = replace(
        settings,
        providers={
            **settings.providers,
            "openrouter": replace(
                settings.providers["openrouter"], base_url="http://127.0.0.1:9/api/v1"
            ),
        },
    )
    result, delays = await call(settings, "openai/gpt-4")
    assert result.error_kind == "connect" and "127.0.0.1:9" in (result.error or "")
    assert len(delays) == settings.gateway.max_retries


async def test_error_object_in_200_body(settings: Settings, fake: FakeUpstream) -> None:
    result, _ = await call(fast(settings, max_retries=0), unique("error-in-200"))
    assert result.status == "error"
    assert "Upstream provider returned an error" in (result.error or "")


async def test_error_chunk_mid_stream_keeps_partial_text_and_is_not_retried(
    settings: Settings, fake: FakeUpstream
) -> None:
    model = unique("stream-error")
    result, _ = await call(settings, model)
    assert result.status == "error" and result.error_kind == "stream_error"
    assert "Provider disconnected" in (result.error or "")
    assert result.text and DEFAULT_REPLY.startswith(result.text)
    assert fake.count(model.removeprefix("openrouter:")) == 1, "no duplicate answer after a token"


async def test_finish_reason_error(settings: Settings, fake: FakeUpstream) -> None:
    model = unique("finish-error")
    result, _ = await call(settings, model)
    assert result.status == "error" and "finish_reason 'error'" in (result.error or "")
    assert fake.count(model.removeprefix("openrouter:")) == 1


async def test_cut_connection_mid_stream(settings: Settings, fake: FakeUpstream) -> None:
    model = unique("cut")
    result, _ = await call(settings, model)
    assert result.status == "error" and result.error_kind == "cut"
    assert "mid-stream" in (result.error or "")
    assert result.text and result.text != DEFAULT_REPLY
    assert fake.count(model.removeprefix("openrouter:")) == 1


async def test_first_token_timeout(settings: Settings, fake: FakeUpstream) -> None:
    result, _ = await call(fast(settings, first_token_timeout=0.2), unique("slow-first-2"))
    assert result.error_kind == "first_token_timeout"
    assert "no first token within 0.2 s" in (result.error or "")


async def test_ttft_measures_the_first_token_not_the_headers(settings: Settings) -> None:
    result, _ = await call(settings, unique("slow-first-0.3"))
    assert result.status == "ok"
    assert result.ttft_ms is not None and result.ttft_ms >= 300


async def test_total_timeout(settings: Settings, fake: FakeUpstream) -> None:
    result, _ = await call(fast(settings, total_timeout=0.3), unique("hang"))
    assert result.error_kind == "timeout" and "total timeout" in (result.error or "")


async def test_missing_usage_is_estimated_and_flagged(settings: Settings) -> None:
    result, _ = await call(settings, unique("no-usage"))
    assert result.status == "ok" and result.tokens_estimated
    assert result.completion_tokens and result.completion_tokens > 0
    assert result.cost_usd is None, "cost is never invented from estimated tokens"


async def test_cost_from_catalog_price_when_upstream_gives_none(settings: Settings) -> None:
    model_id = "fake/no-cost-priced"
    catalog = Catalog(
        settings, [ModelInfo(model_id, "Priced", "openrouter", model_id, None, 2.0, 6.0)]
    )
    async with Gateway(settings, catalog) as gateway:
        result = await gateway.complete(ChatRequest(model_id, MESSAGES))
    assert result.cost_source == "catalog"
    assert result.prompt_tokens is not None and result.completion_tokens is not None
    expected = (result.prompt_tokens * 2.0 + result.completion_tokens * 6.0) / 1e6
    assert result.cost_usd == pytest.approx(expected)


async def test_no_cost_and_no_price_gives_null(settings: Settings) -> None:
    result, _ = await call(settings, unique("no-cost"))
    assert (
        result.prompt_tokens is not None and result.cost_usd is None and result.cost_source is None
    )


async def test_fallback_model_serves_and_is_reported(
    settings: Settings, fake: FakeUpstream
) -> None:
    primary, backup = unique("error-503"), unique("ok")
    result, _ = await call(fast(settings, max_retries=0), primary, fallbacks=(backup,))
    assert result.status == "ok"
    assert result.model == primary
    assert result.served_model == backup.removeprefix("openrouter:")


async def test_missing_key_makes_no_request(
    settings: Settings, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY")
    model = unique("ok")
    result, _ = await call(settings, model)
    assert result.error == "missing key: set OPENROUTER_API_KEY"
    assert fake.count(model.removeprefix("openrouter:")) == 0


async def test_fan_out_one_failure_never_blocks_the_others(settings: Settings) -> None:
    settings = fast(settings, total_timeout=2.0)
    models = [unique("hang"), unique("ok"), unique("error-401"), unique("slow-0.01")]
    done: list[str] = []

    def listen(event: GatewayEvent) -> None:
        if event.kind == "done":
            done.append(event.model)

    async with Gateway(settings, Catalog(settings)) as gateway:
        results = await gateway.fan_out([ChatRequest(m, MESSAGES) for m in models], listen)
    assert [r.model for r in results] == models
    assert [r.status for r in results] == ["error", "ok", "error", "ok"]
    assert done[-1] == models[0], "the hanging model finishes last, after all others were done"
    assert results[0].error_kind == "timeout"


async def test_per_provider_concurrency_limit(settings: Settings) -> None:
    limited = replace(settings.providers["openrouter"], concurrency=1)
    settings = replace(settings, providers={**settings.providers, "openrouter": limited})
    models = [unique("slow-0.01") for _ in range(3)]
    order: list[tuple[str, str]] = []

    def listen(event: GatewayEvent) -> None:
        if event.kind in {"delta", "done"}:
            order.append((event.kind, event.model))

    async with Gateway(settings, Catalog(settings)) as gateway:
        results = await gateway.fan_out([ChatRequest(m, MESSAGES) for m in models], listen)
    assert all(r.status == "ok" for r in results)
    running: str | None = None
    for kind, model in order:
        if kind == "delta":
            assert running in (None, model), "two calls streamed at once despite concurrency=1"
            running = model
        else:
            running = None


async def test_streamed_deltas_reassemble_the_answer(settings: Settings) -> None:
    pieces: list[str] = []
    async with Gateway(settings, Catalog(settings)) as gateway:
        result = await gateway.complete(
            ChatRequest(unique("ok"), MESSAGES),
            listener=lambda e: pieces.append(e.text) if e.kind == "delta" else None,
        )
    assert len(pieces) > 3
    assert "".join(pieces) == result.text


async def test_cancelled_fan_out_does_not_leak(settings: Settings) -> None:
    async with Gateway(settings, Catalog(settings)) as gateway:
        task = asyncio.create_task(gateway.fan_out([ChatRequest(unique("hang"), MESSAGES)]))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_waiting_to_retry_holds_no_provider_slot(settings: Settings) -> None:
    limited = replace(settings.providers["openrouter"], concurrency=1)
    settings = replace(settings, providers={**settings.providers, "openrouter": limited})
    other_done = asyncio.Event()

    async def sleep(seconds: float) -> None:  # the retry waits until the other call finished
        await asyncio.wait_for(other_done.wait(), 10)

    def listen(event: GatewayEvent) -> None:
        if event.kind == "done" and event.index == 1:
            other_done.set()

    requests = [ChatRequest(unique("flaky-429-1"), MESSAGES), ChatRequest(unique("ok"), MESSAGES)]
    async with Gateway(settings, Catalog(settings), sleep=sleep) as gateway:
        results = await gateway.fan_out(requests, listen)
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    assert results[0].attempts == 2
