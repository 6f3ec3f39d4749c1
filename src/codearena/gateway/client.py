"""The one async client for OpenAI-compatible chat completions.

Streams every call (SSE), measures time to first token and total latency, retries connect errors,
408, 429 and 5xx with exponential backoff and jitter (honouring ``Retry-After``) only before the
first token has arrived, enforces separate connect, first-token and total timeouts, tries fallback
models in order, and fans one task out to many models with a per-provider concurrency limit.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from codearena.catalog import Catalog, Route, UnknownModel
from codearena.config import ConfigError, Settings
from codearena.gateway.errors import (
    UpstreamError,
    error_in,
    from_body,
    from_status,
    parse_retry_after,
    redact,
)
from codearena.gateway.http import ConnectFailed, Connections, ReadFailed
from codearena.gateway.types import CallResult, ChatRequest, GatewayEvent, Listener
from codearena.gateway.usage import ask_for_usage, read_usage, usage_in

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _Stream:
    """What one attempt has received so far."""

    parts: list[str] = field(default_factory=list)
    first_token_at: float | None = None
    finish_reason: str | None = None
    upstream_id: str | None = None
    served_model: str | None = None
    usage: dict[str, Any] | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add_tool_deltas(self, deltas: list[Any]) -> tuple[dict[str, Any], ...]:
        """Merge streamed ``tool_calls`` deltas (by ``index``: the id, type and name arrive
        once, the arguments in pieces); returns the well-formed ones, to relay as they came."""
        kept = []
        for delta in deltas:
            if not isinstance(delta, dict):
                continue
            index = delta.get("index", len(self.tool_calls))
            if not isinstance(index, int) or not 0 <= index <= len(self.tool_calls):
                continue
            if index == len(self.tool_calls):
                self.tool_calls.append({"id": None, "type": "function", "function": {}})
            call = self.tool_calls[index]
            for key in ("id", "type"):
                if isinstance(delta.get(key), str):
                    call[key] = delta[key]
            function = delta.get("function")
            if isinstance(function, dict):
                if isinstance(function.get("name"), str):
                    call["function"]["name"] = function["name"]
                if isinstance(function.get("arguments"), str):
                    call["function"]["arguments"] = (
                        call["function"].get("arguments", "") + function["arguments"]
                    )
            kept.append({**delta, "index": index})
        return tuple(kept)


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` when a provider reports none: a quarter of its characters."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


class Gateway:
    """Chat completions against every configured provider."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        gw = settings.gateway
        # as many connections as the providers' limits let calls run at once, all kept alive so
        # that a steady load reuses them instead of reconnecting
        pool = max([256, *(p.concurrency for p in settings.providers.values())])
        self._client = Connections(
            pool,
            connect_timeout=gw.connect_timeout,
            read_timeout=max(gw.first_token_timeout, 1.0),
        )
        self._sleep = sleep
        self._rng = random.Random()
        self._limits: dict[str, asyncio.Semaphore] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _semaphore(self, route: Route) -> asyncio.Semaphore:
        name = route.provider.name
        if name not in self._limits:  # this gateway's settings decide (they may raise it)
            provider = self.settings.providers.get(name, route.provider)
            self._limits[name] = asyncio.Semaphore(provider.concurrency)
        return self._limits[name]

    async def fan_out(
        self, requests: Sequence[ChatRequest], listener: Listener | None = None
    ) -> list[CallResult]:
        """Run every request concurrently; one model's failure never affects the others."""
        tasks = [
            asyncio.create_task(self._guarded(index, request, listener))
            for index, request in enumerate(requests)
        ]
        return list(await asyncio.gather(*tasks))

    async def _guarded(
        self, index: int, request: ChatRequest, listener: Listener | None
    ) -> CallResult:
        try:
            return await self.complete(request, index=index, listener=listener)
        except Exception as exc:  # a bug must not lose the other models' answers
            result = CallResult(request.model, "unknown", error=f"internal error: {exc!r}")
            result.error_kind = "internal"
            _emit(listener, GatewayEvent(index, request.model, "done", result=result))
            return result

    async def complete(
        self, request: ChatRequest, *, index: int = 0, listener: Listener | None = None
    ) -> CallResult:
        """One model (and its fallbacks, in order) for one request."""
        _emit(listener, GatewayEvent(index, request.model, "start"))
        result: CallResult | None = None
        clock: list[float] = []  # the call's start, set once the first slot is acquired
        for model_id in (request.model, *request.fallbacks):
            try:
                route = self.catalog.resolve(model_id)
            except UnknownModel as exc:
                result = CallResult(
                    request.model, "unknown", error=str(exc), error_kind="unknown_model"
                )
                continue
            result = await self._call_route(route, request, clock, index, listener)
            if result.status == "ok" or result.text:
                break
        assert result is not None
        result.model = request.model
        _emit(listener, GatewayEvent(index, request.model, "done", result=result))
        return result

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        gw = self.settings.gateway
        delay = min(gw.backoff_max, gw.backoff_base * 2 ** (attempt - 1))
        delay *= self._rng.uniform(0.5, 1.0)
        return float(max(delay, retry_after or 0.0))

    async def _call_route(
        self,
        route: Route,
        request: ChatRequest,
        clock: list[float],
        index: int,
        listener: Listener | None,
    ) -> CallResult:
        """One route with its retries. Each attempt holds one of the provider's slots; waiting
        between attempts (backoff, ``Retry-After``) holds none, so other calls can go on."""
        provider = route.provider
        result = CallResult(request.model, provider.name)
        try:
            key = provider.api_key()
        except ConfigError as exc:
            result.error, result.error_kind, result.latency_ms = str(exc), "config", 0.0
            return result
        if provider.needs_key and not key:
            result.error = f"missing key: set {provider.key_env}"
            result.error_kind = "missing_key"
            result.latency_ms = 0.0
            return result
        headers = {"Accept": "text/event-stream", **provider.headers}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body: dict[str, Any] = {
            **(request.extra or {}),
            "model": route.model.upstream_id,
            "messages": request.messages,
            "stream": True,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        ask_for_usage(body, provider.name)
        gw = self.settings.gateway
        url = f"{provider.base_url}/chat/completions"
        attempt = 0
        while True:
            attempt += 1
            stream = _Stream()
            async with self._semaphore(route):
                if not clock:  # the call's figures start once it first gets a slot
                    clock.append(time.perf_counter())
                start, total_deadline = clock[0], clock[0] + gw.total_timeout
                try:
                    await self._attempt(
                        url,
                        headers,
                        body,
                        route,
                        stream,
                        total_deadline,
                        index,
                        request.model,
                        listener,
                    )
                    error: UpstreamError | None = None
                except UpstreamError as exc:
                    exc.message = redact(exc.message, key)
                    error = exc
            result.attempts = attempt
            if (
                error is None
                or stream.parts
                or stream.tool_calls  # relayed already: a retry would send them twice
                or not error.retryable
                or attempt > gw.max_retries
            ):
                return self._finish(result, route, request, stream, start, error, attempt)
            delay = self._backoff(attempt, error.retry_after)
            if time.perf_counter() + delay >= total_deadline:
                error.message += (
                    f" (not retried: waiting {delay:.1f} s would pass the total timeout)"
                )
                return self._finish(result, route, request, stream, start, error, attempt)
            _emit(listener, GatewayEvent(index, request.model, "retry", text=error.message))
            await self._sleep(delay)

    async def _attempt(
        self,
        url: str,
        headers: dict[str, str],
        body: dict[str, Any],
        route: Route,
        stream: _Stream,
        total_deadline: float,
        index: int,
        model: str,
        listener: Listener | None,
    ) -> None:
        gw = self.settings.gateway
        provider = route.provider
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        first_token_deadline = now + gw.first_token_timeout
        # asyncio deadlines use the loop clock; translate from perf_counter offsets.
        to_loop = loop.time() - now
        deadline = min(first_token_deadline, total_deadline)
        try:
            async with asyncio.timeout_at(deadline + to_loop) as timer:
                async with self._client.post(url, body=body, headers=headers) as response:
                    if response.status != 200:
                        payload = _json_or_none(await response.read())
                        raise from_status(
                            response.status,
                            payload,
                            provider=provider.name,
                            key_env=provider.key_env,
                            retry_after=parse_retry_after(response.headers.get("retry-after")),
                        )
                    if "text/event-stream" not in response.headers.get("content-type", ""):
                        payload = _json_or_none(await response.read())
                        self._read_whole(payload, stream, provider.name, provider.key_env)
                        return
                    async for events in response.events():
                        for data in events:
                            try:
                                chunk = json.loads(data)
                            except ValueError:
                                continue
                            if not isinstance(chunk, dict):
                                failure = error_in(
                                    chunk, provider=provider.name, key_env=provider.key_env
                                )
                                if failure is not None:
                                    raise failure
                                continue
                            first = stream.first_token_at is None
                            piece, tools = self._read_chunk(
                                chunk, stream, provider.name, provider.key_env
                            )
                            if piece or tools:
                                if first:  # from now on only the total timeout applies
                                    timer.reschedule(total_deadline + to_loop)
                                if listener is not None:
                                    listener(
                                        GatewayEvent(
                                            index, model, "delta", text=piece, tool_calls=tools
                                        )
                                    )
        except TimeoutError:
            if stream.first_token_at is None and first_token_deadline < total_deadline:
                raise UpstreamError(
                    "first_token_timeout",
                    f"no first token within {gw.first_token_timeout:g} s; the model may be overloaded",
                ) from None
            raise UpstreamError(
                "timeout", f"total timeout of {gw.total_timeout:g} s exceeded"
            ) from None
        except ConnectFailed as exc:
            raise UpstreamError(
                "connect",
                f"cannot connect to {provider.base_url} ({exc})",
                retryable=True,
            ) from None
        except ReadFailed as exc:
            if stream.first_token_at is None:
                raise UpstreamError(
                    "cut",
                    f"connection to {provider.name} closed before any answer ({exc})",
                    retryable=True,
                ) from None
            raise UpstreamError(
                "cut", f"connection cut mid-stream after {len(stream.text)} characters ({exc})"
            ) from None
        if stream.finish_reason is None:
            raise UpstreamError(
                "cut",
                f"stream ended before the answer finished ({len(stream.text)} characters received)",
                retryable=True,
            )

    @staticmethod
    def _read_chunk(
        chunk: dict[str, Any], stream: _Stream, provider: str, key_env: str | None
    ) -> tuple[str, tuple[dict[str, Any], ...]]:
        """Record one streamed chunk; returns the answer text and the tool-call deltas it
        added."""
        added = ""
        tools: tuple[dict[str, Any], ...] = ()
        stream.upstream_id = stream.upstream_id or chunk.get("id")
        if isinstance(chunk.get("model"), str):
            stream.served_model = chunk["model"]
        stream.usage = usage_in(chunk) or stream.usage
        failure = error_in(chunk, provider=provider, key_env=key_env)
        if failure is not None:
            raise failure
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                if stream.first_token_at is None:
                    stream.first_token_at = time.perf_counter()
                stream.parts.append(content)
                added += content
            if isinstance(delta.get("tool_calls"), list):
                tools += stream.add_tool_deltas(delta["tool_calls"])
                if tools and stream.first_token_at is None:
                    stream.first_token_at = time.perf_counter()
            reason = choice.get("finish_reason")
            if reason:
                stream.finish_reason = reason
                if reason == "error":
                    raise UpstreamError(
                        "stream_error",
                        "the generation ended with an error (finish_reason 'error')",
                        retryable=True,
                    )
        return added, tools

    @staticmethod
    def _read_whole(payload: Any, stream: _Stream, provider: str, key_env: str | None) -> None:
        if not isinstance(payload, dict) or payload.get("error") or not payload.get("choices"):
            raise from_body(payload, provider=provider, key_env=key_env)
        choice = payload["choices"][0]
        message = choice.get("message") or {}
        content = message.get("content") or ""
        stream.first_token_at = time.perf_counter()
        stream.parts.append(content)
        if isinstance(message.get("tool_calls"), list):
            stream.add_tool_deltas(
                [
                    {**c, "index": i}
                    for i, c in enumerate(message["tool_calls"])
                    if isinstance(c, dict)
                ]
            )
        stream.finish_reason = choice.get("finish_reason") or "stop"
        stream.upstream_id = payload.get("id")
        stream.served_model = payload.get("model")
        stream.usage = usage_in(payload)

    @staticmethod
    def _finish(
        result: CallResult,
        route: Route,
        request: ChatRequest,
        stream: _Stream,
        start: float,
        error: UpstreamError | None,
        attempts: int,
    ) -> CallResult:
        end = time.perf_counter()
        result.provider = route.provider.name
        result.text = stream.text
        result.latency_ms = round((end - start) * 1000, 3)
        if stream.first_token_at is not None:
            result.ttft_ms = round((stream.first_token_at - start) * 1000, 3)
        result.served_model = stream.served_model or (
            route.model.upstream_id if error is None else None
        )
        result.upstream_id = stream.upstream_id
        result.finish_reason = stream.finish_reason
        result.tool_calls = [dict(c) for c in stream.tool_calls] or None
        result.attempts = attempts
        if error is None:
            result.status = "ok"
        else:
            result.status = "error"
            result.error = (
                error.message if attempts <= 1 else f"{error.message} (after {attempts} attempts)"
            )
            result.error_kind = error.kind
        usage = read_usage(stream.usage)
        if usage is not None:
            result.prompt_tokens, result.completion_tokens = (
                usage.prompt_tokens,
                usage.completion_tokens,
            )
            result.cached_prompt_tokens = usage.cached_tokens
            if usage.cost_usd is not None:
                result.cost_usd, result.cost_source = usage.cost_usd, "upstream"
            else:  # the catalog's prices, or unknown (None): never a made-up 0
                computed = route.model.cost_usd(
                    usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens
                )
                if computed is not None:
                    result.cost_usd, result.cost_source = round(computed, 10), "catalog"
        elif stream.first_token_at is not None or error is None:
            prompt_text = "".join(str(m.get("content") or "") for m in request.messages)
            result.prompt_tokens = estimate_tokens(prompt_text)
            result.completion_tokens = estimate_tokens(stream.text)
            result.tokens_estimated = True
        return result


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return {"error": {"message": raw[:300].decode("utf-8", "replace") or "empty body"}}


def _emit(listener: Listener | None, event: GatewayEvent) -> None:
    if listener is not None:
        listener(event)
