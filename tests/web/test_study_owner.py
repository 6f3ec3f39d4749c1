"""Studies made on the command line belong to a researcher; survey files are CLI-only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codearena.config import load_settings
from codearena.store import Store
from codearena.store.platform_models import Study
from codearena.web.auth import create_user
from tests.conftest import unique
from tests.test_cli import run
from tests.web.conftest import Arena


def _owner(study_id: str) -> str | None:
    store = Store(load_settings().database_url)
    with store.session() as session:
        study = session.get(Study, study_id)
        assert study is not None
        return study.owner_id


def test_cli_study_belongs_to_the_researcher(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(load_settings().database_url)
    lead = create_user(store, "lead@example.org", "researcher", "a long password 1")
    models = f"{unique('ok')},{unique('ok')}"
    code, out, _ = run(capsys, "study", "create", "--name", "Pilot", "--models", models, "--json")
    assert code == 0 and _owner(json.loads(out)["id"]) == lead.id, "the only researcher owns it"
    create_user(store, "second@example.org", "researcher", "a long password 2")
    code, out, err = run(capsys, "study", "create", "--name", "P2", "--models", models, "--json")
    assert code == 0 and _owner(json.loads(out)["id"]) is None and "--owner" in err
    code, out, _ = run(
        capsys,
        "study",
        "create",
        "--name",
        "P3",
        "--models",
        models,
        "--owner",
        "second@example.org",
        "--json",
    )
    assert code == 0 and _owner(json.loads(out)["id"]) != lead.id
    code, _, err = run(
        capsys, "study", "create", "--name", "P4", "--models", models, "--owner", "x@y.z"
    )
    assert code == 2 and "users create" in err


async def test_the_web_never_reads_a_survey_file_named_by_a_researcher(
    arena: Arena, tmp_path: Path
) -> None:
    secret = tmp_path / "server.toml"
    secret.write_text('name = "x"\n[[questions]]\ntext = "leaked?"\nkind = "text"\n')
    client = await arena.staff()
    body = {
        "name": "S",
        "models": [unique("ok"), unique("ok")],
        "mode": "named",
        "survey": str(secret),
    }
    response = await client.post("/api/studies", body)
    assert response.status_code == 400 and "codearena study create" in response.json()["error"]
    missing = await client.post("/api/studies", {**body, "survey": "/nonexistent/file.toml"})
    assert missing.json()["error"] == response.json()["error"].replace(
        str(secret), "/nonexistent/file.toml"
    )
