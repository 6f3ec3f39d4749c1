"""Study exports: one file per table, pseudonymised participants, no secrets, documented columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from codearena.catalog import Catalog
from codearena.config import Settings
from codearena.exports import TABLES, ExportError, export_study
from codearena.exports import export as export_module
from codearena.gateway import Gateway
from codearena.pipeline import Context, run_task
from codearena.prompting import PromptOptions
from codearena.store import Store
from codearena.store.db import head_revision
from codearena.store.models import Generation
from codearena.store.platform_models import Participant, Study, StudyTask
from tests.conftest import SECRET, unique
from tests.exports.data import StudyData, make_study
from tests.exports.helpers import all_text, header, read_rows

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ["csv", "jsonl", "parquet"]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'a.db'}")


@pytest.fixture
def data(store: Store) -> StudyData:
    return make_study(store)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_writes_one_file_per_table_and_a_manifest(
    store: Store, data: StudyData, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "export"
    manifest = export_study(store, data.study_id, out, fmt)
    expected = {f"{spec.name}.{fmt}" for spec in TABLES} | {"manifest.json"}
    assert {p.name for p in out.iterdir()} == expected
    saved = json.loads((out / "manifest.json").read_text())
    assert saved == manifest.to_dict()
    assert saved["study_id"] == data.study_id and saved["format"] == fmt
    assert saved["codearena_version"] and saved["schema_revision"] == head_revision()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", saved["exported_at"])
    assert {t["name"]: t["rows"] for t in saved["tables"]} == data.rows
    for table in saved["tables"]:
        rows = read_rows(out, table["name"])
        assert len(rows) == table["rows"], table["name"]
        if rows or fmt != "jsonl":  # an empty JSONL file has no line to name its keys
            assert header(out, table["name"]) == [c["name"] for c in table["columns"]]
    assert not list(tmp_path.glob(".export.*"))  # no staging directory left behind


def test_values_keep_their_types_in_each_format(
    store: Store, data: StudyData, tmp_path: Path
) -> None:
    for fmt in FORMATS:
        export_study(store, data.study_id, tmp_path / fmt, fmt)
    jsonl = {r["question_id"]: r for r in read_rows(tmp_path / "jsonl", "survey_answers")}
    assert jsonl["tools"]["value"] == ["copilot", "chatgpt"] and jsonl["years"]["value"] == 7
    assert jsonl["years"]["raw"] == "seven"
    csv_rows = {r["question_id"]: r for r in read_rows(tmp_path / "csv", "survey_answers")}
    assert json.loads(csv_rows["tools"]["value"]) == ["copilot", "chatgpt"]
    parquet = {r["question_id"]: r for r in read_rows(tmp_path / "parquet", "survey_answers")}
    assert json.loads(parquet["tools"]["value"]) == ["copilot", "chatgpt"]
    (study,) = read_rows(tmp_path / "jsonl", "study")
    assert study["survey"]["questions"][0]["id"] == "role" and study["budget_usd"] == 2.5
    assert "owner_id" not in study
    (csv_study,) = read_rows(tmp_path / "csv", "study")
    assert csv_study["created_at"] == "2025-03-04T09:30:15.123456+00:00"
    (pq_study,) = read_rows(tmp_path / "parquet", "study")
    assert pq_study["created_at"].isoformat() == "2025-03-04T09:30:15.123456+00:00"
    comments = [r["comment"] for r in read_rows(tmp_path / "csv", "ratings")]
    assert 'Works; but "totals" miss, commas, and\na newline — ünïcode' in comments
    generations = read_rows(tmp_path / "jsonl", "generations")
    assert {type(g["tokens_estimated"]) for g in generations} == {bool}
    assert {g["latency_ms"] for g in generations} >= {3120.25}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_fix_attempts_are_exported_with_their_columns_and_fix_runs_are_not_executions(
    store: Store, data: StudyData, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "export"
    export_study(store, data.study_id, out, fmt)
    assert header(out, "fixes") == [
        "id",
        "generation_id",
        "participant",
        "started_at",
        "ended_at",
        "active_seconds",
        "runs",
        "verdict",
        "outcome",
        "lines_added",
        "lines_removed",
        "final_code",
    ]
    fixes = read_rows(out, "fixes")
    assert [(f["outcome"], f["runs"], f["verdict"]) for f in fixes] == [
        ("abandoned", 0, None),  # sorted by started_at: minute 17, then 46.5
        ("done", 2, "passed"),
    ]
    done = fixes[1]
    assert (done["active_seconds"], done["lines_added"], done["lines_removed"]) == (95.5, 2, 1)
    assert done["final_code"].endswith("return a + b\n")
    ids = [p["id"] for p in read_rows(out, "participants")]
    raw_to_r = dict(zip(data.participant_ids, ids, strict=True))
    p1, p2 = data.participant_ids[2], data.participant_ids[0]  # joined third and first
    assert [f["participant"] for f in fixes] == [raw_to_r[p2], raw_to_r[p1]]
    generations = {g["id"] for g in read_rows(out, "generations")}
    assert {f["generation_id"] for f in fixes} <= generations
    assert "fix" not in {e["source"] for e in read_rows(out, "executions")}


@pytest.mark.parametrize("fmt", FORMATS)
def test_participants_are_pseudonymised_consistently_and_identities_are_absent(
    store: Store, data: StudyData, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "export"
    export_study(store, data.study_id, out, fmt)
    ids = [p["id"] for p in read_rows(out, "participants")]
    assert ids == ["R001", "R002", "R003"]  # in order of joining, not of the raw ids
    raw_to_r = dict(zip(data.participant_ids, ids, strict=True))
    tasks = {t["id"]: t for t in read_rows(out, "tasks")}
    assert {t["participant_id"] for t in tasks.values()} == set(ids)
    for table in ("ratings", "votes", "executions"):
        for row in read_rows(out, table):
            if row["study_task_id"]:
                assert row["participant_id"] == tasks[row["study_task_id"]]["participant_id"]
    survey = {r["participant_id"] for r in read_rows(out, "survey_answers")}
    assert survey == {raw_to_r[data.participant_ids[0]], raw_to_r[data.participant_ids[2]]}
    imported = [r["participant"] or None for r in read_rows(out, "imported_votes")]
    assert imported == ["E001", None, "E001", "E002"]

    text = all_text(out)
    for needle in [*data.participant_ids, *data.pseudonyms, *data.emails, *data.secrets]:
        assert needle not in text, needle
    assert "arena_user" not in text and data.other_study_id not in text
    assert "It saves me time, but I check it twice." in text  # free text is kept


def test_hmac_pseudonyms_are_keyed_consistent_and_reproducible_with_a_salt(
    store: Store, data: StudyData, tmp_path: Path
) -> None:
    def ids(name: str, salt: str | None) -> list[str]:
        out = tmp_path / name
        manifest = export_study(store, data.study_id, out, "jsonl", pseudonyms="hmac", salt=salt)
        assert "pepper" not in (out / "manifest.json").read_text()
        assert manifest.pseudonymisation["method"] == "hmac-sha256"
        found = [p["id"] for p in read_rows(out, "participants")]
        used = {t["participant_id"] for t in read_rows(out, "tasks")}
        assert used <= set(found) and len(used) == 3
        return found

    first, second = ids("a", "pepper"), ids("b", "pepper")
    assert sorted(first) == sorted(second)
    assert all(re.fullmatch(r"H-[0-9a-f]{14}", i) for i in first)
    assert set(ids("c", None)).isdisjoint(first)
    with pytest.raises(ExportError, match="only applies"):
        export_study(store, data.study_id, tmp_path / "d", "jsonl", salt="pepper")


def test_the_study_is_found_by_unique_name(store: Store, data: StudyData, tmp_path: Path) -> None:
    manifest = export_study(store, data.study_name, tmp_path / "by-name", "jsonl")
    assert manifest.study_id == data.study_id
    make_study(store, name="Twice")
    make_study(store, name="Twice")
    with pytest.raises(ExportError, match="2 studies are named 'Twice'"):
        export_study(store, "Twice", tmp_path / "twice", "jsonl")
    with pytest.raises(ExportError, match="no study with id or name 'nope'"):
        export_study(store, "nope", tmp_path / "nope", "jsonl")
    assert not (tmp_path / "twice").exists() and not (tmp_path / "nope").exists()


def test_a_failed_export_leaves_no_directory(
    store: Store, data: StudyData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def failing(path: Path, *args: object) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        path.write_text("partial")

    monkeypatch.setattr(export_module, "write_table", failing)
    with pytest.raises(ExportError, match="No space left on device"):
        export_study(store, data.study_id, tmp_path / "out", "csv")
    assert len(calls) == 3
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []


def test_bad_targets_and_formats_are_refused(store: Store, data: StudyData, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="cannot write to"):
        export_study(store, data.study_id, tmp_path / "file" / "sub", "jsonl")
    with pytest.raises(ExportError, match="not a directory"):
        export_study(store, data.study_id, tmp_path / "file", "jsonl")
    with pytest.raises(ExportError, match="unknown format 'xml'"):
        export_study(store, data.study_id, tmp_path / "x", "xml")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(ExportError, match="not empty"):
            export_study(store, data.study_id, tmp_path / "full", "jsonl", overwrite=overwrite)
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"
    export_study(store, data.study_id, tmp_path / "again", "jsonl")
    with pytest.raises(ExportError, match="not empty"):
        export_study(store, data.study_id, tmp_path / "again", "csv")
    export_study(store, data.study_id, tmp_path / "again", "csv", overwrite=True)
    assert {p.suffix for p in (tmp_path / "again").iterdir()} == {".csv", ".json"}


async def test_an_export_of_tasks_run_with_a_key_holds_no_key(
    settings: Settings, tmp_path: Path
) -> None:
    assert SECRET  # the env fixture set OPENROUTER_API_KEY to it
    store = Store(f"sqlite:///{tmp_path / 'keyed.db'}")
    context = Context(settings, store, Catalog(settings))
    models = [unique("ok"), unique("error-401"), unique("stream-error")]
    async with Gateway(settings, context.catalog) as gateway:
        outcome = await run_task(context, gateway, "Add two numbers", models, PromptOptions())
    with store.session() as session:
        study = Study(name="keyed", models=models, mode="named", survey_name="none")
        session.add(study)
        session.flush()
        person = Participant(study_id=study.id, pseudonym="p")
        session.add(person)
        session.flush()
        session.add(
            StudyTask(
                task_id=outcome.task_id,
                study_id=study.id,
                participant_id=person.id,
                mode="named",
                models=models,
                prompt="Add two numbers",
            )
        )
    for fmt in FORMATS:
        manifest = export_study(store, study.id, tmp_path / fmt, fmt)
        assert manifest.table("generations").rows == 3
        assert manifest.redactions == 0  # nothing needed redacting: the store holds no key
        text = all_text(tmp_path / fmt)
        assert SECRET not in text and SECRET[:12] not in text
        for path in (tmp_path / fmt).iterdir():
            assert SECRET.encode() not in path.read_bytes()
    store.dispose()


def test_key_like_text_is_redacted(
    store: Store, data: StudyData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pasted = "sk-or-v1-" + "0123456789abcdef" * 4
    monkeypatch.setenv("OPENROUTER_API_KEY", SECRET)
    with store.session() as session:
        generation = session.query(Generation).filter(Generation.status == "error").one()
        generation.error = f"401: key {SECRET} rejected"
        generation.text = f"my key is {pasted}, placeholder sk-your-key-here stays"
    manifest = export_study(store, data.study_id, tmp_path / "out", "jsonl", secrets=["hunter22"])
    assert manifest.redactions == 2
    text = all_text(tmp_path / "out")
    assert SECRET not in text and pasted not in text
    assert "401: key [REDACTED] rejected" in text and "sk-your-key-here" in text


def test_every_file_and_column_is_documented() -> None:
    docs = (ROOT / "docs" / "exports.md").read_text(encoding="utf-8")
    sections = re.split(r"^### ", docs, flags=re.MULTILINE)
    by_file = {s.split("\n", 1)[0].strip().strip("`"): s for s in sections[1:]}
    for spec in TABLES:
        section = by_file.get(f"{spec.name}.*")
        assert section is not None, f"docs/exports.md has no section ### `{spec.name}.*`"
        documented = re.findall(r"^\| `(\w+)` \| (\w+) \|", section, flags=re.MULTILINE)
        assert documented == list(spec.columns), spec.name
