"""Token usage and cost as each provider reports them in a stream, read in one place.

How a stream's usage is asked for (``usage_request``):

* OpenRouter: ``"usage": {"include": true}``, which also brings ``usage.cost`` (USD);
* OpenAI, Ollama, Anthropic's compatibility endpoint, Groq, DeepSeek, Hugging Face and any
  configured provider: ``stream_options.include_usage``, answered by a last chunk with
  ``"choices": []`` and ``usage``;
* Mistral, Gemini and Together: nothing. They send ``usage`` unasked with the chunk that carries
  ``finish_reason``, and Mistral refuses ``stream_options`` (HTTP 422, "Extra inputs are not
  permitted").

Where it is found (``usage_in``): ``usage`` on any chunk (the last one wins), else Groq's
``x_groq.usage`` on its final chunk. Prompt tokens served from a cache (``read_usage``):
DeepSeek's ``prompt_cache_hit_tokens``, else ``prompt_tokens_details.cached_tokens``. Cost: only
OpenRouter sends one (``usage.cost``); for the others the catalog's prices apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_STREAM_OPTIONS: dict[str, Any] = {"stream_options": {"include_usage": True}}
_REQUEST: dict[str, dict[str, Any]] = {
    "openrouter": {"usage": {"include": True}},
    "mistral": {},
    "gemini": {},
    "together": {},
}


# Fields a provider refuses outright (HTTP 422), even when a client passed them through.
_REFUSED: dict[str, tuple[str, ...]] = {"mistral": ("stream_options",)}


def usage_request(provider: str) -> dict[str, Any]:
    """The body fields that ask ``provider`` for usage in a streamed answer (a new dict of
    new dicts: the caller may change them)."""
    fields = _REQUEST.get(provider, _STREAM_OPTIONS)
    return {name: dict(value) for name, value in fields.items()}


def ask_for_usage(body: dict[str, Any], provider: str) -> None:
    """Add ``usage_request(provider)`` to a request body, dropping what ``provider`` refuses."""
    for name in _REFUSED.get(provider, ()):
        body.pop(name, None)
    body.update(usage_request(provider))


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # part of prompt_tokens served from the provider's cache
    cost_usd: float | None = None  # the upstream's own figure, if it sends one


def usage_in(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """The usage object a chunk (or a whole body) carries, if any."""
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        return usage
    groq = chunk.get("x_groq")
    inner = groq.get("usage") if isinstance(groq, dict) else None
    return inner if isinstance(inner, dict) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_usage(raw: dict[str, Any] | None) -> Usage | None:
    """Token counts (and an upstream cost) from a usage object; None without both counts."""
    if not raw:
        return None
    prompt, completion = _count(raw.get("prompt_tokens")), _count(raw.get("completion_tokens"))
    if prompt is None or completion is None:
        return None
    cached = _count(raw.get("prompt_cache_hit_tokens"))
    if cached is None:
        details = raw.get("prompt_tokens_details")
        cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else None
    cost = raw.get("cost")
    upstream_cost = (
        float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
    )
    return Usage(prompt, completion, min(cached or 0, prompt), upstream_cost)
