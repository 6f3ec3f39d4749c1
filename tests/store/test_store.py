"""The store against SQLite and the PostgreSQL server, and the pipeline writing into it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect, select

from codearena.catalog import Catalog, ModelInfo
from codearena.config import Settings
from codearena.gateway import Gateway, GatewayEvent
from codearena.pipeline import Context, InputError, run_task
from codearena.prompting import PromptOptions
from codearena.store import Generation, Store, Task, repo
from codearena.store.db import (
    SCHEMA_HEAD,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from codearena.store.models import CodeMetrics, Finding
from tests.conftest import SECRET, fast, unique


def test_new_database_is_migrated_on_first_use(database_url: str) -> None:
    store = Store(database_url)
    try:
        tables = set(inspect(store.engine).get_table_names())
        assert {"tasks", "generations", "catalog_models", "alembic_version"} <= tables
        assert current_revision(store.engine) == head_revision()
        upgrade(store.engine)  # idempotent
    finally:
        store.dispose()


def test_migrations_build_exactly_the_models(database_url: str) -> None:
    """A migrated database has every table, column, index and key the models declare (and no
    other): a model change without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from codearena.store.models import Base

    store = Store(database_url)
    try:
        with store.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        store.dispose()


def test_schema_head_is_alembics_head() -> None:
    """Opening a database compares its revision with SCHEMA_HEAD instead of importing Alembic:
    a new migration must move the constant too."""
    assert head_revision() == SCHEMA_HEAD


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_catalog_roundtrip(database_url: str) -> None:
    store = Store(database_url)
    models = [ModelInfo("a/b", "A B", "openrouter", "a/b", 8192, 0.5, 1.5, "synced")]
    assert repo.save_catalog(store, models) == 1
    assert (
        repo.save_catalog(
            store, [ModelInfo("a/b", "A B2", "openrouter", "a/b", 9000, 1.0, 2.0, "synced")]
        )
        == 1
    )
    loaded = repo.load_catalog(store)
    assert [(m.id, m.label, m.context_length, m.price_input_per_m) for m in loaded] == [
        ("a/b", "A B2", 9000, 1.0)
    ]
    store.dispose()


async def test_pipeline_stores_task_and_every_generation(
    database_url: str, settings: Settings
) -> None:
    context = Context(settings, Store(database_url), Catalog(settings))
    models = [unique("ok"), unique("error-402")]
    task_text = "Écris une fonction add — with unicode ✓"
    async with Gateway(settings, context.catalog) as gateway:
        outcome = await run_task(
            context, gateway, task_text, models, PromptOptions(language="Python")
        )
    stored = repo.get_task(context.store, outcome.task_id)
    assert stored is not None and stored.prompt == task_text and stored.output_language == "Python"
    assert stored.messages[0]["role"] == "system"
    by_model = {g.model: g for g in stored.generations}
    ok, failed = by_model[models[0]], by_model[models[1]]
    assert ok.status == "ok" and ok.code == [
        {
            "language": "python",
            "source": "def add(a, b):\n    return a + b",
            "variant": None,
            "complete": True,
        }
    ]
    assert ok.cost_usd and ok.ttft_ms and ok.upstream_id and ok.finished_at
    assert failed.status == "error" and "out of credits" in (failed.error or "")
    with context.store.session() as session:
        for row in session.scalars(select(Generation)):
            assert SECRET not in repr(repo.generation_dict(row))
        assert SECRET not in repr([repo.task_dict(t) for t in session.scalars(select(Task))])
    context.store.dispose()


async def test_interrupted_fan_out_keeps_what_completed(
    database_url: str, settings: Settings
) -> None:
    settings = fast(settings, total_timeout=30)
    context = Context(settings, Store(database_url), Catalog(settings))
    fast_model, hanging = unique("ok"), unique("hang")
    finished = asyncio.Event()

    def listen(event: GatewayEvent) -> None:
        if event.kind == "done" and event.model == fast_model:
            finished.set()

    async with Gateway(settings, context.catalog) as gateway:
        job = asyncio.create_task(
            run_task(
                context, gateway, "task", [fast_model, hanging], PromptOptions(), listener=listen
            )
        )
        await asyncio.wait_for(finished.wait(), 10)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    tasks = repo.list_tasks(context.store)
    assert len(tasks) == 1
    statuses = {g.model: g.status for g in tasks[0].generations}
    assert statuses == {fast_model: "ok", hanging: "cancelled"}
    context.store.dispose()


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("   \n", "empty"), ("x" * 100_001, "limit is 100,000")],
)
async def test_bad_tasks_are_refused_before_anything_is_stored(
    settings: Settings, tmp_path: object, text: str, message: str
) -> None:
    context = Context(settings, Store(f"sqlite:///{tmp_path}/bad.db"), Catalog(settings))
    async with Gateway(settings, context.catalog) as gateway:
        with pytest.raises(InputError, match=message):
            await run_task(context, gateway, text, ["openai/gpt-4"], PromptOptions())
        with pytest.raises(InputError, match="Did you mean"):
            await run_task(context, gateway, "ok", ["openai/gpt-44"], PromptOptions())
    assert repo.list_tasks(context.store) == []
    context.store.dispose()


async def test_pipeline_stores_static_findings_per_generation(
    database_url: str, settings: Settings
) -> None:
    context = Context(settings, Store(database_url), Catalog(settings))
    risky = "ECHO: ```python\nimport os\nimport subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n```"
    models = [unique("ok"), unique("ok")]
    async with Gateway(settings, context.catalog) as gateway:
        outcome = await run_task(
            context, gateway, risky, models[:1], PromptOptions(prompt_style="plain")
        )
        clean = await run_task(
            context, gateway, "add", models[1:], PromptOptions(language="Python")
        )
    with context.store.session() as session:
        metrics = {m.generation_id: m for m in session.scalars(select(CodeMetrics))}
        findings = list(session.scalars(select(Finding)))
    risky_metrics = metrics[outcome.generation_ids[0]]
    assert risky_metrics.language == "python" and risky_metrics.lines == 4
    assert risky_metrics.lint_by_rule.get("F401") == 1
    assert risky_metrics.security_count >= 1
    assert any(f.cwe == 78 and f.generation_id == outcome.generation_ids[0] for f in findings)
    clean_metrics = metrics[clean.generation_ids[0]]
    assert clean_metrics.lint_count == 0 and clean_metrics.security_count == 0
    assert clean_metrics.complexity_max == 1
    context.store.dispose()


def test_upgrade_keeps_existing_rows(database_url: str) -> None:
    """A database made by an older version is migrated without losing or breaking rows."""
    from alembic import command

    from codearena.store.db import alembic_config

    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0003")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO studies (id, name, description, consent_text, models, mode, "
            "prompt_options, survey_name, survey, status, created_at) VALUES "
            "('s1', 'old', '', '', '[]', 'named', '[]', 'study-2025', '{}', 'open', CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            "INSERT INTO participants (id, study_id, pseudonym, created_at) "
            "VALUES ('P-OLD', 's1', 'ann', CURRENT_TIMESTAMP)"
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT pseudonym, source FROM participants").one()
    assert tuple(row) == ("ann", "platform")
    engine.dispose()


def test_upgrade_rewrites_both_bad_votes(database_url: str) -> None:
    """Migration 0005: a battle stored as "bothbad" (and an imported vote so spelled) reads as
    "both_bad"; the other choices are untouched, and a downgrade restores the old spelling."""
    from alembic import command

    from codearena.store.db import alembic_config

    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0004")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO studies (id, name, description, consent_text, models, mode, "
            "prompt_options, survey_name, survey, status, created_at) VALUES "
            "('s1', 'old', '', '', '[]', 'blind', '[]', 'study-2025', '{}', 'open', "
            "CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            "INSERT INTO participants (id, study_id, pseudonym, source, created_at) "
            "VALUES ('P-OLD', 's1', 'ann', 'platform', CURRENT_TIMESTAMP)"
        )
        for n in ("1", "2"):
            connection.exec_driver_sql(
                "INSERT INTO study_tasks (id, study_id, participant_id, mode, models, prompt, "
                f"status, revealed, created_at) VALUES ('st{n}', 's1', 'P-OLD', 'blind', "
                "'[\"x\", \"y\"]', 'p', 'done', TRUE, CURRENT_TIMESTAMP)"
            )
        for n, choice in (("1", "bothbad"), ("2", "tie")):
            connection.exec_driver_sql(
                "INSERT INTO votes (id, study_task_id, study_id, participant_id, kind, position, "
                f"choice, model_a, model_b, self_identified, created_at) VALUES ('v{n}', 'st{n}', "
                f"'s1', 'P-OLD', 'battle', -1, '{choice}', 'x', 'y', FALSE, CURRENT_TIMESTAMP)"
            )
        connection.exec_driver_sql(
            "INSERT INTO imported_votes (id, study_id, source, line, model_a, model_b, winner, "
            "imported_at) VALUES ('i1', 's1', 'old.csv', 2, 'x', 'y', 'bothbad', CURRENT_TIMESTAMP)"
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        votes = dict(connection.exec_driver_sql("SELECT id, choice FROM votes").all())
        imported = connection.exec_driver_sql("SELECT winner FROM imported_votes").scalar_one()
    assert votes == {"v1": "both_bad", "v2": "tie"} and imported == "both_bad"
    command.downgrade(alembic_config(engine), "0004")
    with engine.connect() as connection:
        votes = dict(connection.exec_driver_sql("SELECT id, choice FROM votes").all())
    assert votes == {"v1": "bothbad", "v2": "tie"}
    engine.dispose()
