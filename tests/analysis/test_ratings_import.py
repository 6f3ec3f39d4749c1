"""``codearena ratings import``: every problem by line, all or nothing, a source replaced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from codearena.analysis.cli import ratings_app
from codearena.analysis.ratings_import import (
    RatingsImportError,
    import_ratings,
    parse_ratings,
)
from codearena.store import Store, study_rows
from codearena.store.research_models import ImportedRating
from tests.analysis.data import ALPHA, BETA, EVIL, make_study

runner = CliRunner()
app = typer.Typer()
app.add_typer(ratings_app, name="ratings")

HEADER = "participant,task,model,dimension,score,minutes_to_fix,language,category\n"


@pytest.fixture
def db(env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("CODEARENA_DATABASE_URL", database_url)
    store = Store(database_url)
    yield store
    store.dispose()


def _stored(store: Store, study_id: str) -> list[ImportedRating]:
    with store.session() as session:
        return list(session.scalars(study_rows.imported_ratings(study_id)))


def test_parse_reports_every_bad_line() -> None:
    text = (
        HEADER
        + f"u1,t1,{ALPHA},Correctness,4,2.5,Python,parsing\n"
        + f"u1,t1,{ALPHA},correctness,5,,,\n"  # the same four as line 2
        + f"u2,t1,{BETA},quality,6,,,\n"
        + f"u2,t1,{BETA},quality,3.5,,,\n"
        + f",t1,{BETA},quality,3,,,\n"
        + f"u3,t2,{BETA},quality,2,-1,,\n"
        + f"u3,t2,{BETA},usefulness,2,soon,,\n"
        + f"u3,t2,{BETA},usefulness,2,,,,extra\n"
        + "\n"
        + f'"u4","t3","{EVIL}",quality,"1",0,,\n'
        + f"u4,t3,{ALPHA},quality,5.0,,,\n"
    )
    parsed = parse_ratings(text)
    assert parsed.errors == [
        "line 3: the same participant, task, model and dimension as line 2",
        "line 4: score must be a whole number from 1 to 5, got '6'",
        "line 5: score must be a whole number from 1 to 5, got '3.5'",
        "line 6: blank participant",
        "line 7: minutes_to_fix must be 0 or more, got '-1'",
        "line 8: minutes_to_fix must be a number, got 'soon'",
        "line 9: more fields than columns",
    ]
    assert [(r.line, r.dimension, r.score, r.minutes_to_fix) for r in parsed.rows] == [
        (2, "correctness", 4, 2.5),
        (11, "quality", 1, 0.0),
        (12, "quality", 5, None),
    ]
    assert parsed.rows[0].language == "Python" and parsed.rows[0].category == "parsing"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "line 1: the file is empty"),
        ("participant,task,model,score\n", "line 1: missing column(s) dimension"),
        ("participant,task,model,dimension,score\n", "the file has a header but no ratings"),
        (
            "participant,task,model,dimension,score\nu," + "t" * 201 + ",m,q,3\n",
            "line 2: task is longer than 200 characters",
        ),
    ],
)
def test_file_level_problems(text: str, problem: str) -> None:
    errors = parse_ratings(text).errors
    assert len(errors) == 1 and errors[0].startswith(problem)


def test_a_bad_line_imports_nothing_and_a_source_is_replaced(db: Store, tmp_path: Path) -> None:
    study_id = make_study(db)
    good = tmp_path / "panel.csv"
    good.write_text(
        HEADER + f"u1,t1,{ALPHA},correctness,4,2.5,Python,\nu2,t1,{BETA},quality,2,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["ratings", "import", str(good), "--study", study_id, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "imported": 2,
        "replaced": 0,
        "source": "panel.csv",
        "study": study_id,
    }
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + f"u1,t1,{ALPHA},correctness,4,,,\nu1,t2,{ALPHA},correctness,0,,,\n",
        encoding="utf-8",
    )
    refused = runner.invoke(
        app, ["ratings", "import", str(bad), "--study", study_id, "--source", "panel.csv"]
    )
    assert refused.exit_code == 2
    assert "bad.csv: line 3: score must be a whole number from 1 to 5, got '0'" in refused.stderr
    assert "nothing was imported" in refused.stderr and "Traceback" not in refused.output
    assert [(r.line, r.score) for r in _stored(db, study_id)] == [(2, 4), (3, 2)]  # untouched

    again = tmp_path / "again" / "panel.csv"
    again.parent.mkdir()
    again.write_text(HEADER + f"u9,t9,{EVIL},usefulness,5,,,\n", encoding="utf-8")
    replaced = runner.invoke(app, ["ratings", "import", str(again), "--study", "Analysis study"])
    assert replaced.exit_code == 0, replaced.output
    assert "imported 1 ratings" in replaced.stdout and "replaced 2 ratings" in replaced.stdout
    rows = _stored(db, study_id)
    assert [(r.participant, r.model, r.dimension, r.score) for r in rows] == [
        ("u9", EVIL, "usefulness", 5)
    ]
    missing = runner.invoke(app, ["ratings", "import", str(good), "--study", "nope"])
    assert missing.exit_code == 2 and "no study" in missing.stderr


def test_sources_are_kept_apart_and_other_studies_untouched(db: Store) -> None:
    first = make_study(db)
    second = make_study(db, name="Second study")
    text = HEADER + f"u1,t1,{ALPHA},quality,3,,,\n"
    import_ratings(db, first, text, "a.csv")
    import_ratings(db, first, text, "b.csv")
    import_ratings(db, second, text, "a.csv")
    assert sorted(r.source for r in _stored(db, first)) == ["a.csv", "b.csv"]
    outcome = import_ratings(db, first, text, "a.csv")
    assert outcome.replaced == 1 and len(_stored(db, first)) == 2
    assert len(_stored(db, second)) == 1
    with pytest.raises(RatingsImportError):
        import_ratings(db, first, text, " ")
    with db.session() as session:
        total = len(list(session.scalars(select(ImportedRating))))
    assert total == 3
