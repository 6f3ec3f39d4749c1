"""Providers and models: the study's preset, OpenRouter's listing, local Ollama models.

Model ids: ``provider:model`` names a route explicitly (``openai:gpt-4o``,
``ollama:qwen2.5-coder:7b``, ``anthropic:claude-sonnet-4-5``, ``hf:openai/gpt-oss-120b``); an id
without a known provider prefix goes through OpenRouter, as in the study (``openai/gpt-4o``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from codearena.config import ProviderConfig, Settings

PRESETS: dict[str, tuple[tuple[str, str], ...]] = {
    "study-2025": (
        ("openai/gpt-3.5-turbo", "GPT 3.5 Turbo"),
        ("openai/gpt-4", "GPT 4"),
        ("openai/gpt-4-turbo", "GPT 4 Turbo"),
        ("openai/chatgpt-4o-latest", "GPT 4o"),
        ("google/gemini-flash-1.5-8b", "Gemini 1.5 Flash-8B"),
        ("meta-llama/llama-3.2-3b-instruct", "Llama 3.2 3B Instruct"),
        ("mistralai/mixtral-8x7b-instruct", "Mixtral 8x7B Instruct"),
    )
}


# A few models of each built-in provider preset (config.PROVIDER_PRESETS), so that `codearena
# models` lists every provider with its status. No prices: they change too often to be built in
# (declare them with [[models]]); without one a call's cost is unknown, never 0.
PROVIDER_MODELS: tuple[tuple[str, str], ...] = (
    ("hf:openai/gpt-oss-120b", "GPT-OSS 120B (Hugging Face)"),
    ("hf:Qwen/Qwen2.5-Coder-32B-Instruct", "Qwen 2.5 Coder 32B Instruct (Hugging Face)"),
    ("anthropic:claude-sonnet-4-5", "Claude Sonnet 4.5"),
    ("anthropic:claude-haiku-4-5", "Claude Haiku 4.5"),
    ("gemini:gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("gemini:gemini-2.5-pro", "Gemini 2.5 Pro"),
    ("mistral:codestral-latest", "Codestral"),
    ("mistral:mistral-large-latest", "Mistral Large"),
    ("groq:llama-3.3-70b-versatile", "Llama 3.3 70B Versatile (Groq)"),
    ("together:meta-llama/Llama-3.3-70B-Instruct-Turbo", "Llama 3.3 70B Instruct Turbo (Together)"),
    ("deepseek:deepseek-chat", "DeepSeek Chat"),
    ("deepseek:deepseek-reasoner", "DeepSeek Reasoner"),
)


class UnknownModel(ValueError):
    """A model id that no catalog entry or provider prefix explains."""

    def __init__(self, model_id: str, suggestions: list[str]) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"unknown model '{model_id}'.{hint} Run `codearena models` to list known models, "
            f"`codearena models sync` to fetch OpenRouter's full list, or write "
            f"'openrouter:{model_id}' to send it to OpenRouter as it is."
        )
        self.model_id = model_id
        self.suggestions = suggestions


@dataclass(frozen=True)
class ModelInfo:
    id: str
    label: str
    provider: str
    upstream_id: str
    context_length: int | None = None
    price_input_per_m: float | None = None
    price_output_per_m: float | None = None
    source: str = "preset"
    presets: tuple[str, ...] = ()
    price_cached_input_per_m: float | None = None

    def cost_usd(
        self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
    ) -> float | None:
        """USD for a call from the catalog's prices; None (unknown) without a price. Prompt
        tokens a provider served from its cache (``cached_tokens``, part of ``prompt_tokens``)
        are billed at the cached price; without one the cost is unknown rather than the full
        input price, which would overstate it."""
        if self.price_input_per_m is None or self.price_output_per_m is None:
            return None
        cached = min(max(cached_tokens, 0), prompt_tokens)
        if cached and self.price_cached_input_per_m is None:
            return None
        cached_cost = cached * (self.price_cached_input_per_m or 0.0)
        return (
            (prompt_tokens - cached) * self.price_input_per_m
            + cached_cost
            + completion_tokens * self.price_output_per_m
        ) / 1_000_000


@dataclass(frozen=True)
class Route:
    model: ModelInfo
    provider: ProviderConfig


def split_model_id(model_id: str, providers: Iterable[str]) -> tuple[str, str]:
    """``(provider, upstream model)`` for an id; OpenRouter when no known prefix is given."""
    prefix, sep, rest = model_id.partition(":")
    if sep and prefix in set(providers) and rest:
        return prefix, rest
    return "openrouter", model_id


def canonical_id(provider: str, upstream: str) -> str:
    return upstream if provider == "openrouter" else f"{provider}:{upstream}"


class Catalog:
    """Every model codearena knows, merged from presets, synced rows, config and Ollama."""

    def __init__(self, settings: Settings, extra: Iterable[ModelInfo] = ()) -> None:
        self.settings = settings
        self._models: dict[str, ModelInfo] = {}
        for preset, entries in PRESETS.items():
            for model_id, label in entries:
                self._add(ModelInfo(model_id, label, "openrouter", model_id, presets=(preset,)))
        for model_id, label in PROVIDER_MODELS:
            provider, upstream = split_model_id(model_id, settings.providers)
            if provider != "openrouter":  # its provider is configured (it may be replaced)
                self._add(ModelInfo(model_id, label, provider, upstream, source="builtin"))
        for info in extra:
            self._add(info)
        for declared in settings.models:
            provider, upstream = split_model_id(declared.id, settings.providers)
            self._add(
                ModelInfo(
                    canonical_id(provider, upstream),
                    declared.label,
                    provider,
                    upstream,
                    declared.context_length,
                    declared.price_input_per_m,
                    declared.price_output_per_m,
                    source="config",
                    price_cached_input_per_m=declared.price_cached_input_per_m,
                )
            )

    def _add(self, info: ModelInfo) -> None:
        old = self._models.get(info.id)
        if old is None:
            self._models[info.id] = info
            return
        self._models[info.id] = replace(
            old,
            label=old.label if old.source in {"preset", "config"} else info.label,
            context_length=info.context_length or old.context_length,
            price_input_per_m=_first(info.price_input_per_m, old.price_input_per_m),
            price_output_per_m=_first(info.price_output_per_m, old.price_output_per_m),
            price_cached_input_per_m=_first(
                info.price_cached_input_per_m, old.price_cached_input_per_m
            ),
            source=info.source if old.source != "config" else old.source,
        )

    def add(self, models: Iterable[ModelInfo]) -> None:
        for info in models:
            self._add(info)

    def all(self) -> list[ModelInfo]:
        return list(self._models.values())

    def preset(self, name: str) -> list[ModelInfo]:
        if name not in PRESETS:
            raise ValueError(f"unknown preset '{name}'; known presets: {', '.join(PRESETS)}")
        return [self._models[model_id] for model_id, _ in PRESETS[name]]

    def get(self, model_id: str) -> ModelInfo | None:
        return self._models.get(model_id)

    def resolve(self, model_id: str) -> Route:
        """The route for ``model_id``; raises :class:`UnknownModel` for an unknown id."""
        model_id = model_id.strip()
        provider, upstream = split_model_id(model_id, self.settings.providers)
        canonical = canonical_id(provider, upstream)
        info = self._models.get(canonical)
        explicit = model_id.startswith(f"{provider}:")
        if info is None:
            if not explicit:
                raise UnknownModel(model_id, self.suggest(model_id))
            info = ModelInfo(canonical, upstream, provider, upstream, source="adhoc")
        return Route(info, self.settings.providers[provider])

    def suggest(self, model_id: str) -> list[str]:
        ids = list(self._models)
        by_label = {m.label.lower(): m.id for m in self._models.values()}
        close = difflib.get_close_matches(model_id, ids, n=3, cutoff=0.5)
        close += [
            by_label[label]
            for label in difflib.get_close_matches(
                model_id.lower(), list(by_label), n=3, cutoff=0.5
            )
        ]
        tail = [i for i in ids if model_id.lower() in i.lower()]
        return list(dict.fromkeys(close + tail))[:5]

    def status(self, info: ModelInfo, reachable: dict[str, bool] | None = None) -> str:
        provider = self.settings.providers.get(info.provider)
        if provider is None:
            return f"unknown provider '{info.provider}'"
        return provider_status(provider, reachable)


def provider_status(provider: ProviderConfig, reachable: Mapping[str, bool] | None = None) -> str:
    """``ready``, ``missing key: set VAR`` or ``unreachable`` (a local server that did not answer
    the probe in ``reachable``): what ``codearena info``, ``codearena models`` and the web
    platform's home page show."""
    if provider.needs_key and not provider.has_key:
        return f"missing key: set {provider.key_env}"
    if reachable is not None and reachable.get(provider.name) is False:
        return "unreachable"
    return "ready"


async def probe_reachability(settings: Settings, timeout: float = 0.5) -> dict[str, bool]:
    """Which local providers answer now (Ollama's tag list within ``timeout`` seconds)."""
    if "ollama" not in settings.providers:
        return {}
    async with httpx.AsyncClient() as client:
        found = await discover_ollama(settings.providers["ollama"], client, timeout=timeout)
    return {"ollama": found is not None}


def _first(a: float | None, b: float | None) -> float | None:
    return a if a is not None else b


def _per_million(value: Any) -> float | None:
    """OpenRouter prices are strings in USD per token; -1 means 'variable'."""
    try:
        per_token = float(value)
    except (TypeError, ValueError):
        return None
    if per_token < 0:
        return None
    return round(per_token * 1_000_000, 6)


def parse_openrouter_models(listing: dict[str, Any]) -> list[ModelInfo]:
    models = []
    for entry in listing.get("data", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        pricing = entry.get("pricing") or {}
        context = entry.get("context_length")
        models.append(
            ModelInfo(
                id=entry["id"],
                label=str(entry.get("name") or entry["id"]),
                provider="openrouter",
                upstream_id=entry["id"],
                context_length=context if isinstance(context, int) else None,
                price_input_per_m=_per_million(pricing.get("prompt")),
                price_output_per_m=_per_million(pricing.get("completion")),
                source="synced",
            )
        )
    return models


async def fetch_openrouter_models(
    provider: ProviderConfig, client: httpx.AsyncClient
) -> list[ModelInfo]:
    response = await client.get(f"{provider.base_url}/models", timeout=30.0)
    response.raise_for_status()
    return parse_openrouter_models(response.json())


async def discover_ollama(
    provider: ProviderConfig, client: httpx.AsyncClient, timeout: float = 1.0
) -> list[ModelInfo] | None:
    """Local models of an Ollama server, or None when it does not answer."""
    root = provider.base_url.removesuffix("/v1")
    try:
        response = await client.get(f"{root}/api/tags", timeout=timeout)
        response.raise_for_status()
        payload = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    models = []
    for entry in payload.get("models", []):
        name = entry.get("name") or entry.get("model")
        if isinstance(name, str):
            models.append(
                ModelInfo(
                    f"ollama:{name}", f"{name} (Ollama)", "ollama", name, None, 0.0, 0.0, "ollama"
                )
            )
    return models
