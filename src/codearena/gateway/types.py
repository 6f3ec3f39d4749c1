"""Requests, results and events of the gateway."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Message = dict[str, str]
EventKind = Literal["start", "delta", "retry", "done"]


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion for one model (``model`` is a catalog id)."""

    model: str
    messages: list[Message]
    temperature: float | None = 0.5
    max_tokens: int | None = None
    fallbacks: tuple[str, ...] = ()
    extra: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)
    """More body fields sent as they are (``stop``, ``tools``, ...; the OpenAI-compatible
    endpoint passes a client's through); the gateway's own fields win over them."""


@dataclass
class CallResult:
    """What one model produced, with every figure measured for the call."""

    model: str
    provider: str
    status: Literal["ok", "error"] = "error"
    text: str = ""
    served_model: str | None = None
    upstream_id: str | None = None
    finish_reason: str | None = None
    error: str | None = None
    error_kind: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_prompt_tokens: int | None = None  # of prompt_tokens, served from the provider's cache
    tokens_estimated: bool = False
    cost_usd: float | None = None
    cost_source: str | None = None
    attempts: int = 0
    tool_calls: list[dict[str, Any]] | None = None
    """The tool calls of the answer (OpenAI's ``message.tool_calls`` shape, streamed deltas
    merged by ``index``), or None when it made none."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GatewayEvent:
    """A step of a call: ``start``, ``delta`` (new text, or tool-call deltas as the upstream
    sent them), ``retry`` (with a reason) or ``done``."""

    index: int
    model: str
    kind: EventKind
    text: str = ""
    result: CallResult | None = field(default=None)
    tool_calls: tuple[dict[str, Any], ...] = ()


Listener = Callable[[GatewayEvent], None]
