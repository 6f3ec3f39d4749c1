"""A loopback fake of OpenRouter's / OpenAI's chat-completions wire protocol.

HTTP/1.1 is spoken directly on asyncio streams so every byte is under our control
(keep-alive, ``Connection: close``, HTTP/1.0, ``Expect: 100-continue``, Content-Length or
chunked request bodies).

Routes::

    POST <anything>/chat/completions   chat (OpenRouter /api/v1/..., Ollama /v1/...)
    GET  /api/v1/models                {"data": models_listing}  (prices are strings, USD/token)
    GET  /api/tags                     Ollama's native model list
    anything else                      404 {"error": {"code": 404, "message": ...}}

The reply text is a fixed Python snippet, or, when the last user message contains
``ECHO:``, the text after it (leading spaces stripped), split into up to 8 deltas.

Scenarios are chosen by regexes on the requested ``model`` string (keywords must not be
glued to letters/digits, e.g. ``fake/error-401``, ``fake/slow-0.05-no-cost``):

    error-NNN          NNN in 400 401 402 403 408 429 502 503: that status + JSON error body
                       (429 adds ``Retry-After: 1``), streaming requested or not
    flaky-429-N        the first N chat requests for this exact model string get 429,
    flaky-503-N        ... 503,
    flaky-connect-N    ... a socket closed without any response bytes; later ones succeed
    error-in-200       HTTP 200, application/json body {"error": {"code": 502, ...}}
    stream-error       3 deltas, a chunk with "error": {"code": "server_error"} and
                       finish_reason "error", then [DONE]
    finish-error       3 deltas, a chunk with finish_reason "error" (no error object), [DONE]
    cut                3 deltas, then the socket is closed (no final chunk, no [DONE]);
                       non-streaming: half of a Content-Length body, then closed
    slow-first-S       headers + comment at once, first delta after S seconds (comments
                       every 0.1 s meanwhile)
    slow-S             S seconds between deltas (overrides chunk_delay)
    wait-S             nothing for S seconds (not even headers), then the answer as usual: an
                       upstream like the mock of the published gateway benchmarks, which keeps
                       no stream alive with comments (``bench/proxy_load.py``)
    hang               read the request, never answer (until stop())
    no-usage           no usage chunk / no usage in the body
    no-cost            usage without "cost"
    length             final finish_reason "length"
    tool-call          when the request has ``tools``: a call of the first tool's function with
                       arguments ``{"a": 1, "b": 2}`` (streamed: the id and name, then the
                       arguments in two pieces) and finish_reason "tool_calls"
    wrong-N            a wrong ``add`` (it subtracts) while the conversation holds fewer than N
                       earlier answers (assistant messages), then the default reply: a model
                       that gets it right after its failure is sent back N times

Fallbacks: with ``"models": [...]`` in the body the candidates are body["model"] (if not in
the list) followed by the list; the first whose attempt is not an error (error-NNN,
error-in-200, a failing flaky-*), hang or cut serves and is reported as ``model``.  If all
fail, the last candidate's failure is returned.  Flaky counters count every attempt.

Streams are SSE in chunked transfer encoding: ``: OPENROUTER PROCESSING`` comments (first
and mid-stream), ``data: {chunk}`` lines, a finish chunk, a usage chunk with
``"choices": []``, ``data: [DONE]`` and the zero-length terminating chunk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any

DEFAULT_REPLY = "Here is a solution.\n\n```python\ndef add(a, b):\n    return a + b\n```\n"
COMMENT = b": OPENROUTER PROCESSING\n\n"
_DEFAULT_PRICE = ("0.0000005", "0.0000015")


def _model(mid: str, name: str, ctx: int, prompt: str, completion: str) -> dict[str, Any]:
    return {
        "id": mid,
        "name": name,
        "created": 1700000000,
        "description": f"{name} (fake listing)",
        "context_length": ctx,
        "architecture": {"modality": "text->text", "tokenizer": "Other", "instruct_type": None},
        "pricing": {"prompt": prompt, "completion": completion, "image": "0", "request": "0"},
        "top_provider": {"context_length": ctx, "max_completion_tokens": 4096},
        "per_request_limits": None,
    }


_LISTING = """\
openai/gpt-3.5-turbo|OpenAI: GPT-3.5 Turbo|16385|0.0000005|0.0000015
openai/gpt-4|OpenAI: GPT-4|8191|0.00003|0.00006
openai/gpt-4-turbo|OpenAI: GPT-4 Turbo|128000|0.00001|0.00003
openai/chatgpt-4o-latest|OpenAI: ChatGPT-4o|128000|0.000005|0.000015
google/gemini-flash-1.5-8b|Google: Gemini Flash 1.5 8B|1000000|0.0000000375|0.00000015
meta-llama/llama-3.2-3b-instruct|Meta: Llama 3.2 3B Instruct|131072|0.000000015|0.000000025
mistralai/mixtral-8x7b-instruct|Mistral: Mixtral 8x7B Instruct|32768|0.00000024|0.00000024
anthropic/claude-3.5-sonnet|Anthropic: Claude 3.5 Sonnet|200000|0.000003|0.000015
"""
DEFAULT_MODELS: list[dict[str, Any]] = [
    _model(mid, name, int(ctx), prompt, completion)
    for mid, name, ctx, prompt, completion in (line.split("|") for line in _LISTING.splitlines())
]

_ERRORS: dict[int, str] = {
    400: "Invalid request: 'messages' must be a non-empty array",
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: 'fake/error-403 requires moderation on Fake. Your input was flagged for "harassment".',
    408: "Request timed out upstream",
    429: "Rate limit exceeded: limit_rpm/fake. High demand for this model, retry shortly.",
    502: "Upstream provider returned an error",
    503: "No available model provider that meets your routing requirements",
}


def _kw(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])")


RE_ERROR = _kw(r"error-(400|401|402|403|408|429|502|503)")
RE_FLAKY = _kw(r"flaky-(429|503|connect)-(\d+)")
RE_SLOW_FIRST = _kw(r"slow-first-(\d+(?:\.\d+)?)")
RE_SLOW = _kw(r"slow-(\d+(?:\.\d+)?)")
RE_WAIT = _kw(r"wait-(\d+(?:\.\d+)?)")
RE_ERROR_IN_200, RE_STREAM_ERROR = _kw("error-in-200"), _kw("stream-error")
RE_FINISH_ERROR, RE_CUT, RE_HANG = _kw("finish-error"), _kw("cut"), _kw("hang")
RE_NO_USAGE, RE_NO_COST, RE_LENGTH = _kw("no-usage"), _kw("no-cost"), _kw("length")
RE_WRONG = _kw(r"wrong-(\d+)")
RE_TOOL_CALL = _kw("tool-call")
TOOL_ARGUMENTS = ('{"a": 1', ', "b": 2}')
WRONG_REPLY = "Here is a solution.\n\n```python\ndef add(a, b):\n    return a - b\n```\n"
_NET_ERRORS = (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)
Body = dict[str, Any]
Writer = asyncio.StreamWriter


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Body | None
    connection: int = 0  # server-side connection number (equal numbers = keep-alive reuse)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _split(text: str, parts: int = 8) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class FakeUpstream:
    """Loopback OpenRouter/OpenAI/Ollama double; see the module docstring for scenarios."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_delay: float = 0.0,
        models_listing: list[dict[str, Any]] | None = None,
        ollama_models: list[str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.chunk_delay = host, chunk_delay
        self.tls = tls  # served over TLS with this context (https) instead of plain HTTP
        listing = DEFAULT_MODELS if models_listing is None else models_listing
        self.models_listing: list[dict[str, Any]] = copy.deepcopy(listing)
        self.ollama_models = (
            ["qwen2.5-coder:7b", "llama3.2:3b"] if ollama_models is None else ollama_models
        )
        self.requests: list[RecordedRequest] = []
        self._port = port
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._conn_ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._error: BaseException | None = None

    # ----------------------------------------------------------------- public API
    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/v1"

    def count(self, model: str) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if r.path.split("?")[0].endswith("/chat/completions")
                and r.body is not None
                and r.body.get("model") == model
            )

    def start(self) -> FakeUpstream:
        if self._thread is not None:
            raise RuntimeError("FakeUpstream already started")
        ready = threading.Event()

        def run() -> None:
            try:
                asyncio.run(self._serve(ready.set))
            except BaseException as exc:  # reported by start()
                self._error = exc
                ready.set()

        self._thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and stop_event is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop_event.set)
        thread.join()
        self._thread = self._loop = self._stop_event = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- server core
    async def _serve(self, on_ready: Callable[[], None]) -> None:
        self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def on_connect(reader: asyncio.StreamReader, w: Writer) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await self._connection(reader, w, next(self._conn_ids))
            finally:
                tasks.discard(task)

        server = await asyncio.start_server(
            on_connect, self.host, self._port, limit=1 << 20, ssl=self.tls
        )
        self._port = server.sockets[0].getsockname()[1]
        on_ready()
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, w: Writer, conn: int) -> None:
        try:
            while True:
                if (parsed := await self._read_request(reader, w, conn)) is None:
                    break
                request, close = parsed
                with self._lock:
                    self.requests.append(request)
                if not await self._dispatch(request, w, close) or close:
                    break
        except _NET_ERRORS:
            pass
        finally:
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()

    async def _read_request(
        self, reader: asyncio.StreamReader, w: Writer, conn: int
    ) -> tuple[RecordedRequest, bool] | None:
        """Parse one request; returns it and whether to close the connection afterwards."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # peer closed between requests
        lines = head.decode("latin-1").split("\r\n")
        method, path, version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                key = name.strip().lower()
                headers[key] = (
                    f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
                )
        if headers.get("expect", "").lower() == "100-continue":
            w.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        raw = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                raw += await reader.readexactly(size)
                await reader.readexactly(2)
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
        elif length := int(headers.get("content-length", "0")):
            raw = await reader.readexactly(length)
        body: Body | None = None
        with contextlib.suppress(ValueError):
            parsed = json.loads(raw) if raw else None
            body = parsed if isinstance(parsed, dict) else None
        conn_header = headers.get("connection", "").lower()
        close = conn_header == "close" or (version == "HTTP/1.0" and conn_header != "keep-alive")
        return RecordedRequest(method.upper(), path, headers, body, conn), close

    @staticmethod
    def _head(status: int, headers: dict[str, str], close: bool) -> bytes:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:  # a provider's own status: Anthropic's 529, Groq's 498
            phrase = {498: "Flex Tier Capacity Exceeded", 529: "Overloaded"}.get(status, "Error")
        lines = [f"HTTP/1.1 {status} {phrase}", "Server: fake-upstream"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Connection: {'close' if close else 'keep-alive'}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send_json(self, w: Writer, status: int, obj: Any, close: bool, **extra: str) -> None:
        data = _dumps(obj)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data)), **extra}
        w.write(self._head(status, headers, close) + data)
        await w.drain()

    async def _dispatch(self, req: RecordedRequest, w: Writer, close: bool) -> bool:
        path = req.path.split("?")[0].rstrip("/")
        if req.method == "POST" and path.endswith("/chat/completions"):
            return await self._chat(req, w, close)
        if req.method == "GET" and path == "/api/v1/models":
            await self._send_json(w, 200, {"data": self.models_listing}, close)
        elif req.method == "GET" and path == "/api/tags":
            await self._send_json(
                w, 200, {"models": [self._ollama(n) for n in self.ollama_models]}, close
            )
        else:
            msg = f"Not found: {req.method} {req.path}"
            await self._send_json(w, 404, {"error": {"code": 404, "message": msg}}, close)
        return True

    @staticmethod
    def _ollama(name: str) -> dict[str, Any]:
        family, _, tag = name.partition(":")
        return {
            "name": name,
            "model": name,
            "modified_at": "2024-10-01T12:00:00.000000000Z",
            "size": 4_683_087_332,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": family.split(".")[0],
                "families": [family.split(".")[0]],
                "parameter_size": tag.upper() or "7B",
                "quantization_level": "Q4_K_M",
            },
        }

    # ----------------------------------------------------------------- chat
    def _failure(self, model: str) -> str | None:
        """Failure kind of one attempt at ``model`` (counts flaky attempts)."""
        if m := RE_ERROR.search(model):
            return f"error-{m.group(1)}"
        if RE_ERROR_IN_200.search(model):
            return "error-in-200"
        if m := RE_FLAKY.search(model):
            with self._lock:
                seen = self._attempts[model] = self._attempts.get(model, 0) + 1
            if seen <= int(m.group(2)):
                return "connect" if m.group(1) == "connect" else f"error-{m.group(1)}"
        if RE_HANG.search(model):
            return "hang"
        return "cut" if RE_CUT.search(model) else None

    async def _chat(self, req: RecordedRequest, w: Writer, close: bool) -> bool:
        body = req.body or {}
        requested = str(body.get("model", ""))
        models = body.get("models")
        fallbacks = [str(m) for m in models] if isinstance(models, list) else []
        candidates = fallbacks if requested in fallbacks else [requested, *fallbacks]
        served, failure = requested, None
        for served in candidates:
            if (failure := self._failure(served)) is None:
                break
        if failure == "connect":
            return False
        if failure == "hang":
            assert self._stop_event is not None
            await self._stop_event.wait()
            return False
        if failure is not None and failure.startswith("error-"):
            if failure == "error-in-200":
                err = {"code": 502, "message": _ERRORS[502]}
                await self._send_json(w, 200, {"error": err}, close)
                return True
            status = int(failure[6:])
            err = {"code": status, "message": _ERRORS[status]}
            if status == 403:
                err["metadata"] = {"reasons": ["harassment"], "flagged_input": "...",
                                   "provider_name": "Fake", "model_slug": served}  # fmt: skip
            elif status == 502:
                err["metadata"] = {"provider_name": "Fake", "raw": "upstream connect error"}
            extra = {"Retry-After": "1"} if status == 429 else {}
            await self._send_json(w, status, {"error": err}, close, **extra)
            return True
        cut = failure == "cut"
        if m := RE_WAIT.search(served):
            await asyncio.sleep(float(m.group(1)))
        if body.get("stream"):
            return await self._stream(body, served, w, close, cut)
        return await self._complete(body, served, w, close, cut)

    def _reply(self, body: Body) -> str:
        messages = body.get("messages") or []
        wrong = RE_WRONG.search(str(body.get("model", "")))
        if wrong:
            answered = sum(
                1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant"
            )
            return WRONG_REPLY if answered < int(wrong.group(1)) else DEFAULT_REPLY
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        last = _text_of(users[-1].get("content")) if users else ""
        return last.split("ECHO:", 1)[1].lstrip(" ") if "ECHO:" in last else DEFAULT_REPLY

    def _usage(self, body: Body, served: str, text: str) -> dict[str, Any] | None:
        if RE_NO_USAGE.search(served):
            return None
        messages = body.get("messages") or []
        prompt = sum(
            len(_text_of(m.get("content")).split()) for m in messages if isinstance(m, dict)
        )
        completion = max(1, len(text) // 4)
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if not RE_NO_COST.search(served):
            listed = next((m for m in self.models_listing if m.get("id") == served), None)
            pricing = listed.get("pricing", {}) if listed else {}
            pp = float(pricing.get("prompt", _DEFAULT_PRICE[0]))
            cp = float(pricing.get("completion", _DEFAULT_PRICE[1]))
            usage["cost"] = round(prompt * pp + completion * cp, 12)
        return usage

    def _finish(self, served: str) -> str:
        if RE_FINISH_ERROR.search(served) or RE_STREAM_ERROR.search(served):
            return "error"
        return "length" if RE_LENGTH.search(served) else "stop"

    @staticmethod
    def _tool_name(body: Body, served: str) -> str | None:
        """The function a ``tool-call`` model calls (None: answer with text)."""
        tools = body.get("tools")
        if not RE_TOOL_CALL.search(served) or not isinstance(tools, list) or not tools:
            return None
        function = tools[0].get("function") if isinstance(tools[0], dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        return name if isinstance(name, str) else "tool"

    async def _complete(self, body: Body, served: str, w: Writer, close: bool, cut: bool) -> bool:
        if m := RE_SLOW_FIRST.search(served):
            await asyncio.sleep(float(m.group(1)))
        text, finish = self._reply(body), self._finish(served)
        out: dict[str, Any] = {
            "id": f"gen-{uuid.uuid4().hex[:24]}",
            "provider": "Fake",
            "model": served,
            "object": "chat.completion",
            "created": int(time.time()),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": finish,
                    "native_finish_reason": finish,
                }
            ],
        }
        if RE_STREAM_ERROR.search(served):
            out["error"] = {"code": "server_error", "message": "Provider disconnected unexpectedly"}
        if (tool := self._tool_name(body, served)) is not None:
            call = {"id": "call_fake1", "type": "function",
                    "function": {"name": tool, "arguments": "".join(TOOL_ARGUMENTS)}}  # fmt: skip
            choice = out["choices"][0]
            choice["message"].update(content=None, tool_calls=[call])
            choice["finish_reason"] = choice["native_finish_reason"] = "tool_calls"
        if (usage := self._usage(body, served, text)) is not None:
            out["usage"] = usage
        if not cut:
            await self._send_json(w, 200, out, close)
            return True
        data = _dumps(out)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        w.write(self._head(200, headers, close) + data[: len(data) // 2])
        await w.drain()
        return False

    async def _stream(self, body: Body, served: str, w: Writer, close: bool, cut: bool) -> bool:
        async def send(data: bytes) -> None:
            w.write(b"%x\r\n%s\r\n" % (len(data), data))
            await w.drain()

        gen_id, created = f"gen-{uuid.uuid4().hex[:24]}", int(time.time())

        def chunk(content: str, finish: str | None, **extra: Any) -> bytes:
            choice = {"index": 0, "delta": {"role": "assistant", "content": content},
                      "finish_reason": finish, "native_finish_reason": finish}  # fmt: skip
            obj = {"id": gen_id, "provider": "Fake", "model": served,
                   "object": "chat.completion.chunk", "created": created}  # fmt: skip
            obj.update({"choices": [choice], **extra})
            return b"data: " + _dumps(obj) + b"\n\n"

        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                   "Transfer-Encoding": "chunked"}  # fmt: skip
        w.write(self._head(200, headers, close))
        await send(COMMENT)
        if m := RE_SLOW_FIRST.search(served):
            deadline = asyncio.get_running_loop().time() + float(m.group(1))
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                await asyncio.sleep(min(0.1, left))
                if left > 0.1:
                    await send(COMMENT)
        slow = RE_SLOW.search(served)
        delay = float(slow.group(1)) if slow else self.chunk_delay
        text = self._reply(body)
        pieces = _split(text)
        broken = cut or bool(RE_STREAM_ERROR.search(served) or RE_FINISH_ERROR.search(served))
        if broken:
            pieces = pieces[:3]
        if (tool := self._tool_name(body, served)) is not None:
            head = {"index": 0, "id": "call_fake1", "type": "function",
                    "function": {"name": tool, "arguments": ""}}  # fmt: skip
            deltas = [head] + [{"index": 0, "function": {"arguments": a}} for a in TOOL_ARGUMENTS]
            for delta in deltas:
                choice = {"index": 0, "delta": {"tool_calls": [delta]}, "finish_reason": None}
                await send(chunk("", None, choices=[choice]))
            done = {"index": 0, "delta": {}, "finish_reason": "tool_calls"}
            await send(chunk("", None, choices=[done]))
            if (usage := self._usage(body, served, "")) is not None:
                await send(chunk("", None, choices=[], usage=usage))
            await send(b"data: [DONE]\n\n")
            w.write(b"0\r\n\r\n")
            await w.drain()
            return True
        loop = asyncio.get_running_loop()
        paced_from = loop.time()
        for i, piece in enumerate(pieces):
            if i and delay > 0:
                # Pace deltas on a fixed schedule, like a model producing tokens at its own speed,
                # so that the timing does not drift with the number of concurrent streams.
                await asyncio.sleep(max(0.0, paced_from + i * delay - loop.time()))
            if i == len(pieces) // 2 and i:
                await send(COMMENT)
            await send(chunk(piece, None))
        if cut:
            return False
        if RE_STREAM_ERROR.search(served):
            error = {"code": "server_error", "message": "Provider disconnected unexpectedly"}
            choice = {"index": 0, "delta": {"content": ""}, "finish_reason": "error"}
            await send(chunk("", None, error=error, choices=[choice]))
        else:
            await send(chunk("", self._finish(served)))
            if (usage := self._usage(body, served, text)) is not None:
                await send(chunk("", None, choices=[], usage=usage))
        await send(b"data: [DONE]\n\n")
        w.write(b"0\r\n\r\n")
        await w.drain()
        return True


async def serve_forever(
    host: str = "127.0.0.1", port: int = 9999, chunk_delay: float = 0.0
) -> None:
    """Run a FakeUpstream in the current event loop until cancelled."""
    fake = FakeUpstream(host=host, port=port, chunk_delay=chunk_delay)
    await fake._serve(lambda: print(f"fake upstream listening on {fake.base_url}", flush=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenRouter/OpenAI/Ollama upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.host, args.port, args.chunk_delay))


if __name__ == "__main__":
    main()
