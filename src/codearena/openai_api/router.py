"""The routes of the OpenAI-compatible endpoint, mounted under ``/v1`` by ``codearena.web.app``.

Its two routes are declared on the FastAPI router (so ``/docs`` shows them, and another method
on their paths gets FastAPI's 405) and answered by :class:`DirectRoutes`, which the app
(``web.app.CodearenaApp``) calls before FastAPI's own ``__call__``, on plain ASGI messages: the
body read with ``[web] max_request_mb``'s rule, the security headers and the access log line
added by the same functions the app's middleware uses, and nothing of Starlette's request and
response objects or FastAPI's telemetry check, routing and middleware on the way. They take
most requests a server gets (BENCHMARKS.md).

A call's pending rows are queued for the writer just after its upstream call starts, and
committed while it runs (their commit is not added to the call's latency); nothing is answered
before they have committed, and if they cannot be, the upstream call is cancelled. Its finished
row is written just after the answer has been sent (the answer does not wait for that commit,
about a millisecond): a server that dies in between leaves the row pending, and the next start
marks it interrupted (:meth:`ApiService.sweep`). :attr:`ApiService.in_flight` counts the
requests whose answer or record is not done.

A streamed request waits for its first answer text (or its failure) before answering, so that
a call that fails before any text gets an HTTP error status like OpenAI's; from then on every
delta is sent as it arrives. A client that goes away mid-stream cancels the upstream call and
leaves the generation ``interrupted`` with the text that had arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from codearena.asgi.access_log import log_request
from codearena.asgi.body_limit import RequestTooLarge, read_body
from codearena.asgi.security import RAW_HEADERS
from codearena.catalog import UnknownModel
from codearena.gateway import CallResult, ChatRequest, Gateway, GatewayEvent
from codearena.openai_api import calls, schemas
from codearena.openai_api.errors import ApiError, from_result, invalid
from codearena.openai_api.tokens import Caller, RateLimiter, TokenCache, bearer, check_study
from codearena.openai_api.writer import CallWriter, Record
from codearena.pipeline import Context

router = APIRouter(prefix="/v1", tags=["openai"])
_log = logging.getLogger(__name__)
GENERATION_HEADER = b"x-codearena-generation-id"


class ApiRequest:
    """What a handler reads of its request: a header, and the body (at most ``[web]
    max_request_mb``, read with :func:`codearena.asgi.body_limit.read_body`)."""

    def __init__(self, scope: Scope, receive: Receive, max_request_mb: float) -> None:
        self.scope, self._receive, self._max_request_mb = scope, receive, max_request_mb

    def header(self, name: bytes) -> str | None:
        """The first header of that (lower-case) name."""
        for key, value in self.scope["headers"]:
            if key == name:
                return cast(bytes, value).decode("latin-1")
        return None

    async def body(self) -> bytes:
        return await read_body(self.scope, self._receive, self._max_request_mb)


After = Callable[[], Awaitable[None]]
"""What an answer runs once it has been sent (or its client has gone): the call's record."""
_JSON = (b"content-type", b"application/json")


@dataclass
class Answer:
    """A whole answer: status, JSON body, headers, and what runs once it has been sent."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    after: After | None = None

    async def send(self, receive: Receive, send: Send) -> None:
        headers = [_JSON, (b"content-length", b"%d" % len(self.body)), *self.headers]
        try:
            await send({"type": "http.response.start", "status": self.status, "headers": headers})
            await send({"type": "http.response.body", "body": self.body})
        finally:
            if self.after is not None:
                await self.after()


Handler = Callable[["ApiService", ApiRequest], Awaitable["Answer | EventStream"]]


class DirectRoutes:
    """``POST /v1/chat/completions`` and ``GET /v1/models``, answered before the app (by
    ``web.app.CodearenaApp``, ahead of FastAPI's own ``__call__``, routing and middleware), on
    plain ASGI messages, with the security headers and the access log line of every other
    response. A body over ``[web] max_request_mb`` is answered with 413, and an exception a
    handler lets through with a 500, both in OpenAI's error format, as the handlers answer
    every other failure; a client that goes away before its body has arrived gets nothing
    (logged 499)."""

    def __init__(self, service: ApiService, max_request_mb: float) -> None:
        self.service = service
        self.max_request_mb = max_request_mb

    @staticmethod
    def handler(scope: Scope) -> Handler | None:
        """The handler of this request, if it is one of the two routes."""
        if scope["type"] != "http":
            return None
        return _DIRECT.get((str(scope["method"]), _route_path(scope)))

    async def answer(self, handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.service
        service.in_flight += 1
        status = 499  # nginx's "client closed request": nothing was answered
        try:
            answer = await _answer(
                handler, service, ApiRequest(scope, receive, self.max_request_mb)
            )
            if answer is not None:
                status = answer.status
                answer.headers += RAW_HEADERS
                await answer.send(receive, send)  # and then its record (its ``after``)
        finally:
            log_request(scope, status)
            service.in_flight -= 1  # last: a request counted done has its log line too


async def _answer(
    handler: Handler, service: ApiService, request: ApiRequest
) -> Answer | EventStream | None:
    try:
        return await handler(service, request)
    except ClientDisconnect:
        return None
    except RequestTooLarge as exc:
        return error_response(ApiError(413, str(exc.detail), code="request_too_large"))
    except Exception:
        _log.exception("the OpenAI-compatible endpoint failed")
        return error_response(
            ApiError(
                500,
                "internal error of the server; its log says more",
                "server_error",
                "internal_error",
            )
        )


def _route_path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


class ApiService:
    """What the routes share: the context, the app's gateway, the rate limiter, the tokens'
    cache and the writer of the calls' records."""

    def __init__(self, context: Context, gateway: Callable[[], Gateway | None]) -> None:
        self.context = context
        self._gateway = gateway
        self.limiter = RateLimiter()
        self.tokens = TokenCache(context.store)
        self.writer = CallWriter(context.store)
        self.started = int(time.time())  # the catalog has no dates: "created" is start-up
        self.in_flight = 0  # requests whose answer or record is not done (tests wait for 0)
        self.refreshes: set[asyncio.Future[None]] = set()  # tokens being read again

    def gateway(self) -> Gateway:
        gateway = self._gateway()
        if gateway is None:
            raise ApiError(503, "the server is starting or stopping", "server_error", "unavailable")
        return gateway

    async def caller(self, request: ApiRequest) -> Caller:
        token = bearer(request.header(b"authorization"))
        caller, key = self.tokens.lookup(token)
        if caller is None:
            caller = await asyncio.to_thread(self.tokens.load, key)
        if caller.study_id is not None:
            await asyncio.to_thread(check_study, self.context.store, caller.study_id)
        return caller

    def refresh_soon(self, caller: Caller) -> None:
        """Read the caller's token again in a worker thread if its cached row is due (while
        this call waits for the upstream: not in a request's own time)."""
        key = self.tokens.due(caller.token_id)
        if key is None:
            return
        refresh = asyncio.ensure_future(asyncio.to_thread(self.tokens.refresh, key))
        self.refreshes.add(refresh)
        refresh.add_done_callback(self._refreshed)

    def _refreshed(self, refresh: asyncio.Future[None]) -> None:
        self.refreshes.discard(refresh)
        if not refresh.cancelled() and refresh.exception() is not None:
            _log.warning("an API token could not be read again", exc_info=refresh.exception())

    async def record(self, record: Record, *, later: bool = False) -> None:
        """Write a call's record; a cancellation of the request waits for it all the same."""
        await asyncio.shield(self.writer.write(record, later=later))

    async def finish(self, caller: Caller, stored: calls.StoredCall, result: CallResult) -> None:
        """Write a finished call's record (after its answer has been sent; :meth:`finished`).
        A record that cannot be written is logged: the answer has gone, and the row stays
        pending until the next start marks it interrupted."""
        try:
            await self.record(calls.finish_call(caller, stored, result), later=True)
        except Exception:
            _log.exception("the record of generation %s could not be written", stored.generation_id)
            return
        if result.cost_usd:
            self.tokens.recorded(caller.token_id, result.cost_usd)

    def finished(self, caller: Caller, stored: calls.StoredCall, result: CallResult) -> After:
        """A call has ended: its cost counts against its token at once (a next request of the
        same client sees it), and its record is to be written once its answer has been sent."""
        if result.cost_usd:
            self.tokens.spent(caller.token_id, result.cost_usd)
        return functools.partial(self.finish, caller, stored, result)

    def sweep(self) -> int:
        """At start-up: calls a stopped server left pending (older than any call can last)
        are marked interrupted; how many."""
        older_than_s = self.context.settings.gateway.total_timeout + 60
        return calls.sweep_unfinished(self.context.store, older_than_s)


def error_response(error: ApiError, after: After | None = None) -> Answer:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()]
    return Answer(error.status, error.body(), headers, after)


async def list_models(service: ApiService, request: ApiRequest) -> Answer:
    try:
        await service.caller(request)
    except ApiError as exc:
        return error_response(exc)
    data = [
        {
            "id": info.id,
            "object": "model",
            "created": service.started,
            "owned_by": info.id.split("/", 1)[0]
            if info.provider == "openrouter"
            else info.provider,
        }
        for info in service.context.catalog.all()
    ]
    return Answer(200, json.dumps({"object": "list", "data": data}).encode())


async def chat_completions(service: ApiService, request: ApiRequest) -> Answer | EventStream:
    try:
        return await _chat(service, request)
    except ApiError as exc:
        return error_response(exc)


_DIRECT: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/chat/completions"): chat_completions,
    ("GET", "/v1/models"): list_models,
}


# Declared for FastAPI's schema (/docs) and its 405 for another method on these paths; every
# request of these methods is answered by DirectRoutes, before FastAPI's routing.
@router.get("/models", summary="The catalog in OpenAI's list shape")
async def _models_declared() -> Response:
    raise RuntimeError("GET /v1/models is answered by DirectRoutes")


@router.post("/chat/completions", summary="A chat completion (streamed or not) from any model")
async def _chat_declared() -> Response:
    raise RuntimeError("POST /v1/chat/completions is answered by DirectRoutes")


async def _chat(service: ApiService, request: ApiRequest) -> Answer | EventStream:
    caller = await service.caller(request)
    service.limiter.check(caller)
    try:
        body = schemas.ChatCompletionRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        detail = exc.errors()[0]
        where = ".".join(str(part) for part in detail["loc"]) or "body"
        raise invalid(f"invalid request: {where}: {detail['msg']}") from None
    if body.n not in (None, 1):
        raise invalid(
            f"n={body.n} is not supported: this endpoint returns one choice per request "
            "(send n=1 or leave it out, and make several requests for several answers)",
            "unsupported_parameter",
        )
    try:
        model, fallbacks = body.route()
    except ValueError as exc:
        raise invalid(str(exc)) from None
    catalog = service.context.catalog
    try:
        route = catalog.resolve(model)
        for fallback in fallbacks:
            catalog.resolve(fallback)
    except UnknownModel as exc:
        raise ApiError(404, str(exc), "invalid_request_error", "model_not_found") from None
    gateway = service.gateway()
    messages = cast(list[dict[str, str]], body.messages)
    chat = ChatRequest(
        model,
        messages,
        body.temperature,
        body.max_tokens or body.max_completion_tokens,
        fallbacks,
        extra=body.passthrough(),
    )
    stored, opened = calls.open_call(
        caller,
        prompt=schemas.prompt_of(body.messages),
        messages=body.messages,
        temperature=body.temperature,
        model=model,
        route=route,
    )
    completion_id = f"chatcmpl-{stored.generation_id}"
    headers = [(GENERATION_HEADER, stored.generation_id.encode())]
    created = int(time.time())
    if not body.stream:
        return await _whole(
            service, caller, stored, opened, gateway, chat, completion_id, created, headers
        )
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = schemas.ChunkWriter(completion_id, created, model, include_usage)
    call = _Streamed(service, caller, stored, gateway, chat)
    await _opened(service, caller, stored, _queue(service, opened), call.task)
    first = await call.first()
    result = first.result
    if result is not None and result.status != "ok" and not result.text and not result.tool_calls:
        call.finishing = True
        return error_response(from_result(result), service.finished(caller, stored, result))
    return EventStream(call.frames(first, writer), headers, call.save)


def _queue(service: ApiService, opened: Record) -> asyncio.Future[None]:
    """Queue the call's pending rows, once its upstream call has been started: the writer may
    write them in the event loop (SQLite), and they should not hold up the call's request."""
    return service.writer.write(opened)


async def _opened(
    service: ApiService,
    caller: Caller,
    stored: calls.StoredCall,
    pending: asyncio.Future[None],
    call: asyncio.Task[CallResult],
) -> None:
    """Wait for the call's pending row, which is written while the upstream call starts (its
    commit is then not added to the call's latency): nothing is answered before the row has
    committed. If it cannot be written, the upstream call is cancelled and the request fails
    with the database's error; if the request is cancelled meanwhile (the server stopping), the
    row is marked interrupted once it exists, never left pending. Once it has committed (the
    upstream request has gone), the caller's token is read again if it is due."""
    try:
        await asyncio.shield(pending)
    except BaseException as exc:
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        if isinstance(exc, asyncio.CancelledError):
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)
                await service.record(calls.interrupt_call(stored, ""))
        raise
    service.refresh_soon(caller)


async def _whole(
    service: ApiService,
    caller: Caller,
    stored: calls.StoredCall,
    opened: Record,
    gateway: Gateway,
    chat: ChatRequest,
    completion_id: str,
    created: int,
    headers: list[tuple[bytes, bytes]],
) -> Answer:
    call = asyncio.create_task(_complete(gateway, chat, None))
    await _opened(service, caller, stored, _queue(service, opened), call)
    try:
        result = await call
    except BaseException:  # cancelled (the server stopping): the row says so, never pending
        await service.record(calls.interrupt_call(stored, ""))
        raise
    record = service.finished(caller, stored, result)
    if result.status != "ok":
        return error_response(from_result(result), record)
    body = schemas.completion(completion_id, created, chat.model, result)
    return Answer(200, body, headers, record)


async def _complete(
    gateway: Gateway, chat: ChatRequest, listener: Callable[[GatewayEvent], None] | None
) -> CallResult:
    """The gateway's call; a bug becomes a failed result (and its ``done`` event)."""
    try:
        return await gateway.complete(chat, listener=listener)
    except Exception as exc:
        result = CallResult(chat.model, "unknown", error=f"internal error: {exc!r}")
        result.error_kind = "internal"
        if listener is not None:
            listener(GatewayEvent(0, chat.model, "done", result=result))
        return result


class _Streamed:
    """One streamed call: the gateway's events through a queue, the text that has arrived."""

    def __init__(
        self,
        service: ApiService,
        caller: Caller,
        stored: calls.StoredCall,
        gateway: Gateway,
        chat: ChatRequest,
    ) -> None:
        self._service, self.caller, self.stored = service, caller, stored
        self.queue: asyncio.Queue[GatewayEvent] = asyncio.Queue()
        self.parts: list[str] = []
        self.finishing = False  # the call has ended or been interrupted
        self.record: After | None = None  # the ended call's record, still to write
        self.task = asyncio.create_task(_complete(gateway, chat, self._on_event))

    def _on_event(self, event: GatewayEvent) -> None:
        if event.kind == "delta":
            self.parts.append(event.text)
        self.queue.put_nowait(event)

    async def _next(self) -> GatewayEvent:
        while True:
            event = await self.queue.get()
            if event.kind in ("delta", "done"):
                return event

    async def first(self) -> GatewayEvent:
        try:
            return await self._next()
        except BaseException:
            await self.interrupt()
            raise

    async def save(self) -> None:
        """Once the answer has been sent (or the client went away after its end): write the
        finished call's record, if it ended."""
        if self.record is not None:
            await self.record()

    async def interrupt(self) -> None:
        """The client went away (or the server is stopping): cancel the call, keep the text."""
        if self.finishing:
            return
        self.finishing = True
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        text = "".join(self.parts)
        await self._service.record(calls.interrupt_call(self.stored, text))

    async def frames(
        self, first: GatewayEvent, writer: schemas.ChunkWriter
    ) -> AsyncGenerator[bytes, None]:
        try:
            out = [writer.role()]
            event = first
            while True:
                if event.kind == "delta":
                    if event.text:
                        out.append(writer.delta(event.text))
                    if event.tool_calls:
                        out.append(writer.tool_calls(event.tool_calls))
                elif event.kind == "done":
                    break
                if self.queue.empty():  # send what is there; several deltas go as one write
                    yield b"".join(out)
                    out = []
                    event = await self._next()
                else:
                    event = self.queue.get_nowait()
            result = event.result
            assert result is not None
            self.finishing = True
            self.record = self._service.finished(self.caller, self.stored, result)
            if result.status == "ok":
                out.append(writer.finish(result.finish_reason or "stop"))
                if writer.include_usage:
                    out.append(writer.usage(result))
            else:
                out.append(writer.error(from_result(result).body()))
            out.append(writer.DONE)
            yield b"".join(out)
        finally:
            await self.interrupt()


class EventStream:
    """``text/event-stream`` from an iterator of frames, written as they come, while the client
    is watched: a disconnect (``http.disconnect``, or a failed send) stops the iterator, whose
    ``finally`` then runs at once rather than whenever it is garbage-collected. ``after`` runs
    at the end, however the stream ended."""

    status = 200

    def __init__(
        self,
        frames: AsyncGenerator[bytes, None],
        headers: list[tuple[bytes, bytes]],
        after: After,
    ) -> None:
        self.headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),  # as OpenAI sends it
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
            *headers,
        ]
        self.frames = frames
        self.after = after

    async def send(self, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        pump = asyncio.create_task(self._pump(send))
        watch = asyncio.create_task(self._watch(receive, pump))
        try:
            await pump
        except asyncio.CancelledError:
            if not watch.done():
                raise  # this request was cancelled, not by a disconnect
        except OSError:
            pass  # the client went away while a frame was being written
        finally:
            watch.cancel()
            with contextlib.suppress(BaseException):
                await watch
            await self.frames.aclose()
            await asyncio.shield(self.after())

    async def _pump(self, send: Send) -> None:
        async for frame in self.frames:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _watch(receive: Receive, pump: asyncio.Task[None]) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                pump.cancel()
                return
