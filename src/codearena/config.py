"""Settings from environment variables and an optional ``codearena.toml``.

Precedence: environment > config file > defaults. Secrets (API keys) are never read from the
config file: a provider names the environment variable that holds its key, and a key may also come
from a file named by ``<VAR>_FILE`` (which must not be readable by group or others).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import platformdirs

from codearena.errors import CodearenaError

OPENROUTER_DEFAULT_URL = "https://openrouter.ai/api/v1"
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
OLLAMA_DEFAULT_HOST = "http://127.0.0.1:11434"
APP_URL = "https://github.com/codearena/codearena"
APP_TITLE = "codearena"


@dataclass(frozen=True)
class ProviderPreset:
    """A built-in OpenAI-compatible endpoint: its catalog prefix, key variable and base URL
    (``<PREFIX>_BASE_URL``, e.g. ``HF_BASE_URL``, overrides the URL)."""

    name: str
    title: str
    key_env: str
    base_url: str

    @property
    def base_url_env(self) -> str:
        return f"{self.name.upper()}_BASE_URL"


# The base URLs of each provider's OpenAI-compatible chat endpoint (``<base>/chat/completions``),
# as their documentation gives them (see docs/providers.md for which were checked and how).
PROVIDER_PRESETS: tuple[ProviderPreset, ...] = (
    ProviderPreset(
        "hf", "Hugging Face Inference Providers", "HF_TOKEN", "https://router.huggingface.co/v1"
    ),
    ProviderPreset(
        "anthropic",
        "Anthropic (OpenAI SDK compatibility)",
        "ANTHROPIC_API_KEY",
        "https://api.anthropic.com/v1/",
    ),
    ProviderPreset(
        "gemini",
        "Google Gemini (OpenAI compatibility)",
        "GEMINI_API_KEY",
        "https://generativelanguage.googleapis.com/v1beta/openai/",
    ),
    ProviderPreset("mistral", "Mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"),
    ProviderPreset("groq", "Groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"),
    ProviderPreset("together", "Together", "TOGETHER_API_KEY", "https://api.together.xyz/v1"),
    ProviderPreset("deepseek", "DeepSeek", "DEEPSEEK_API_KEY", "https://api.deepseek.com"),
)


class ConfigError(CodearenaError):
    """An invalid setting; the message names the file, line and key where known."""


@dataclass(frozen=True)
class ProviderConfig:
    """One OpenAI-compatible endpoint and how to authenticate with it."""

    name: str
    base_url: str
    key_env: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    concurrency: int = 8
    local: bool = False

    def api_key(self) -> str | None:
        """The key from ``key_env`` or the file named by ``<key_env>_FILE``; None if unset."""
        if self.key_env is None:
            return None
        value = os.environ.get(self.key_env, "").strip()
        if value:
            return value
        file_name = os.environ.get(f"{self.key_env}_FILE", "").strip()
        if file_name:
            return read_secret_file(Path(file_name), f"{self.key_env}_FILE")
        return None

    @property
    def needs_key(self) -> bool:
        return self.key_env is not None and not self.local

    @property
    def has_key(self) -> bool:
        return not self.needs_key or bool(self.api_key())


def read_secret_file(path: Path, var: str) -> str:
    """Read a secret from a file that only its owner may read."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"{var} names {path}, which cannot be read: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{var} names {path}, which group or others can read; run: chmod 600 {path}"
        )
    return path.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class GatewaySettings:
    connect_timeout: float = 10.0
    first_token_timeout: float = 60.0
    total_timeout: float = 300.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 20.0


@dataclass(frozen=True)
class SandboxSettings:
    backend: str = "bwrap"
    python_paths: tuple[str, ...] = ()  # read-only site-packages offered to sandboxed Python


@dataclass(frozen=True)
class WebSettings:
    """``[web]``: ``public_url``, the platform's address as participants reach it (behind a proxy
    or on another port), used in invite links; None: the address a request came in on (pages and
    API) or ``http://127.0.0.1:8000`` (the CLI)."""

    public_url: str | None = None
    joins_per_minute: int | None = None  # None: the platform's default (web.limits)
    # calls in flight at once per provider through the OpenAI-compatible endpoint (its clients
    # bring their own concurrency; a provider's lower `concurrency` is for batch fan-outs)
    api_concurrency: int = 256
    # the largest request body the server reads (pages, the JSON API and /v1): a larger one is
    # answered 413 before it is read, or as soon as it passes the limit
    max_request_mb: float = 32.0


@dataclass(frozen=True)
class ExtraModel:
    """A model declared in the config file (for a custom provider, or a label for any id)."""

    id: str
    label: str
    context_length: int | None = None
    price_input_per_m: float | None = None
    price_output_per_m: float | None = None
    price_cached_input_per_m: float | None = None  # prompt tokens served from a cache


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    config_path: Path | None
    providers: Mapping[str, ProviderConfig]
    gateway: GatewaySettings = GatewaySettings()
    models: tuple[ExtraModel, ...] = ()
    sandbox: SandboxSettings = SandboxSettings()
    web: WebSettings = WebSettings()


def with_concurrency(settings: Settings, minimum: Mapping[str, int] | int) -> Settings:
    """``settings`` with each provider's concurrency limit raised to ``minimum`` (one number for
    every provider, or one per provider name) where that is higher."""
    providers = {
        name: replace(
            p,
            concurrency=max(
                p.concurrency, minimum if isinstance(minimum, int) else minimum.get(name, 0)
            ),
        )
        for name, p in settings.providers.items()
    }
    return replace(settings, providers=providers)


def mask_url(url: str) -> str:
    """Hide the password in a database URL."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def normalize_ollama_host(host: str) -> str:
    host = host.strip().rstrip("/")
    if not re.match(r"^https?://", host):
        host = f"http://{host}"
    if urlsplit(host).port is None and host.count(":") == 1:
        host = f"{host}:11434"
    return host


def builtin_providers(env: Mapping[str, str]) -> dict[str, ProviderConfig]:
    attribution = {"HTTP-Referer": APP_URL, "X-Title": APP_TITLE}
    ollama = normalize_ollama_host(env.get("OLLAMA_HOST") or OLLAMA_DEFAULT_HOST)
    return {
        "openrouter": ProviderConfig(
            "openrouter",
            (env.get("OPENROUTER_BASE_URL") or OPENROUTER_DEFAULT_URL).rstrip("/"),
            "OPENROUTER_API_KEY",
            attribution,
        ),
        "openai": ProviderConfig(
            "openai",
            (env.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_URL).rstrip("/"),
            "OPENAI_API_KEY",
        ),
        "ollama": ProviderConfig("ollama", f"{ollama}/v1", None, {}, 4, local=True),
        **{
            preset.name: ProviderConfig(
                preset.name,
                (env.get(preset.base_url_env) or preset.base_url).strip().rstrip("/"),
                preset.key_env,
            )
            for preset in PROVIDER_PRESETS
        },
    }


# Built in since the first release: a config table of the same name is refused. The presets of
# PROVIDER_PRESETS came later, so a ``[providers.<name>]`` table declared before them replaces
# the preset instead of breaking that config file.
_FIXED_PROVIDERS = frozenset({"openrouter", "openai", "ollama"})


_PROVIDER_KEYS = {"base_url", "api_key_env", "headers", "concurrency"}
_GATEWAY_KEYS = {f for f in GatewaySettings.__dataclass_fields__}
_MODEL_KEYS = {f for f in ExtraModel.__dataclass_fields__}
_TOP_KEYS = {"database_url", "providers", "gateway", "models", "sandbox", "web"}


def _line_of(text: str, table: str, key: str) -> int | None:
    """Best-effort line number of ``key`` inside ``[table]`` (tomllib gives no positions)."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
        if header:
            current = header.group(1).replace('"', "")
            if not key and current == table:
                return number
            continue
        if current == table and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return None


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def error(self, table: str, key: str, problem: str) -> ConfigError:
        line = _line_of(self.text, table, key)
        where = f"{self.path}, line {line}" if line else str(self.path)
        name = f"{table}.{key}" if table and key else (table or key)
        return ConfigError(f"{where}: key '{name}': {problem}")

    def check_keys(self, table: str, data: Mapping[str, Any], allowed: set[str]) -> None:
        for key in data:
            if key in {"api_key", "key", "token", "password"}:
                raise self.error(
                    table,
                    key,
                    "secrets are not allowed in the config file; "
                    "put the key in an environment variable and name it with api_key_env",
                )
            if key not in allowed:
                raise self.error(table, key, f"unknown key; expected one of {sorted(allowed)}")

    def typed(self, table: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
        if isinstance(value, bool) or not isinstance(value, kind):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.error(table, key, f"expected {names}, got {value!r}")
        return value


def _parse_file(path: Path) -> tuple[dict[str, Any], _Reader]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return data, _Reader(path, text)


def _providers_from(reader: _Reader, raw: Any) -> dict[str, ProviderConfig]:
    if not isinstance(raw, dict):
        raise reader.error("providers", "", "expected a table of providers")
    result: dict[str, ProviderConfig] = {}
    for name, spec in raw.items():
        table = f"providers.{name}"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            raise reader.error("providers", name, "provider names use a-z, 0-9, '-' and '_'")
        if not isinstance(spec, dict):
            raise reader.error("providers", name, "expected a table")
        reader.check_keys(table, spec, _PROVIDER_KEYS)
        if "base_url" not in spec:
            raise reader.error(table, "", "missing key 'base_url'")
        base_url = reader.typed(table, "base_url", spec["base_url"], str).rstrip("/")
        if not re.match(r"^https?://", base_url):
            raise reader.error(table, "base_url", "must start with http:// or https://")
        key_env = spec.get("api_key_env")
        if key_env is not None:
            reader.typed(table, "api_key_env", key_env, str)
        headers = reader.typed(table, "headers", spec.get("headers", {}), dict)
        for header, value in headers.items():
            reader.typed(table, "headers", value, str)
            del header
        concurrency = reader.typed(table, "concurrency", spec.get("concurrency", 8), int)
        if concurrency < 1:
            raise reader.error(table, "concurrency", "must be at least 1")
        result[name] = ProviderConfig(name, base_url, key_env, dict(headers), concurrency)
    return result


def _gateway_from(reader: _Reader, raw: Any) -> GatewaySettings:
    if not isinstance(raw, dict):
        raise reader.error("gateway", "", "expected a table")
    reader.check_keys("gateway", raw, _GATEWAY_KEYS)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        kind: type | tuple[type, ...] = int if key == "max_retries" else (int, float)
        values[key] = reader.typed("gateway", key, value, kind)
        if values[key] < 0:
            raise reader.error("gateway", key, "must not be negative")
    return GatewaySettings(**values)


def _models_from(reader: _Reader, raw: Any) -> tuple[ExtraModel, ...]:
    if not isinstance(raw, list):
        raise reader.error("models", "", "expected an array of tables: [[models]]")
    models = []
    for spec in raw:
        reader.check_keys("models", spec, _MODEL_KEYS)
        if "id" not in spec:
            raise reader.error("models", "", "each [[models]] entry needs an 'id'")
        models.append(
            ExtraModel(
                id=reader.typed("models", "id", spec["id"], str),
                label=reader.typed("models", "label", spec.get("label", spec["id"]), str),
                context_length=_optional(reader, "context_length", spec, int),
                price_input_per_m=_optional(reader, "price_input_per_m", spec, (int, float)),
                price_output_per_m=_optional(reader, "price_output_per_m", spec, (int, float)),
                price_cached_input_per_m=_optional(
                    reader, "price_cached_input_per_m", spec, (int, float)
                ),
            )
        )
    return tuple(models)


def _optional(
    reader: _Reader, key: str, spec: dict[str, Any], kind: type | tuple[type, ...]
) -> Any:
    """A numeric model field: absent, or of the right type and not negative."""
    if key not in spec:
        return None
    value = reader.typed("models", key, spec[key], kind)
    if value < 0:
        raise reader.error("models", key, "must not be negative")
    return value


def _sandbox_from(reader: _Reader, raw: Any) -> SandboxSettings:
    if not isinstance(raw, dict):
        raise reader.error("sandbox", "", "expected a table")
    reader.check_keys("sandbox", raw, {"backend", "python_paths"})
    backend = reader.typed("sandbox", "backend", raw.get("backend", "bwrap"), str)
    paths = reader.typed("sandbox", "python_paths", raw.get("python_paths", []), list)
    for path in paths:
        reader.typed("sandbox", "python_paths", path, str)
        if not Path(path).is_dir():
            raise reader.error("sandbox", "python_paths", f"{path} is not a directory")
    return SandboxSettings(backend, tuple(paths))


_PUBLIC_URL_PROBLEM = "is not a public address; use http(s)://host[:port][/path]"


def _public_url(value: str) -> str | None:
    """``http(s)://host[:port][/prefix]`` without its trailing slash; None if it is not one."""
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        return None
    return url


def public_url_of(value: str, source: str) -> str:
    """``value`` as a public URL, or a ConfigError naming ``source`` (an env var or option)."""
    url = _public_url(value)
    if url is None:
        raise ConfigError(f"{source} {value!r} {_PUBLIC_URL_PROBLEM}")
    return url


def _web_from(reader: _Reader, raw: Any) -> WebSettings:
    if not isinstance(raw, dict):
        raise reader.error("web", "", "expected a table")
    reader.check_keys(
        "web", raw, {"public_url", "joins_per_minute", "api_concurrency", "max_request_mb"}
    )
    joins: int | None = None
    if "joins_per_minute" in raw:
        joins = reader.typed("web", "joins_per_minute", raw["joins_per_minute"], int)
        if isinstance(joins, bool) or joins < 1:
            raise reader.error("web", "joins_per_minute", "must be a whole number of at least 1")
    api = WebSettings.api_concurrency
    if "api_concurrency" in raw:
        api = reader.typed("web", "api_concurrency", raw["api_concurrency"], int)
        if isinstance(api, bool) or api < 1:
            raise reader.error("web", "api_concurrency", "must be a whole number of at least 1")
    largest = WebSettings.max_request_mb
    if "max_request_mb" in raw:
        largest = float(reader.typed("web", "max_request_mb", raw["max_request_mb"], (int, float)))
        if not 0 < largest <= 4096:
            raise reader.error(
                "web", "max_request_mb", "must be a number of megabytes above 0 (at most 4096)"
            )
    if "public_url" not in raw:
        return WebSettings(joins_per_minute=joins, api_concurrency=api, max_request_mb=largest)
    value = reader.typed("web", "public_url", raw["public_url"], str)
    url = _public_url(value)
    if url is None:
        raise reader.error("web", "public_url", f"{value!r} {_PUBLIC_URL_PROBLEM}")
    return WebSettings(url, joins, api, largest)


def default_home(env: Mapping[str, str]) -> Path:
    if env.get("CODEARENA_HOME"):
        return Path(env["CODEARENA_HOME"]).expanduser()
    return Path(platformdirs.user_data_dir("codearena", appauthor=False))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: ``os.environ``) and the config file."""
    env = os.environ if env is None else env
    explicit = env.get("CODEARENA_CONFIG")
    config_path: Path | None = Path(explicit).expanduser() if explicit else Path("codearena.toml")
    if explicit and not config_path.exists():  # type: ignore[union-attr]
        raise ConfigError(f"CODEARENA_CONFIG names {config_path}, which does not exist")
    data: dict[str, Any] = {}
    providers = builtin_providers(env)
    gateway = GatewaySettings()
    models: tuple[ExtraModel, ...] = ()
    sandbox = SandboxSettings()
    web = WebSettings()
    if config_path is not None and config_path.is_file():
        config_path = config_path.resolve()
        data, reader = _parse_file(config_path)
        reader.check_keys("", data, _TOP_KEYS)
        for name, provider in _providers_from(reader, data.get("providers", {})).items():
            if name in _FIXED_PROVIDERS:
                raise reader.error("providers", name, "is a built-in provider; pick another name")
            providers[name] = provider
        gateway = _gateway_from(reader, data.get("gateway", {}))
        models = _models_from(reader, data.get("models", []))
        sandbox = _sandbox_from(reader, data.get("sandbox", {}))
        web = _web_from(reader, data.get("web", {}))
        if "database_url" in data:
            reader.typed("", "database_url", data["database_url"], str)
    else:
        config_path = None
    home = default_home(env)
    database_url = env.get("CODEARENA_DATABASE_URL") or data.get("database_url") or ""
    if not database_url:
        database_url = f"sqlite:///{home / 'codearena.db'}"
    if env.get("CODEARENA_PUBLIC_URL", "").strip():
        web = replace(
            web, public_url=public_url_of(env["CODEARENA_PUBLIC_URL"], "CODEARENA_PUBLIC_URL")
        )
    for provider in providers.values():
        provider.api_key()  # a key file with loose permissions fails here, before any call
    return Settings(home, database_url, config_path, providers, gateway, models, sandbox, web)
