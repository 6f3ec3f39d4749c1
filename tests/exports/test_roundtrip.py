"""Export A -> import into an empty database B -> export B gives the same files, row by row."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from sqlalchemy import func, select

from codearena.exports import (
    TABLES,
    ImportFailure,
    StudyExists,
    export_study,
    import_export,
    read_export,
)
from codearena.store import Store
from codearena.store.models import Task
from codearena.store.platform_models import Participant, Study
from tests.exports.data import StudyData, make_study


@pytest.fixture
def source(tmp_path: Path) -> tuple[Store, StudyData]:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    return store, make_study(store)


def same_files(first: Path, second: Path) -> None:
    """Every table file identical; the manifests differ only in the export time."""
    a = json.loads((first / "manifest.json").read_text())
    b = json.loads((second / "manifest.json").read_text())
    assert a.pop("exported_at") and b.pop("exported_at")
    assert a == b
    for spec in TABLES:
        name = f"{spec.name}.{a['format']}"
        if a["format"] == "parquet":
            assert pq.read_table(first / name).equals(pq.read_table(second / name)), name
        else:
            lines_a = (first / name).read_text(encoding="utf-8").splitlines()
            lines_b = (second / name).read_text(encoding="utf-8").splitlines()
            assert lines_a == lines_b, name


@pytest.mark.parametrize("via", ["jsonl", "parquet"])
def test_round_trip_through_an_empty_database_reproduces_every_export(
    source: tuple[Store, StudyData], database_url: str, tmp_path: Path, via: str
) -> None:
    store_a, data = source
    export_study(store_a, data.study_id, tmp_path / "a" / via, via)
    store_b = Store(database_url)
    assert import_export(store_b, tmp_path / "a" / via) == data.study_id
    for fmt in ("csv", "jsonl", "parquet"):
        if fmt != via:
            export_study(store_a, data.study_id, tmp_path / "a" / fmt, fmt)
        export_study(store_b, data.study_id, tmp_path / "b" / fmt, fmt)
        same_files(tmp_path / "a" / fmt, tmp_path / "b" / fmt)
    with store_b.session() as session:
        people = list(session.scalars(select(Participant).order_by(Participant.id)))
        assert [(p.id, p.pseudonym, p.email) for p in people] == [
            ("R001", "R001", None),
            ("R002", "R002", None),
            ("R003", "R003", None),
        ]
        study = session.get(Study, data.study_id)
        assert study is not None and study.owner_id is None
    store_a.dispose()
    store_b.dispose()


def test_importing_twice_is_refused_and_changes_nothing(
    source: tuple[Store, StudyData], tmp_path: Path
) -> None:
    store_a, data = source
    export_study(store_a, data.study_id, tmp_path / "x", "jsonl")
    store_b = Store(f"sqlite:///{tmp_path / 'b.db'}")
    import_export(store_b, tmp_path / "x")
    with pytest.raises(StudyExists, match=f"study {data.study_id} already exists"):
        import_export(store_b, tmp_path / "x")
    with store_b.session() as session:
        assert session.scalar(select(func.count()).select_from(Task)) == 3
    # the source database holds the study too
    with pytest.raises(StudyExists):
        import_export(store_a, tmp_path / "x")


def test_a_failed_import_writes_nothing(source: tuple[Store, StudyData], tmp_path: Path) -> None:
    store_a, data = source
    export_study(store_a, data.study_id, tmp_path / "x", "jsonl")
    _, rows = read_export(tmp_path / "x")
    store_b = Store(f"sqlite:///{tmp_path / 'b.db'}")
    with store_b.session() as session:  # one of the study's tasks is already there
        session.add(Task(id=rows["tasks"][0]["task_id"], prompt="already here"))
    with pytest.raises(ImportFailure, match="tasks already exist"):
        import_export(store_b, tmp_path / "x")
    with store_b.session() as session:
        assert session.get(Study, data.study_id) is None
        assert session.scalar(select(func.count()).select_from(Participant)) == 0


def test_broken_exports_are_refused(source: tuple[Store, StudyData], tmp_path: Path) -> None:
    store_a, data = source
    store_b = Store(f"sqlite:///{tmp_path / 'b.db'}")
    export_study(store_a, data.study_id, tmp_path / "csv", "csv")
    with pytest.raises(ImportFailure, match="a csv export cannot be imported"):
        import_export(store_b, tmp_path / "csv")
    export_study(store_a, data.study_id, tmp_path / "x", "jsonl")
    with pytest.raises(ImportFailure, match="a jsonl export, not parquet"):
        import_export(store_b, tmp_path / "x", "parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailure, match=r"no manifest\.json"):
        import_export(store_b, tmp_path / "empty")
    votes = tmp_path / "x" / "votes.jsonl"
    votes.write_text("\n".join(votes.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(ImportFailure, match=r"votes\.jsonl has 2 rows, the manifest says 3"):
        import_export(store_b, tmp_path / "x")
    votes.write_text("{not json\n")
    with pytest.raises(ImportFailure, match=r"votes\.jsonl line 1: invalid JSON"):
        import_export(store_b, tmp_path / "x")
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    manifest["tables"][1]["columns"].pop()
    (tmp_path / "x" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ImportFailure, match="participants table's columns differ"):
        import_export(store_b, tmp_path / "x")
    with store_b.session() as session:
        assert session.scalar(select(func.count()).select_from(Study)) == 0


def test_a_study_with_nothing_in_it_round_trips(tmp_path: Path) -> None:
    store_a = Store(f"sqlite:///{tmp_path / 'a.db'}")
    with store_a.session() as session:
        study = Study(name="empty", models=["m1", "m2"], mode="blind", survey_name="none")
        session.add(study)
    store_b = Store(f"sqlite:///{tmp_path / 'b.db'}")
    for fmt in ("jsonl", "parquet", "csv"):
        manifest = export_study(store_a, study.id, tmp_path / "a" / fmt, fmt)
        assert sum(t.rows for t in manifest.tables) == 1
    import_export(store_b, tmp_path / "a" / "parquet")
    for fmt in ("jsonl", "parquet", "csv"):
        export_study(store_b, study.id, tmp_path / "b" / fmt, fmt)
        same_files(tmp_path / "a" / fmt, tmp_path / "b" / fmt)


def test_an_older_export_spelling_bothbad_is_imported_and_exported_as_both_bad(
    source: tuple[Store, StudyData], tmp_path: Path
) -> None:
    """Exports say ``both_bad``; one written before migration 0005 said ``bothbad`` (votes) and
    is imported as ``both_bad``."""
    store_a, data = source
    export_study(store_a, data.study_id, tmp_path / "old", "jsonl")
    votes = tmp_path / "old" / "votes.jsonl"
    rows = [json.loads(line) for line in votes.read_text().splitlines()]
    battle = next(r for r in rows if r["kind"] == "battle")
    battle["choice"] = "bothbad"
    votes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    imported = tmp_path / "old" / "imported_votes.jsonl"
    old = [json.loads(line) for line in imported.read_text().splitlines()]
    assert "both_bad" in {r["winner"] for r in old}
    imported.write_text(
        "".join(
            json.dumps(r | {"winner": "bothbad" if r["winner"] == "both_bad" else r["winner"]})
            + "\n"
            for r in old
        )
    )
    store_b = Store(f"sqlite:///{tmp_path / 'b.db'}")
    import_export(store_b, tmp_path / "old")
    export_study(store_b, data.study_id, tmp_path / "new", "jsonl")
    new_votes = [json.loads(x) for x in (tmp_path / "new" / "votes.jsonl").read_text().splitlines()]
    assert [r["choice"] for r in new_votes if r["kind"] == "battle"] == ["both_bad"]
    new_imported = (tmp_path / "new" / "imported_votes.jsonl").read_text()
    assert '"both_bad"' in new_imported and "bothbad" not in new_imported
    store_a.dispose()
    store_b.dispose()
