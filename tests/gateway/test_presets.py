"""The built-in provider presets against loopback fakes of each provider's wire dialect."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from codearena.catalog import Catalog
from codearena.config import PROVIDER_PRESETS, ConfigError, Settings, load_settings
from codearena.gateway import CallResult, ChatRequest, Gateway
from codearena.gateway.errors import from_status, parse_error
from codearena.testing.fake_providers import PATHS, FakeProviders
from codearena.testing.fake_upstream import DEFAULT_REPLY
from tests.conftest import fast

NAMES = ("hf", "anthropic", "gemini", "mistral", "groq", "together", "deepseek")
KEY_ENV = {
    "hf": "HF_TOKEN",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "together": "TOGETHER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
}
DOCUMENTED_URL = {
    "hf": "https://router.huggingface.co/v1",
    "anthropic": "https://api.anthropic.com/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai",
    "mistral": "https://api.mistral.ai/v1",
    "groq": "https://api.groq.com/openai/v1",
    "together": "https://api.together.xyz/v1",
    "deepseek": "https://api.deepseek.com",
}
KEYS = {name: f"key-{name}-{uuid.uuid4().hex[:12]}" for name in NAMES}
MESSAGES = [{"role": "user", "content": "please write add(a, b) in python"}]  # 6 words: 6 tokens
# Without stream_options they send usage anyway; Mistral refuses the field with a 422.
UNASKED_USAGE = {"mistral", "gemini", "together"}


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for preset in PROVIDER_PRESETS:
        for var in (preset.key_env, f"{preset.key_env}_FILE", preset.base_url_env):
            monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with FakeProviders(keys=KEYS) as server:
        yield server


@pytest.fixture
def preset_env(env: Path, providers: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every preset pointed at its fake (``<NAME>_BASE_URL``) with its key set."""
    _clear(monkeypatch)
    for name in NAMES:
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", providers.url(name))
        monkeypatch.setenv(KEY_ENV[name], KEYS[name])
    return env


@pytest.fixture
def preset_settings(preset_env: Path) -> Settings:
    return fast(load_settings())


async def call(settings: Settings, model: str) -> tuple[CallResult, list[float]]:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    async with Gateway(settings, Catalog(settings), sleep=sleep) as gateway:
        result = await gateway.complete(ChatRequest(model, MESSAGES))
    return result, delays


def model_of(scenario: str) -> str:
    return f"fake-{scenario}-{uuid.uuid4().hex[:8]}"


def sent(providers: FakeProviders, name: str, model: str) -> list[dict[str, object]]:
    return [
        {"path": r.path, "headers": r.headers, "body": r.body}
        for r in providers.chats(name)
        if r.body and r.body.get("model") == model
    ]


# ----------------------------------------------------------------- presets and routing


def test_each_preset_at_its_documented_base_url(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    settings = load_settings()
    for name in NAMES:
        provider = settings.providers[name]
        assert provider.base_url == DOCUMENTED_URL[name]
        assert provider.key_env == KEY_ENV[name] and provider.needs_key
        assert not provider.has_key
    assert {"openrouter", "openai", "ollama"} <= set(settings.providers)


def test_base_url_is_overridden_by_its_variable(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("HF_BASE_URL", "http://127.0.0.1:8099/hf-proxy/v1/")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", "http://10.0.0.2/deepseek/v1")
    settings = load_settings()
    assert settings.providers["hf"].base_url == "http://127.0.0.1:8099/hf-proxy/v1"
    assert settings.providers["deepseek"].base_url == "http://10.0.0.2/deepseek/v1"
    assert settings.providers["groq"].base_url == DOCUMENTED_URL["groq"]


def test_prefixes_route_to_their_provider_and_old_ids_keep_theirs(
    preset_settings: Settings,
) -> None:
    catalog = Catalog(preset_settings)
    for name in NAMES:
        route = catalog.resolve(f"{name}:some/model:tag")
        assert route.provider.name == name and route.model.upstream_id == "some/model:tag"
    assert catalog.resolve("openai:gpt-4o").provider.name == "openai"
    assert catalog.resolve("ollama:qwen2.5-coder:7b").provider.name == "ollama"
    assert catalog.resolve("openai/gpt-4").provider.name == "openrouter"
    assert catalog.resolve("google/gemini-flash-1.5-8b").provider.name == "openrouter"


@pytest.mark.parametrize("name", NAMES)
async def test_streamed_answer_at_the_right_path_with_the_key_and_usage(
    preset_settings: Settings, providers: FakeProviders, name: str
) -> None:
    model = model_of("ok")
    result, _ = await call(preset_settings, f"{name}:{model}")
    assert result.status == "ok", result.error
    assert result.provider == name and result.text == DEFAULT_REPLY
    assert result.finish_reason == "stop" and result.served_model == model
    requests = sent(providers, name, model)
    assert len(requests) == 1
    request = requests[0]
    assert request["path"] == f"{PATHS[name]}/chat/completions"
    headers = request["headers"]
    assert isinstance(headers, dict) and headers["authorization"] == f"Bearer {KEYS[name]}"
    body = request["body"]
    assert isinstance(body, dict) and body["stream"] is True and body["messages"] == MESSAGES
    assert ("stream_options" in body) == (name not in UNASKED_USAGE)
    assert "usage" not in body, "OpenRouter's usage.include is OpenRouter's alone"
    assert (result.prompt_tokens, result.completion_tokens) == (6, len(DEFAULT_REPLY) // 4)
    assert not result.tokens_estimated
    assert result.cost_usd is None and result.cost_source is None, "no price: cost unknown"


async def test_groq_usage_from_x_groq_alone(
    preset_settings: Settings, providers: FakeProviders
) -> None:
    result, _ = await call(preset_settings, f"groq:{model_of('x-groq-only')}")
    assert result.status == "ok"
    assert (result.prompt_tokens, result.completion_tokens) == (6, len(DEFAULT_REPLY) // 4)
    assert not result.tokens_estimated


async def test_a_clients_stream_options_never_reach_mistral(
    preset_settings: Settings, providers: FakeProviders
) -> None:
    model = model_of("ok")
    request = ChatRequest(
        f"mistral:{model}", MESSAGES, extra={"stream_options": {"include_usage": True}}
    )
    async with Gateway(preset_settings, Catalog(preset_settings)) as gateway:
        result = await gateway.complete(request)
    assert result.status == "ok", result.error
    assert result.prompt_tokens == 6 and not result.tokens_estimated
    body = sent(providers, "mistral", model)[0]["body"]
    assert isinstance(body, dict) and "stream_options" not in body


async def test_mistral_refuses_stream_options_with_its_422(providers: FakeProviders) -> None:
    body = {"model": "m", "messages": MESSAGES, "stream": True, "stream_options": {"x": 1}}
    headers = {"Authorization": f"Bearer {KEYS['mistral']}"}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{providers.url('mistral')}/chat/completions", json=body, headers=headers
        )
    assert response.status_code == 422
    error = from_status(
        422, response.json(), provider="mistral", key_env="MISTRAL_API_KEY", retry_after=None
    )
    assert error.kind == "bad_request" and not error.retryable
    assert "body.stream_options: Extra inputs are not permitted" in error.message


# ----------------------------------------------------------------- errors: kind and retry decision

ERRORS = [
    ("anthropic", 529, "unavailable", True, "overloaded"),
    ("anthropic", 429, "rate_limited", True, "rate limited"),
    ("anthropic", 400, "credits", False, "credit balance is too low"),
    ("anthropic", 403, "forbidden", False, "refused"),
    ("anthropic", 413, "bad_request", False, "too large"),
    ("gemini", 429, "rate_limited", True, "exceeded your current quota"),
    ("gemini", 400, "bad_request", False, "Invalid request"),
    ("gemini", 503, "unavailable", True, "unavailable"),
    ("gemini", 404, "not_found", False, "not found"),
    ("mistral", 429, "rate_limited", True, "Rate limit reached"),
    ("mistral", 500, "unavailable", True, "unavailable"),
    ("groq", 498, "unavailable", True, "no capacity"),
    ("groq", 413, "bad_request", False, "too large"),
    ("groq", 404, "not_found", False, "does not exist"),
    ("together", 503, "unavailable", True, "unavailable"),
    ("together", 429, "rate_limited", True, "rate limited"),
    ("deepseek", 402, "credits", False, "Insufficient Balance"),
    ("deepseek", 422, "bad_request", False, "Invalid Parameters"),
    ("deepseek", 503, "unavailable", True, "Server Overloaded"),
    ("hf", 402, "credits", False, "monthly included credits"),
    ("hf", 404, "not_found", False, "not found"),
    ("hf", 503, "unavailable", True, "unavailable"),
]


@pytest.mark.parametrize(("name", "status", "kind", "retried", "words"), ERRORS)
async def test_error_shapes_become_kinds_with_retry_decisions(
    preset_settings: Settings,
    providers: FakeProviders,
    name: str,
    status: int,
    kind: str,
    retried: bool,
    words: str,
) -> None:
    model = model_of(f"error-{status}")
    result, delays = await call(preset_settings, f"{name}:{model}")
    assert result.status == "error" and result.error_kind == kind, result.error
    assert result.error and words in result.error
    expected = preset_settings.gateway.max_retries + 1 if retried else 1
    assert result.attempts == expected and len(sent(providers, name, model)) == expected
    if status == 429:  # Retry-After: 1, or Gemini's RetryInfo retryDelay "1s"
        assert delays and all(d >= 1.0 for d in delays)


@pytest.mark.parametrize("name", NAMES)
async def test_a_wrong_key_is_an_auth_failure_naming_the_variable(
    preset_settings: Settings, providers: FakeProviders, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV[name], f"wrong-{uuid.uuid4().hex}")
    result, _ = await call(fast(load_settings()), f"{name}:{model_of('ok')}")
    assert result.error_kind == "auth", result.error  # Gemini's 400 API_KEY_INVALID too
    assert KEY_ENV[name] in (result.error or "") and result.attempts == 1


async def test_a_key_echoed_by_the_upstream_is_not_repeated(
    preset_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    monkeypatch.setenv("TOGETHER_API_KEY", wrong)
    result, _ = await call(fast(load_settings()), f"together:{model_of('echo-key')}")
    assert result.error_kind == "auth" and "Invalid API key: ***" in (result.error or "")
    assert wrong not in (result.error or "")


STREAM_KINDS = {"anthropic": "unavailable", "gemini": "unavailable", "hf": "unavailable",
                "deepseek": "unavailable", "mistral": "stream_error", "groq": "stream_error",
                "together": "stream_error"}  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
async def test_an_error_in_the_stream_before_any_text_is_retried(
    preset_settings: Settings, providers: FakeProviders, name: str
) -> None:
    model = model_of("stream-error")
    result, _ = await call(preset_settings, f"{name}:{model}")
    assert result.status == "error" and result.error_kind == STREAM_KINDS[name], result.error
    expected = preset_settings.gateway.max_retries + 1
    assert result.attempts == expected and len(sent(providers, name, model)) == expected


@pytest.mark.parametrize("name", ["anthropic", "gemini", "groq"])
async def test_an_error_after_text_keeps_it_and_is_not_retried(
    preset_settings: Settings, providers: FakeProviders, name: str
) -> None:
    model = model_of("late-error")
    result, _ = await call(preset_settings, f"{name}:{model}")
    assert result.status == "error" and result.attempts == 1
    assert result.text and DEFAULT_REPLY.startswith(result.text) and result.text != DEFAULT_REPLY


async def test_anthropic_overload_is_retried_until_it_answers(
    preset_settings: Settings, providers: FakeProviders
) -> None:
    model = model_of("flaky-529-2")
    result, delays = await call(preset_settings, f"anthropic:{model}")
    assert result.status == "ok" and result.attempts == 3 and len(delays) == 2
    assert result.text == DEFAULT_REPLY


# ----------------------------------------------------------------- cost


def _declare(env: Path, *models: str) -> None:
    (env / "codearena.toml").write_text("".join(f"[[models]]\n{m}\n" for m in models))


async def test_cost_from_catalog_prices_and_deepseek_cache_hits(
    preset_env: Path, providers: FakeProviders
) -> None:
    priced, cached_priced, cached_unpriced = (
        model_of("ok"),
        model_of("cached-4"),
        model_of("cached-4"),
    )
    _declare(
        preset_env,
        f'id = "groq:{priced}"\nprice_input_per_m = 0.5\nprice_output_per_m = 2.0',
        f'id = "deepseek:{cached_priced}"\nprice_input_per_m = 0.28\nprice_output_per_m = 0.42\n'
        "price_cached_input_per_m = 0.028",
        f'id = "deepseek:{cached_unpriced}"\nprice_input_per_m = 0.28\nprice_output_per_m = 0.42',
    )
    settings = fast(load_settings())
    completion = len(DEFAULT_REPLY) // 4
    result, _ = await call(settings, f"groq:{priced}")
    assert result.cost_source == "catalog"
    assert result.cost_usd == pytest.approx((6 * 0.5 + completion * 2.0) / 1e6)
    result, _ = await call(settings, f"deepseek:{cached_priced}")
    assert result.cached_prompt_tokens == 4 and result.prompt_tokens == 6
    assert result.cost_source == "catalog"
    assert result.cost_usd == pytest.approx((2 * 0.28 + 4 * 0.028 + completion * 0.42) / 1e6)
    result, _ = await call(settings, f"deepseek:{cached_unpriced}")
    assert result.status == "ok" and result.cached_prompt_tokens == 4
    assert result.cost_usd is None and result.cost_source is None, "no cached price: unknown"


# ----------------------------------------------------------------- keys and `codearena models`


async def test_key_from_a_private_file_and_a_readable_one_is_refused(
    preset_env: Path, providers: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = preset_env / "groq.key"
    key_file.write_text(KEYS["groq"] + "\n")
    key_file.chmod(0o600)
    monkeypatch.delenv("GROQ_API_KEY")
    monkeypatch.setenv("GROQ_API_KEY_FILE", str(key_file))
    model = model_of("ok")
    result, _ = await call(fast(load_settings()), f"groq:{model}")
    assert result.status == "ok", result.error
    headers = sent(providers, "groq", model)[0]["headers"]
    assert isinstance(headers, dict) and headers["authorization"] == f"Bearer {KEYS['groq']}"
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings()


def test_models_json_shows_each_provider_with_its_status(
    preset_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_cli import run

    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("HF_TOKEN")
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    rows = json.loads(out)
    keys = {"id", "label", "provider", "status", "context_length", "price_input_per_m",
            "price_output_per_m", "presets", "source"}  # fmt: skip
    assert all(set(r) == keys for r in rows)
    status = {r["provider"]: r["status"] for r in rows if r["provider"] in NAMES}
    assert set(status) == set(NAMES), "every preset provider has models listed"
    assert status["gemini"] == "missing key: set GEMINI_API_KEY"
    assert status["hf"] == "missing key: set HF_TOKEN"
    assert {status[n] for n in NAMES if n not in ("gemini", "hf")} == {"ready"}
    assert "anthropic:claude-sonnet-4-5" in {r["id"] for r in rows}
    monkeypatch.setenv("COLUMNS", "400")
    _, text, _ = run(capsys, "models")
    assert "missing key: set GEMINI_API_KEY" in text and KEYS["groq"] not in out + text


# ----------------------------------------------------------------- error shapes, byte for byte


@pytest.mark.parametrize(
    ("payload", "message", "implied"),
    [
        ([{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}], "quota", 429),
        ({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
         "Overloaded", 529),
        ({"object": "error", "message": "bad", "type": "invalid_request_error", "code": "1000"},
         "bad", 400),
        ({"message": "Unauthorized", "request_id": "abc"}, "Unauthorized", None),
        ({"error": "Model is loading", "estimated_time": 20.5}, "Model is loading", None),
        ({"error": {"message": "Insufficient Balance", "type": "unknown_error"}},
         "Insufficient Balance", None),
        ("<html>502</html>", "no error message", None),
    ],
)  # fmt: skip
def test_every_error_shape_is_read(payload: object, message: str, implied: int | None) -> None:
    detail = parse_error(payload)
    assert detail.message == message and detail.implied_status() == implied


def test_retry_hints_in_bodies() -> None:
    gemini = [{"error": {"code": 429, "message": "q", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13s"}]}}]  # fmt: skip
    error = from_status(429, gemini, provider="gemini", key_env=None, retry_after=None)
    assert error.retry_after == 13.0 and error.retryable
    header_wins = from_status(429, gemini, provider="gemini", key_env=None, retry_after=2.0)
    assert header_wins.retry_after == 2.0
    loading = from_status(
        503, {"error": "loading", "estimated_time": 20.0}, provider="hf", key_env=None,
        retry_after=None,
    )  # fmt: skip
    assert loading.retry_after == 20.0 and loading.kind == "unavailable" and loading.retryable
