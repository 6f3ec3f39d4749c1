"""``codearena analyze``: the JSON shape, the numbers of the stats modules, warnings and nulls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from codearena.analysis.cli import analyze_command
from codearena.analysis.inference import analyze, rating_scores
from codearena.analysis.load import load_study
from codearena.analysis.ratings_import import import_ratings
from codearena.stats.mixed import fit_mixed
from codearena.stats.pairwise import holm
from codearena.store import Store
from codearena.store.models import Execution, Generation, Task
from codearena.store.platform_models import Participant, Rating, Study, StudyTask, Vote
from tests.analysis.data import ALPHA, BETA, EVIL, at, make_study

runner = CliRunner()
app = typer.Typer()
app.command("analyze")(analyze_command)
app.command("noop")(lambda: None)  # keeps "analyze" a subcommand

MODELS = [ALPHA, BETA, EVIL]
QUALITY = {ALPHA: 4.0, BETA: 3.0, EVIL: 2.5}
PASS = {ALPHA: 0.75, BETA: 0.4, EVIL: 0.6}


@pytest.fixture
def db(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    url = f"sqlite:///{env / 'inference.db'}"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    store = Store(url)
    yield store
    store.dispose()


def rich_study(store: Store, seed: int = 0) -> str:
    """10 participants with 3 tasks each, all three models answering, rated, run and voted on."""
    rng = np.random.default_rng(seed)
    with store.session() as s:
        study = Study(
            name="Inference study",
            models=MODELS,
            mode="blind",
            survey_name="none",
            created_at=at(0),
        )
        s.add(study)
        s.flush()
        for p in range(10):
            who = f"P-{study.id[:6].upper()}{p:02d}"
            s.add(Participant(id=who, study_id=study.id, pseudonym=f"p{p}", created_at=at(1)))
            s.flush()
            skill = rng.normal(0, 0.5)
            for k in range(3):
                task = Task(prompt=f"task {p}-{k}", source="web", created_at=at(2))
                s.add(task)
                s.flush()
                st = StudyTask(
                    task_id=task.id,
                    study_id=study.id,
                    participant_id=who,
                    mode="blind",
                    models=MODELS,
                    prompt=task.prompt,
                    status="done",
                    created_at=at(3 + p),
                )
                s.add(st)
                s.flush()
                for position, model in enumerate(MODELS):
                    gen = Generation(
                        task_id=task.id, position=position, model=model, provider="x", status="ok"
                    )
                    s.add(gen)
                    s.flush()
                    passed = bool(rng.random() < PASS[model])
                    for verdict, kind in (
                        ("ran", None),
                        ("passed" if passed else "failed", "python"),
                    ):
                        s.add(
                            Execution(
                                generation_id=gen.id,
                                task_id=task.id,
                                language="python",
                                test_kind=kind,
                                verdict=verdict,
                                backend="unisolated",
                                created_at=at(5),
                            )
                        )
                    noise = rng.normal(0, 0.7, size=3)
                    score = [int(np.clip(round(QUALITY[model] + skill + e), 1, 5)) for e in noise]
                    s.add(
                        Rating(
                            study_task_id=st.id,
                            position=position,
                            generation_id=gen.id,
                            participant_id=who,
                            model=model,
                            correctness=score[0],
                            quality=score[1],
                            usefulness=score[2],
                            updated_at=at(6),
                        )
                    )
                a, b = rng.permutation(2)
                s.add(
                    Vote(
                        study_task_id=st.id,
                        study_id=study.id,
                        participant_id=who,
                        kind="battle",
                        position=-1,
                        choice="a" if rng.random() < 0.7 else "b",
                        model_a=MODELS[a],
                        model_b=MODELS[b],
                        created_at=at(7),
                    )
                )
        return study.id


def test_analyze_json_shape_and_numbers(db: Store) -> None:
    study_id = rich_study(db)
    lines = ["participant,task,model,dimension,score"]
    lines += [
        f"x{i % 4},e{i % 6},{m},clarity,{1 + (i + j) % 5}"
        for i in range(12)
        for j, m in enumerate(MODELS)
    ]
    import_ratings(db, study_id, "\n".join(lines) + "\n", "panel.csv")
    result = runner.invoke(app, ["analyze", "--study", "Inference study", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"ratings", "pass_fail", "pairwise", "warnings"}
    assert sorted(out["ratings"]) == ["clarity", "correctness", "quality", "usefulness"]
    for fit in out["ratings"].values():
        assert set(fit) == {"n", "model_effects", "variance", "icc"}
        assert [e["model"] for e in fit["model_effects"]] == sorted(MODELS)
        for effect in fit["model_effects"]:
            assert set(effect) == {"model", "estimate", "ci_low", "ci_high"}
        assert set(fit["variance"]) == {"participant", "task", "residual"}
        assert set(fit["icc"]) == {"participant", "task"}
    quality = out["ratings"]["quality"]
    assert quality["n"] == 90
    scores = rating_scores(db, load_study(db, study_id))["quality"]
    assert quality == fit_mixed(scores, label="quality").to_dict()
    effects = {e["model"]: e for e in quality["model_effects"]}
    assert effects[ALPHA]["estimate"] > effects[BETA]["estimate"]
    for e in effects.values():
        assert e["ci_low"] < e["estimate"] < e["ci_high"]
    assert out["ratings"]["clarity"]["n"] == 36  # the imported dimension

    passes = out["pass_fail"]
    assert set(passes) == {"n", "clusters", "models"}
    assert passes["n"] == 90 and passes["clusters"] == 10  # the runs without tests left out
    for row in passes["models"]:
        assert set(row) == {"model", "n", "passed", "estimate", "ci_low", "ci_high"}
        assert row["n"] == 30
        assert row["estimate"] == pytest.approx(row["passed"] / row["n"])

    keys = {"kind", "dimension", "a", "b", "n", "effect", "effect_size", "p", "p_holm"}
    assert all(set(p) == keys for p in out["pairwise"])
    ratings = [p for p in out["pairwise"] if p["kind"] == "rating"]
    votes = [p for p in out["pairwise"] if p["kind"] == "vote"]
    assert len(ratings) == 4 * 3 and 1 <= len(votes) <= 3
    for dimension in out["ratings"]:
        family = [p for p in ratings if p["dimension"] == dimension]
        assert [p["p_holm"] for p in family] == pytest.approx(holm([p["p"] for p in family]))
        for p in family:
            assert -1 <= p["effect_size"] <= 1
            assert p["n"] == (24 if dimension == "clarity" else 60)
    assert sum(p["n"] for p in votes) == 30
    for p in votes:
        assert 0 <= p["effect_size"] <= 1 and p["dimension"] is None
        assert p["effect"] == pytest.approx(p["effect_size"] - 0.5)

    table = runner.invoke(app, ["analyze", "--study", study_id])
    assert table.exit_code == 0, table.output
    assert "quality (n=90): mixed model" in table.stdout and "pass/fail" in table.stdout
    assert "pairwise" in table.stdout


def test_too_little_data_gives_warnings_and_nulls(db: Store) -> None:
    study_id = make_study(db)
    out = analyze(db, study_id)
    assert sorted(out["ratings"]) == ["correctness", "quality", "usefulness"]
    for fit in out["ratings"].values():
        assert all(e["estimate"] is None and e["ci_low"] is None for e in fit["model_effects"])
        assert fit["variance"] == {"participant": None, "task": None, "residual": None}
        assert fit["icc"] == {"participant": None, "task": None}
    assert all(m["estimate"] is None and m["ci_low"] is None for m in out["pass_fail"]["models"])
    assert any("fewer than 2 models" in w for w in out["warnings"])
    assert any(w.startswith("pass/fail:") for w in out["warnings"])
    assert all(p["kind"] == "vote" for p in out["pairwise"])  # no model has 5 ratings
    result = runner.invoke(app, ["analyze", "--study", study_id])
    assert result.exit_code == 0, result.output
    assert "(!)" in result.stdout and "\x1b" not in result.stdout


def test_an_empty_study_and_an_unknown_one(db: Store) -> None:
    with db.session() as s:
        study = Study(name="Empty", models=[], mode="blind", survey_name="none")
        s.add(study)
        s.flush()
        empty = study.id
    out = analyze(db, empty)
    assert out["ratings"] == {} and out["pairwise"] == []
    assert out["pass_fail"] == {"n": 0, "clusters": 0, "models": []}
    assert "no ratings: no mixed models" in out["warnings"]
    missing = runner.invoke(app, ["analyze", "--study", "nope", "--json"])
    assert missing.exit_code == 2 and "no study" in missing.stderr
