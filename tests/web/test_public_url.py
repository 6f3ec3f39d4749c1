"""Invite links use the configured public URL: ``[web] public_url``, ``CODEARENA_PUBLIC_URL``,
``serve --public-url``; ``--base-url`` still wins on the command line."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from codearena.catalog import Catalog
from codearena.config import ConfigError, Settings, WebSettings, load_settings
from codearena.pipeline import Context
from codearena.store import Store
from codearena.web.app import create_app
from codearena.web.limits import PlatformLimits
from tests.conftest import unique
from tests.test_cli import run
from tests.web.conftest import Arena

PUBLIC = "https://arena.example.org/lab"


def test_public_url_from_the_config_file_and_the_environment(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().web.public_url is None
    (env / "codearena.toml").write_text(f'[web]\npublic_url = "{PUBLIC}/"\n')
    assert load_settings().web.public_url == PUBLIC  # without the trailing slash
    monkeypatch.setenv("CODEARENA_PUBLIC_URL", "http://10.0.0.5:9000")
    assert load_settings().web.public_url == "http://10.0.0.5:9000"


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ('[web]\npublic_url = "arena.example.org"\n', r"line 2: key 'web.public_url'"),
        ("[web]\npublic_url = 8000\n", r"line 2: key 'web.public_url'"),
        ("[web]\nport = 8000\n", r"line 2.*port"),
    ],
)
def test_bad_web_table(env: Path, toml: str, match: str) -> None:
    (env / "codearena.toml").write_text(toml)
    with pytest.raises(ConfigError, match=match):
        load_settings()


def test_bad_public_url_env(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEARENA_PUBLIC_URL", "ftp://x")
    with pytest.raises(ConfigError, match="CODEARENA_PUBLIC_URL 'ftp://x' is not a public"):
        load_settings()


def test_study_create_and_list_use_the_public_url(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    models = f"{unique('ok')},{unique('ok')}"
    code, out, _ = run(capsys, "study", "create", "--name", "Pilot", "--models", models, "--json")
    assert code == 0 and json.loads(out)["invite_url"].startswith("http://127.0.0.1:8000/join/")
    (env / "codearena.toml").write_text(f'[web]\npublic_url = "{PUBLIC}"\n')
    code, out, _ = run(capsys, "study", "create", "--name", "P2", "--models", models, "--json")
    assert code == 0 and json.loads(out)["invite_url"].startswith(f"{PUBLIC}/join/")
    code, out, _ = run(capsys, "study", "list")
    assert code == 0 and len(re.findall(rf"^    {re.escape(PUBLIC)}/join/\S+$", out, re.M)) == 2
    code, out, _ = run(capsys, "study", "list", "--json")
    assert all(row["invite_url"].startswith(f"{PUBLIC}/join/") for row in json.loads(out))
    monkeypatch.setenv("CODEARENA_PUBLIC_URL", "http://10.0.0.5:9000/")
    code, out, _ = run(capsys, "study", "list", "--json")
    assert all(r["invite_url"].startswith("http://10.0.0.5:9000/join/") for r in json.loads(out))
    code, out, _ = run(capsys, "study", "list", "--base-url", "http://other:1", "--json")
    assert all(r["invite_url"].startswith("http://other:1/join/") for r in json.loads(out))


async def test_pages_and_api_show_the_public_url(settings: Settings) -> None:
    settings = dataclasses.replace(settings, web=WebSettings(PUBLIC))
    store = Store(settings.database_url)
    context = Context(settings, store, Catalog(settings))
    app = create_app(context, limits=PlatformLimits(tasks_per_minute=1000, running_tasks=50))
    try:
        async with app.router.lifespan_context(app):
            arena = Arena(app, context)
            study_id = arena.study([unique("ok"), unique("ok")])
            admin = await arena.staff("admin")
            listed = (await admin.get("/api/studies")).json()
            assert listed and all(s["invite_url"].startswith(f"{PUBLIC}/join/") for s in listed)
            one = (await admin.get(f"/api/studies/{study_id}")).json()
            assert one["invite_url"].startswith(f"{PUBLIC}/join/")
            page = (await admin.get(f"/researcher/studies/{study_id}")).text
            assert f'value="{PUBLIC}/join/' in page  # data-testid="invite-url"
            invite = one["invite_url"].removeprefix(PUBLIC)  # the link works on this server
            assert (await admin.get(invite)).status_code == 200
            for http in arena.clients:
                await http.aclose()
    finally:
        store.dispose()
