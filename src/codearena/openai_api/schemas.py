"""The request of ``POST /v1/chat/completions`` and the bodies the endpoint answers with.

Fields the endpoint does not interpret (``stop``, ``tools``, ``tool_choice``, ``top_p``,
``seed``, ``response_format``, ...) are kept in ``model_extra`` and sent to the upstream as
they are. Two extension fields choose fallbacks, tried in order when a model fails before
answering: OpenRouter's ``"models": [...]`` and ``"codearena": {"fallbacks": [...]}``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from codearena.gateway import CallResult


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class Extension(BaseModel):
    """``"codearena": {...}`` in a request."""

    model_config = ConfigDict(extra="forbid")

    fallbacks: list[str] = Field(default_factory=list)


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    models: list[str] | None = None
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    codearena: Extension | None = None

    def route(self) -> tuple[str, tuple[str, ...]]:
        """``(model, fallbacks)``: ``model`` first, then ``models`` and the extension's."""
        candidates = [*(self.models or ()), *(self.codearena.fallbacks if self.codearena else ())]
        model = self.model or (candidates[0] if candidates else None)
        if not model:
            raise ValueError("'model' is required (or a non-empty 'models' list)")
        return model, tuple(dict.fromkeys(m for m in candidates if m != model))

    def passthrough(self) -> dict[str, Any] | None:
        """The fields sent to the upstream as they are."""
        return dict(self.model_extra) if self.model_extra else None


def prompt_of(messages: list[dict[str, Any]]) -> str:
    """The stored task's prompt: the text of the last user message."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(
                    str(part.get("text", "")) for part in content if isinstance(part, dict)
                )
    return ""


def usage_of(result: CallResult) -> dict[str, Any] | None:
    if result.prompt_tokens is None or result.completion_tokens is None:
        return None
    usage: dict[str, Any] = {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }
    if result.cost_usd is not None:
        usage["cost"] = result.cost_usd  # OpenRouter's extension: USD
    return usage


def message_of(result: CallResult) -> dict[str, Any]:
    """The answer as OpenAI's assistant message: ``content`` is null when the answer is only
    tool calls, as OpenAI sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": result.text, "refusal": None}
    if result.tool_calls:
        message["tool_calls"] = result.tool_calls
        message["content"] = result.text or None
    return message


def completion(completion_id: str, created: int, model: str, result: CallResult) -> bytes:
    """The body of a non-streamed answer."""
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message_of(result),
                "logprobs": None,
                "finish_reason": result.finish_reason or "stop",
            }
        ],
        "usage": usage_of(result),
    }
    return json.dumps(body).encode()


class ChunkWriter:
    """SSE frames of one streamed answer; the constant part of a chunk is encoded once."""

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        fixed = {"id": completion_id, "object": "chat.completion.chunk", "created": created}
        head = json.dumps({**fixed, "model": model})[:-1]
        self._head = f"data: {head}, ".encode()
        self._tail = b', "usage": null}\n\n' if include_usage else b"}\n\n"
        self.include_usage = include_usage

    def _frame(self, choices: str) -> bytes:
        return self._head + b'"choices": ' + choices.encode() + self._tail

    def role(self) -> bytes:
        return self._frame(
            '[{"index": 0, "delta": {"role": "assistant", "content": ""}, '
            '"logprobs": null, "finish_reason": null}]'
        )

    def delta(self, text: str) -> bytes:
        return self._frame(
            '[{"index": 0, "delta": {"content": '
            + json.dumps(text)
            + '}, "logprobs": null, "finish_reason": null}]'
        )

    def tool_calls(self, deltas: tuple[dict[str, Any], ...]) -> bytes:
        """Tool-call deltas relayed as the upstream sent them (merged by ``index`` at the end)."""
        return self._frame(
            '[{"index": 0, "delta": {"tool_calls": '
            + json.dumps(list(deltas))
            + '}, "logprobs": null, "finish_reason": null}]'
        )

    def finish(self, reason: str) -> bytes:
        return self._frame(
            '[{"index": 0, "delta": {}, "logprobs": null, "finish_reason": '
            + json.dumps(reason)
            + "}]"
        )

    def usage(self, result: CallResult) -> bytes:
        usage = json.dumps(usage_of(result))
        return self._head + b'"choices": [], "usage": ' + usage.encode() + b"}\n\n"

    @staticmethod
    def error(body: bytes) -> bytes:
        return b"data: " + body + b"\n\n"

    DONE = b"data: [DONE]\n\n"
