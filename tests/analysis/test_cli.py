"""``codearena leaderboard`` and ``codearena votes import`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from codearena import stats
from codearena.analysis import study_votes
from codearena.analysis.cli import leaderboard_command, votes_app
from codearena.store import Store
from codearena.store.research_models import ImportedVote
from tests.analysis.data import ALPHA, BETA, EVIL, make_study

runner = CliRunner()
app = typer.Typer()
app.command("leaderboard")(leaderboard_command)
app.add_typer(votes_app, name="votes")


@pytest.fixture
def db(env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The CLI's database (SQLite, then PostgreSQL), as the environment names it."""
    monkeypatch.setenv("CODEARENA_DATABASE_URL", database_url)
    store = Store(database_url)
    yield store
    store.dispose()


@pytest.fixture
def sqlite_db(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    url = f"sqlite:///{env / 'cli.db'}"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    store = Store(url)
    yield store
    store.dispose()


def _imported(store: Store, study_id: str) -> int:
    with store.session() as session:
        query = select(func.count()).select_from(ImportedVote)
        return int(session.scalar(query.where(ImportedVote.study_id == study_id)) or 0)


def test_leaderboard_json_matches_the_stats_package(sqlite_db: Store) -> None:
    study_id = make_study(sqlite_db)
    result = runner.invoke(app, ["leaderboard", "--study", study_id, "--json", "--rounds", "300"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    votes = [v for v, _ in study_votes(sqlite_db, study_id)]
    # the participant bootstrap is the default for a study's votes
    board = stats.leaderboard(votes, rounds=300, bootstrap="participants")
    expected = [r.to_dict() for r in board]
    assert rows == expected
    assert set(rows[0]) == {
        "model",
        "rating",
        "ci_low",
        "ci_high",
        "rank",
        "battles",
        "wins",
        "losses",
        "ties",
        "warnings",
        "ci_note",
        "group",
        "bootstrap",
    }
    assert {r["bootstrap"] for r in rows} == {"participants"}
    assert all(r["warnings"] == [] and r["ci_note"] is None for r in rows)
    assert sum(r["battles"] for r in rows) == 10  # the self-identified battle is left out
    flagged = runner.invoke(
        app, ["leaderboard", "--study", "Analysis study", "--json", "--include-flagged"]
    )
    assert sum(r["battles"] for r in json.loads(flagged.stdout)) == 12
    dropped = runner.invoke(
        app, ["leaderboard", "--study", study_id, "--json", "--both-bad", "drop"]
    )
    assert sum(r["battles"] for r in json.loads(dropped.stdout)) == 8


def test_leaderboard_table_and_errors(sqlite_db: Store) -> None:
    study_id = make_study(sqlite_db)
    result = runner.invoke(app, ["leaderboard", "--study", study_id])
    assert result.exit_code == 0, result.output
    assert "rank" in result.stdout and ALPHA in result.stdout and EVIL in result.stdout
    assert "1 self-revealing vote(s) left out" in result.stdout
    missing = runner.invoke(app, ["leaderboard", "--study", "nope"])
    assert missing.exit_code == 2 and "no study" in missing.stderr
    assert "Traceback" not in missing.output
    bad = runner.invoke(app, ["leaderboard", "--study", study_id, "--both-bad", "maybe"])
    assert bad.exit_code == 2 and "--both-bad" in bad.stderr


def test_votes_import_replaces_on_reimport(db: Store, tmp_path: Path) -> None:
    study_id = make_study(db)
    csv = tmp_path / "arena.csv"
    csv.write_text(
        "model_a,model_b,winner,participant,language,category\n"
        f"{ALPHA},{BETA},a,u1,Python,parsing\n"
        "\n"
        f"{BETA},{ALPHA},TIE,,,\n"
        f'"{BETA}","{EVIL}",both_bad,u2,Go,\n'
        f"{ALPHA},{EVIL},bothbad,,,\n"
        f"{EVIL},{ALPHA},Both-Bad,,,\n",
        encoding="utf-8",
    )
    before = _imported(db, study_id)
    result = runner.invoke(app, ["votes", "import", str(csv), "--study", study_id, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"imported": 5, "study": study_id}
    assert _imported(db, study_id) == before + 5
    with db.session() as session:
        rows = list(
            session.scalars(
                select(ImportedVote)
                .where(ImportedVote.source == "arena.csv")
                .order_by(ImportedVote.line)
            )
        )
    assert [(r.line, r.winner, r.participant, r.language) for r in rows] == [
        (2, "a", "u1", "Python"),
        (4, "tie", None, None),
        (5, "both_bad", "u2", "Go"),
        (6, "both_bad", None, None),  # the old spellings are stored as both_bad
        (7, "both_bad", None, None),
    ]
    again = runner.invoke(app, ["votes", "import", str(csv), "--study", "Analysis study"])
    assert again.exit_code == 0, again.output
    assert "imported 5 votes" in again.stdout and "replaced 5" in again.stdout
    assert _imported(db, study_id) == before + 5  # replaced, not duplicated
    votes = [v for v, _ in study_votes(db, study_id)]
    assert stats.Vote(BETA, EVIL, "both_bad", participant="imported:u2") in votes
    assert stats.Vote(ALPHA, EVIL, "both_bad") in votes  # no rater: a participant of its own


def test_votes_import_reports_every_bad_row_and_imports_nothing(db: Store, tmp_path: Path) -> None:
    study_id = make_study(db)
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "model_a,model_b,winner\n"
        f"{ALPHA},{BETA},a\n"
        f"{ALPHA},{BETA},maybe\n"
        f"{ALPHA},{ALPHA},a\n"
        f",{BETA},b\n"
        f"{ALPHA},{BETA},a,extra\n"
        f"{ALPHA},{BETA},tie\n",
        encoding="utf-8",
    )
    before = _imported(db, study_id)
    result = runner.invoke(app, ["votes", "import", str(csv), "--study", study_id])
    assert result.exit_code == 2
    errors = result.stderr
    assert "line 3: winner must be one of a, b, tie, both_bad, got 'maybe'" in errors
    assert "line 4: the same model twice" in errors
    assert "line 5: blank model_a" in errors
    assert "line 6: more fields than columns" in errors
    assert "line 2" not in errors and "line 7" not in errors
    assert "nothing was imported" in errors and "Traceback" not in result.output
    assert _imported(db, study_id) == before
    header = tmp_path / "header.csv"
    header.write_text("model_a,winner\nx,a\n", encoding="utf-8")
    result = runner.invoke(app, ["votes", "import", str(header), "--study", study_id])
    assert result.exit_code == 2 and "line 1: missing column(s) model_b" in result.stderr
    result = runner.invoke(app, ["votes", "import", str(csv), "--study", "no-such-study"])
    assert result.exit_code == 2 and "no study" in result.stderr
    assert _imported(db, study_id) == before


def test_leaderboard_json_warns_of_a_model_that_lost_every_battle(sqlite_db: Store) -> None:
    """With both-bad votes dropped, EVIL's only counted battle is its loss to alpha."""
    study_id = make_study(sqlite_db)
    result = runner.invoke(
        app, ["leaderboard", "--study", study_id, "--json", "--both-bad", "drop", "--rounds", "200"]
    )
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.stdout)}
    assert rows[EVIL]["warnings"] == [
        f"{EVIL} lost its one battle against {ALPHA}, so the votes set no lower limit on its "
        "rating: its interval is unbounded below."
    ]
    assert rows[EVIL]["ci_low"] is None and rows[EVIL]["ci_high"] is not None
    assert rows[EVIL]["ci_note"] == "unbounded below"
    assert rows[ALPHA]["warnings"] == [] == rows[BETA]["warnings"]
    table = runner.invoke(app, ["leaderboard", "--study", study_id, "--both-bad", "drop"])
    assert table.exit_code == 0, table.output
    assert "-∞ to " in table.stdout and f"(!) {EVIL} lost its one battle" in table.stdout
