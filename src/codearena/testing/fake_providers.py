"""A loopback fake of the built-in providers' OpenAI-compatible endpoints, one wire dialect each.

Each provider is mounted at the path of its documented base URL under ``/<name>``
(``url(name)``; the gateway posts to ``<base>/chat/completions``)::

    hf         /hf/v1                      Hugging Face router
    anthropic  /anthropic/v1               Anthropic's OpenAI SDK compatibility
    gemini     /gemini/v1beta/openai       Gemini's OpenAI compatibility
    mistral    /mistral/v1
    groq       /groq/openai/v1
    together   /together/v1
    deepseek   /deepseek                   (no /v1)

What each dialect does as its provider does (see docs/providers.md for the sources):

* authentication: ``Authorization: Bearer <key>`` with the key given for that provider
  (Anthropic's compatibility endpoint also takes ``x-api-key``); a wrong key gets the provider's
  own refusal (Gemini: HTTP 400 ``API_KEY_INVALID`` in a list; Mistral: ``{"message":
  "Unauthorized"}``);
* errors in the provider's shape (Anthropic ``{"type": "error", "error": {"type", "message"}}``,
  Gemini ``[{"error": {"code", "message", "status", "details"}}]``, Mistral ``{"object": "error",
  ...}``, Hugging Face ``{"error": "text"}``, the others ``{"error": {"message", "type",
  "code"}}``), with its statuses (529 overloaded, 498 flex capacity, 402 balance ...);
* usage where the provider puts it: a last ``"choices": []`` chunk when ``stream_options.
  include_usage`` is asked (Hugging Face, Anthropic, Groq, DeepSeek), with the finish chunk unasked
  (Mistral, Together, Gemini), Groq's ``x_groq.usage`` on its finish chunk, DeepSeek's
  ``prompt_cache_hit_tokens`` / ``prompt_cache_miss_tokens``; Mistral refuses ``stream_options``
  with its 422; DeepSeek sends ``: keep-alive`` comments; Gemini ends lines with CRLF;
  Together repeats ``"usage": null`` and ``text`` on every chunk.

Scenarios by keywords in the requested model (not glued to letters or digits):

    error-NNN        that status with the provider's body for it (429 adds Retry-After: 1,
                     Gemini's 429 a RetryInfo of 1s instead)
    flaky-NNN-N      the first N requests for this model string get error-NNN, then an answer
    stream-error     HTTP 200, then the provider's in-stream error before any text
    late-error       3 deltas, then the in-stream error (the text so far is kept)
    echo-key         a 401 whose message repeats the key it was sent
    cached-N         DeepSeek: N of the prompt tokens reported as cache hits
    x-groq-only      Groq: no usage chunk, only x_groq.usage
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from codearena.testing.fake_upstream import (
    Body,
    FakeUpstream,
    RecordedRequest,
    Writer,
    _dumps,
    _kw,
    _split,
    _text_of,
)

PATHS: dict[str, str] = {
    "hf": "/hf/v1",
    "anthropic": "/anthropic/v1",
    "gemini": "/gemini/v1beta/openai",
    "mistral": "/mistral/v1",
    "groq": "/groq/openai/v1",
    "together": "/together/v1",
    "deepseek": "/deepseek",
}
RE_ERROR = _kw(r"error-(\d{3})")
RE_FLAKY = _kw(r"flaky-(\d{3})-(\d+)")
RE_CACHED = _kw(r"cached-(\d+)")
RE_STREAM_ERROR, RE_LATE_ERROR = _kw("stream-error"), _kw("late-error")
RE_ECHO_KEY, RE_X_GROQ_ONLY = _kw("echo-key"), _kw("x-groq-only")
Reply = tuple[int, Any, dict[str, str]]


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


# ----------------------------------------------------------------- each provider's error bodies
_PHRASES: dict[int, str] = {
    400: "Invalid request",
    401: "Invalid API key",
    402: "Payment required",
    403: "Forbidden",
    404: "The model does not exist",
    413: "Request too large",
    422: "Invalid parameters",
    429: "Rate limit reached",
    498: "Flex tier capacity exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    529: "Overloaded",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_GOOGLE = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def anthropic_error(status: int, message: str | None = None) -> Any:
    if status == 400 and message is None:
        message = (
            "Your credit balance is too low to access the Anthropic API. "
            "Please go to Plans & Billing to upgrade or purchase credits."
        )
    kind = _ANTHROPIC_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or _PHRASES.get(status, "Error")},
        "request_id": _request_id(),
    }


def gemini_error(status: int, message: str | None = None, reason: str | None = None) -> Any:
    error: dict[str, Any] = {
        "code": status,
        "message": message or _PHRASES.get(status, "Error"),
        "status": _GOOGLE.get(status, "UNKNOWN"),
    }
    if reason:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
             "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
        ]  # fmt: skip
    if status == 429:
        error["message"] = message or (
            "You exceeded your current quota, please check your plan and billing details."
        )
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"},
        ]
    return [{"error": error}]


def mistral_error(status: int, message: str | None = None) -> Any:
    if status == 401:
        return {"message": message or "Unauthorized", "request_id": uuid.uuid4().hex}
    if status == 422 and message is None:
        detail = [{"type": "extra_forbidden", "loc": ["body", "stream_options"],
                   "msg": "Extra inputs are not permitted", "input": {"include_usage": True}}]  # fmt: skip
        return {"object": "error", "message": {"detail": detail},
                "type": "invalid_request_error", "param": None, "code": None}  # fmt: skip
    kinds = {429: ("rate_limited", "1300"), 500: ("internal_error", "3000")}
    kind, code = kinds.get(status, ("invalid_request_error", "1000"))
    return {"object": "error", "message": message or _PHRASES.get(status, "Error"),
            "type": kind, "param": None, "code": code}  # fmt: skip


def hf_error(status: int, message: str | None = None) -> Any:
    if status == 402 and message is None:
        message = (
            "You have exceeded your monthly included credits for Inference Providers. "
            "Subscribe to PRO to get 20x more monthly included credits."
        )
    if status == 401 and message is None:
        message = "Invalid credentials in Authorization header"
    return {"error": message or _PHRASES.get(status, "Error")}


def openai_style_error(name: str, status: int, message: str | None = None) -> Any:
    """Groq, Together and DeepSeek: ``{"error": {"message", "type", "code"}}``."""
    codes = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded",
             498: "capacity_exceeded", 402: "insufficient_balance"}  # fmt: skip
    if name == "deepseek":
        message = message or {402: "Insufficient Balance", 503: "Server Overloaded",
                              422: "Invalid Parameters", 401: "Authentication Fails"}.get(status)  # fmt: skip
    kind = "invalid_request_error" if status < 500 else "internal_server_error"
    error = {"message": message or _PHRASES.get(status, "Error"), "type": kind,
             "param": None, "code": codes.get(status)}  # fmt: skip
    body: dict[str, Any] = {"error": error}
    if name == "together":
        body["id"] = uuid.uuid4().hex
    return body


def error_body(name: str, status: int, message: str | None = None) -> Any:
    """The body ``name`` answers ``status`` with."""
    if name == "anthropic":
        return anthropic_error(status, message)
    if name == "gemini":
        return gemini_error(status, message)
    if name == "mistral":
        return mistral_error(status, message)
    if name == "hf":
        return hf_error(status, message)
    return openai_style_error(name, status, message)


def stream_error_event(name: str) -> Any:
    """The error a provider sends inside a 200 stream (an overload, retryable)."""
    if name == "anthropic":
        return anthropic_error(529)
    if name == "gemini":
        return gemini_error(503, "The model is overloaded. Please try again later.")
    return {"error": {"message": "Server overloaded, please retry", "type": "server_error",
                      "code": 503 if name in ("hf", "deepseek") else "server_error"}}  # fmt: skip


class FakeProviders(FakeUpstream):
    """The seven built-in providers on one loopback port; see the module docstring."""

    def __init__(self, *, keys: dict[str, str], host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        self.keys = dict(keys)

    def __enter__(self) -> FakeProviders:
        self.start()
        return self

    def url(self, name: str) -> str:
        """``name``'s base URL on this server (what ``<NAME>_BASE_URL`` is set to)."""
        return f"{self.root_url}{PATHS[name]}"

    def chats(self, name: str) -> list[RecordedRequest]:
        """The chat requests that reached ``name``'s endpoint, in order."""
        with self._lock:
            return [r for r in self.requests if self._route(r.path) == (name, True)]

    @staticmethod
    def _route(path: str) -> tuple[str | None, bool]:
        path = path.split("?")[0].rstrip("/")
        for name, prefix in PATHS.items():
            if path.startswith(prefix + "/") or path == prefix:
                return name, path == f"{prefix}/chat/completions"
        return None, False

    def _authorized(self, name: str, req: RecordedRequest) -> tuple[bool, str]:
        auth = req.headers.get("authorization", "")
        sent = auth[7:] if auth.lower().startswith("bearer ") else ""
        if name == "anthropic" and not sent:
            sent = req.headers.get("x-api-key", "")
        return sent == self.keys.get(name), sent

    async def _dispatch(self, req: RecordedRequest, w: Writer, close: bool) -> bool:
        name, is_chat = self._route(req.path)
        if name is None:
            msg = f"Not found: {req.method} {req.path}"
            await self._send_json(w, 404, {"error": {"code": 404, "message": msg}}, close)
            return True
        body = req.body or {}
        model = str(body.get("model", ""))
        ok, sent = self._authorized(name, req)
        if not ok:
            message = f"Invalid API key: {sent}" if RE_ECHO_KEY.search(model) else None
            status, payload = 401, error_body(name, 401, message)
            if name == "gemini":
                status = 400
                payload = gemini_error(
                    400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"
                )
            await self._send_json(w, status, payload, close)
            return True
        if not is_chat or req.method != "POST":
            await self._send_json(w, 404, error_body(name, 404, f"no route {req.path}"), close)
            return True
        if name == "mistral" and "stream_options" in body:
            await self._send_json(w, 422, mistral_error(422), close)
            return True
        failing = self._failure_status(model)
        if failing is not None:
            extra: dict[str, str] = {}
            if failing == 429 and name != "gemini":
                extra["Retry-After"] = "1"
            await self._send_json(w, failing, error_body(name, failing), close, **extra)
            return True
        return await self._answer(name, body, model, w, close)

    def _failure_status(self, model: str) -> int | None:
        if m := RE_ERROR.search(model):
            return int(m.group(1))
        if m := RE_FLAKY.search(model):
            with self._lock:
                seen = self._attempts[model] = self._attempts.get(model, 0) + 1
            if seen <= int(m.group(2)):
                return int(m.group(1))
        return None

    @staticmethod
    def _provider_usage(name: str, body: Body, model: str, text: str) -> dict[str, Any]:
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
        if name == "deepseek":
            hit = min(int(m.group(1)), prompt) if (m := RE_CACHED.search(model)) else 0
            usage["prompt_cache_hit_tokens"] = hit
            usage["prompt_cache_miss_tokens"] = prompt - hit
        if name == "groq":
            usage.update(queue_time=0.01, prompt_time=0.002, completion_time=0.02, total_time=0.03)
        return usage

    async def _answer(self, name: str, body: Body, model: str, w: Writer, close: bool) -> bool:
        newline = b"\r\n" if name == "gemini" else b"\n"

        async def send(data: bytes) -> None:
            w.write(b"%x\r\n%s\r\n" % (len(data), data))
            await w.drain()

        async def event(obj: Any) -> None:
            await send(b"data: " + _dumps(obj) + newline + newline)

        chat_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(content: str | None, finish: str | None, **extra: Any) -> dict[str, Any]:
            delta: dict[str, Any] = {} if content is None else {"content": content}
            if content is not None and name != "gemini":
                delta["role"] = "assistant"
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
            if name == "together":
                choice.update(text=content or "", logprobs=None)
            obj = {"id": chat_id, "object": "chat.completion.chunk", "created": created,
                   "model": model, "choices": [choice]}  # fmt: skip
            if name == "together":
                obj["usage"] = None
            obj.update(extra)
            return obj

        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                   "Transfer-Encoding": "chunked"}  # fmt: skip
        w.write(self._head(200, headers, close))
        if name == "deepseek":
            await send(b": keep-alive\n\n")
        if RE_STREAM_ERROR.search(model):
            await event(stream_error_event(name))
            await send(b"data: [DONE]\n\n")
            w.write(b"0\r\n\r\n")
            await w.drain()
            return True
        text = self._reply(body)
        pieces = _split(text)
        late = bool(RE_LATE_ERROR.search(model))
        for piece in pieces[:3] if late else pieces:
            await event(chunk(piece, None))
        if late:
            await event(stream_error_event(name))
        else:
            usage = self._provider_usage(name, body, model, text)
            asked = bool((body.get("stream_options") or {}).get("include_usage"))
            if name in ("mistral", "together", "gemini"):
                await event(chunk("" if name != "gemini" else None, "stop", usage=usage))
            elif name == "groq":
                x_groq = {"id": _request_id(), "usage": usage}
                await event(chunk(None, "stop", x_groq=x_groq))
                if asked and not RE_X_GROQ_ONLY.search(model):
                    await event(chunk(None, None, choices=[], usage=usage))
            else:
                await event(chunk(None, "stop"))
                if asked:
                    await event(chunk(None, None, choices=[], usage=usage))
        await send(b"data: [DONE]" + newline + newline)
        w.write(b"0\r\n\r\n")
        await w.drain()
        return True
