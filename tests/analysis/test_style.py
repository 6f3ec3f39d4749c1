"""Style control from stored answers: the features, the controlled board of a study, and
``codearena leaderboard --control`` / ``--bootstrap``."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from codearena.analysis.cli import leaderboard_command
from codearena.analysis.load import StudyData, battle_votes, load_study
from codearena.analysis.style import (
    answer_features,
    controlled_board,
    feature_names,
    markdown_counts,
    styled_votes,
)
from codearena.store import Store
from codearena.store.models import CodeMetrics, Execution, Generation, Task
from codearena.store.platform_models import Study, StudyTask, Vote
from tests.analysis.data import ALPHA, BETA, EVIL, make_study

runner = CliRunner()
app = typer.Typer()
app.command("leaderboard")(leaderboard_command)
app.command("other")(lambda: None)  # two commands, so the test invokes "leaderboard" by name

ANSWER = """# Plan

Some **bold** words and __more bold__, then:

- one
- two
1. three

```python
# not a header
- not a list item
x = 1

print(**kwargs)
```

## Done
"""


def test_markdown_counts_skip_code_blocks() -> None:
    assert markdown_counts(ANSWER) == {"headers": 2, "lists": 3, "bold": 2}
    assert markdown_counts("~~~\n# no\n~~~\n#also not a header\n") == {
        "headers": 0,
        "lists": 0,
        "bold": 0,
    }


def test_answer_features() -> None:
    code = [{"language": "python", "source": "# not a header\n\nx = 1\n"}]
    generation = Generation(id="g", task_id="t", model="m", text=ANSWER, code=code, turn=1)
    names = feature_names("style+objective")
    run = Execution(generation_id="g", task_id="t", test_kind="python", verdict="failed")
    values = dict(zip(names, answer_features(generation, [run], 4, names), strict=True))
    assert values == {
        "length": float(len(ANSWER)),
        "code_lines": 2.0,
        "headers": 2.0,
        "lists": 3.0,
        "bold": 2.0,
        "tests_passed": 0.0,
        "findings": 4.0,
    }
    unknown = answer_features(generation, [], None, names)
    assert math.isnan(unknown[-2]) and math.isnan(unknown[-1])
    assert feature_names("style") == ("length", "code_lines", "headers", "lists", "bold")


def _passing_study(n_tasks: int, seed: int) -> StudyData:
    """Two models of equal strength; each answer passes its tests at random, voters prefer the
    answer that passed (and, at random, the longer one not at all)."""
    rng = np.random.default_rng(seed)
    data = StudyData(study=Study(id="s", name="sim", mode="blind"))
    for t in range(n_tasks):
        task = Task(id=f"t{t}", prompt="p")
        data.tasks[task.id] = task
        who = f"P{t % 25}"
        study_task = StudyTask(
            id=f"st{t}", task_id=task.id, study_id="s", participant_id=who, mode="blind"
        )
        data.study_tasks.append(study_task)
        passed = {}
        for position, model in enumerate(("m/one", "m/two")):
            gid = f"g{t}{position}"
            text = "x" * int(rng.integers(100, 3000))
            data.generations[gid] = Generation(
                id=gid, task_id=task.id, model=model, position=position, turn=1, text=text, code=[]
            )
            passed[model] = bool(rng.random() < 0.5)
            verdict = "passed" if passed[model] else "failed"
            data.executions.append(
                Execution(generation_id=gid, task_id=task.id, test_kind="python", verdict=verdict)
            )
            data.metrics[gid] = CodeMetrics(generation_id=gid, lint_count=1, security_count=0)
        edge = float(passed["m/one"]) - float(passed["m/two"])
        p_one = 1.0 / (1.0 + math.exp(-1.5 * edge))
        choice = "a" if rng.random() < p_one else "b"
        data.votes.append(
            Vote(
                study_task_id=study_task.id,
                study_id="s",
                participant_id=who,
                kind="battle",
                choice=choice,
                model_a="m/one",
                model_b="m/two",
                turns_seen=1,
            )
        )
    return data


def test_controlled_board_finds_the_effect_of_passing() -> None:
    data = _passing_study(400, seed=1)
    board = controlled_board(data, "style+objective", rounds=300)
    assert board["control"] == "style+objective" and board["bootstrap"] == "participants"
    assert board["votes"] == 400 and board["left_out"] == {"imported": 0, "without_answers": 0}
    passed = board["coefficients"]["tests_passed"]
    assert passed["ci_low"] > 0.3 and passed["value"] > 0.5
    length = board["coefficients"]["length"]
    assert length["ci_low"] < 0.0 < length["ci_high"]
    # headers, lists, bold never differ (plain text) and findings are equal on both sides
    for name in ("headers", "lists", "bold", "findings"):
        assert board["coefficients"][name]["value"] is None
    assert {r["bootstrap"] for r in board["leaderboard"]} == {"participants"}
    assert len(board["uncontrolled"]) == len(board["leaderboard"]) == 2
    style_only = controlled_board(data, "style", rounds=50, bootstrap="votes")
    assert set(style_only["coefficients"]) == {"length", "code_lines", "headers", "lists", "bold"}
    assert {r["bootstrap"] for r in style_only["leaderboard"]} == {"votes"}


def test_a_battle_without_its_answers_is_left_out() -> None:
    data = _passing_study(30, seed=2)
    del data.generations["g30"], data.generations["g51"]  # task 3's first, task 5's second
    votes, first, second, missing = styled_votes(data, feature_names("style"))
    assert (len(votes), len(first), len(second), missing) == (28, 28, 28, 2)
    assert len(battle_votes(data)) == 30


@pytest.fixture
def sqlite_db(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    url = f"sqlite:///{env / 'style.db'}"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    store = Store(url)
    yield store
    store.dispose()


def test_leaderboard_control_json(sqlite_db: Store) -> None:
    study_id = make_study(sqlite_db)
    args = ["leaderboard", "--study", study_id, "--json", "--rounds", "50"]
    result = runner.invoke(app, [*args, "--control", "style+objective"])
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    assert set(board) == {
        "control",
        "bootstrap",
        "features",
        "votes",
        "left_out",
        "leaderboard",
        "coefficients",
        "uncontrolled",
    }
    assert board["features"] == list(feature_names("style+objective"))
    assert set(board["coefficients"]) == set(board["features"])
    assert board["left_out"] == {"imported": 3, "without_answers": 0}
    assert board["votes"] == 2  # two platform battles; the self-identified one is left out
    assert {r["model"] for r in board["leaderboard"]} == {ALPHA, BETA, EVIL}
    expected = controlled_board(
        load_study(sqlite_db, study_id), "style+objective", rounds=50, seed=0
    )
    assert board == expected
    table = runner.invoke(app, ["leaderboard", "--study", study_id, "--control", "style"])
    assert table.exit_code == 0, table.output
    assert "controlled for style" in table.stdout and "coefficients" in table.stdout
    assert "3 imported vote(s)" in table.stdout
    bad = runner.invoke(app, ["leaderboard", "--study", study_id, "--control", "taste"])
    assert bad.exit_code == 2 and "--control" in bad.stderr


def test_leaderboard_bootstrap_option(sqlite_db: Store) -> None:
    study_id = make_study(sqlite_db)
    args = ["leaderboard", "--study", study_id, "--json", "--rounds", "100"]
    by_votes = json.loads(runner.invoke(app, [*args, "--bootstrap", "votes"]).stdout)
    by_people = json.loads(runner.invoke(app, args).stdout)
    assert {r["bootstrap"] for r in by_votes} == {"votes"}
    assert {r["bootstrap"] for r in by_people} == {"participants"}
    assert [r["rating"] for r in by_votes] == [r["rating"] for r in by_people]
    table = runner.invoke(app, ["leaderboard", "--study", study_id, "--bootstrap", "votes"])
    assert "intervals resample votes" in table.stdout
    bad = runner.invoke(app, [*args, "--bootstrap", "people"])
    assert bad.exit_code == 2 and "--bootstrap" in bad.stderr
