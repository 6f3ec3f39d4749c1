"""The routes of the OpenAI-compatible endpoint, mounted under ``/v1`` by ``codearena.web.app``.

Its two routes are declared on the FastAPI router (so ``/docs`` shows them) and reached through
:class:`DirectRoutes`, a middleware that hands their requests to the same handlers before
FastAPI's routing and its middleware run: they take most requests a server gets, and at 500
calls/s FastAPI's routing and middleware were a fifth of the server's CPU (BENCHMARKS.md).

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
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from codearena.catalog import UnknownModel
from codearena.gateway import CallResult, ChatRequest, Gateway, GatewayEvent
from codearena.openai_api import calls, schemas
from codearena.openai_api.errors import ApiError, from_result, invalid
from codearena.openai_api.tokens import Caller, RateLimiter, TokenCache, bearer, check_study
from codearena.openai_api.writer import CallWriter, Record
from codearena.pipeline import Context

router = APIRouter(prefix="/v1", tags=["openai"])
_log = logging.getLogger(__name__)
GENERATION_HEADER = "X-Codearena-Generation-Id"


class DirectRoutes:
    """ASGI middleware: ``POST /v1/chat/completions`` and ``GET /v1/models`` go straight to
    their handlers; everything else (and another method on these paths) to the app. An
    exception a handler lets through before its response starts is answered with a 500 in
    OpenAI's error format, as the handlers answer every other failure, and so is a body over
    the server's limit (413)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = (
            _DIRECT.get((str(scope["method"]), _route_path(scope)))
            if scope["type"] == "http"
            else None
        )
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        service = _service(request)
        service.in_flight += 1
        try:
            try:
                response = await handler(request)
            except HTTPException as exc:  # the body over the server's limit (web.body_limit)
                code = "request_too_large" if exc.status_code == 413 else None
                response = error_response(ApiError(exc.status_code, str(exc.detail), code=code))
            except Exception:
                _log.exception("the OpenAI-compatible endpoint failed")
                response = error_response(
                    ApiError(
                        500,
                        "internal error of the server; its log says more",
                        "server_error",
                        "internal_error",
                    )
                )
            await response(scope, receive, send)  # and then its record (its background)
        finally:
            service.in_flight -= 1


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

    async def caller(self, request: Request) -> Caller:
        token = bearer(request.headers.get("authorization"))
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

    def finished(
        self, caller: Caller, stored: calls.StoredCall, result: CallResult
    ) -> BackgroundTask:
        """A call has ended: its cost counts against its token at once (a next request of the
        same client sees it), and its record is to be written once its answer has been sent."""
        if result.cost_usd:
            self.tokens.spent(caller.token_id, result.cost_usd)
        return BackgroundTask(self.finish, caller, stored, result)

    def sweep(self) -> int:
        """At start-up: calls a stopped server left pending (older than any call can last)
        are marked interrupted; how many."""
        older_than_s = self.context.settings.gateway.total_timeout + 60
        return calls.sweep_unfinished(self.context.store, older_than_s)


def error_response(error: ApiError, background: BackgroundTask | None = None) -> Response:
    return Response(
        error.body(),
        error.status,
        error.headers,
        media_type="application/json",
        background=background,
    )


def _service(request: Request) -> ApiService:
    return cast(ApiService, request.app.state.openai_api)


@router.get("/models", summary="The catalog in OpenAI's list shape")
async def list_models(request: Request) -> Response:
    service = _service(request)
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
    return Response(json.dumps({"object": "list", "data": data}), media_type="application/json")


@router.post("/chat/completions", summary="A chat completion (streamed or not) from any model")
async def chat_completions(request: Request) -> Response:
    try:
        return await _chat(_service(request), request)
    except ApiError as exc:
        return error_response(exc)


_DIRECT: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
    ("POST", "/v1/chat/completions"): chat_completions,
    ("GET", "/v1/models"): list_models,
}


async def _chat(service: ApiService, request: Request) -> Response:
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
    headers = {GENERATION_HEADER: stored.generation_id}
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
    return EventStream(call.frames(first, writer), headers, BackgroundTask(call.save))


def _queue(service: ApiService, opened: Record) -> asyncio.Future[None]:
    """Queue the call's pending rows, once its upstream call has been started: the writer may
    write them in the event loop (SQLite), and they should not hold up the call's request."""
    return asyncio.ensure_future(service.writer.write(opened))


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
    headers: dict[str, str],
) -> Response:
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
    return Response(body, media_type="application/json", headers=headers, background=record)


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
        self.record: BackgroundTask | None = None  # the ended call's record, still to write
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


class EventStream(Response):
    """``text/event-stream`` from an iterator of frames, written as they come, while the client
    is watched: a disconnect (``http.disconnect``, or a failed send) stops the iterator, whose
    ``finally`` then runs at once rather than whenever it is garbage-collected. ``background``
    runs at the end, however the stream ended."""

    media_type = "text/event-stream"

    def __init__(
        self,
        frames: AsyncGenerator[bytes, None],
        headers: dict[str, str],
        background: BackgroundTask,
    ) -> None:
        super().__init__(
            None,
            200,
            {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers},
            self.media_type,
            background,
        )
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.frames = frames

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
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
            if self.background is not None:
                await asyncio.shield(self.background())

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
