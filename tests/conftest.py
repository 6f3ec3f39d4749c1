"""Shared fixtures: a loopback fake of OpenRouter, an isolated environment, the stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from codearena.catalog import Catalog
from codearena.config import GatewaySettings, Settings, load_settings
from codearena.testing.fake_upstream import FakeUpstream

SECRET = "sk-or-test-secret-0123456789"
POSTGRES_URL = os.environ.get(
    "CODEARENA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_ENV_VARS = (
    "OPENROUTER_API_KEY",
    "OPENROUTER_API_KEY_FILE",
    "OPENROUTER_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_API_KEY_FILE",
    "OPENAI_BASE_URL",
    "OLLAMA_HOST",
    "CODEARENA_CONFIG",
    "CODEARENA_DATABASE_URL",
    "CODEARENA_HOME",
    "CODEARENA_PUBLIC_URL",
)


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture
def env(fake: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: the fake as OpenRouter, a key, a private home, no config file."""
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENROUTER_API_KEY", SECRET)
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("CODEARENA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def fast(settings: Settings, **gateway: float) -> Settings:
    """Settings with quick backoff for tests (no wall-clock assertions depend on it)."""
    values = {"backoff_base": 0.001, "backoff_max": 0.01, **gateway}
    return replace(settings, gateway=replace(GatewaySettings(), **values))


@pytest.fixture
def settings(env: Path) -> Settings:
    return fast(load_settings())


@pytest.fixture
def catalog(settings: Settings) -> Catalog:
    return Catalog(settings)


def unique(scenario: str) -> str:
    """A model id routed to the fake, unique per call so flaky counters start at zero."""
    return f"openrouter:fake/{scenario}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs against SQLite and against the PostgreSQL server on this machine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    import psycopg

    name = f"codearena_test_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not answering at {admin} ({exc}); start it (see .ci/run) "
            "or set CODEARENA_TEST_POSTGRES_URL"
        )
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
