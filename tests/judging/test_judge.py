"""``codearena judge`` end to end: battles from the store, calls through the gateway to a
loopback judge that reads the prompt, verdicts stored, agreement and leaderboards reported."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from codearena.store import Generation, Store, Task
from codearena.store.models import Execution
from codearena.store.platform_models import Participant, Study, StudyTask, Vote
from codearena.store.research_models import JudgeVerdict
from codearena.survey.instruments import STUDY_2025
from codearena.testing.fake_upstream import FakeUpstream
from tests.test_cli import run

GOOD, BAD = "m/good", "m/bad"
RIGHT = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"


class JudgeUpstream(FakeUpstream):
    """A judge that reads the two answers it is shown. ``fair`` prefers the one that adds;
    ``first`` always prefers answer A (pure position bias); ``exec`` prefers the side whose
    execution passed and says TIE when it sees no execution; ``mute`` gives no verdict line."""

    def _reply(self, body: dict[str, Any]) -> str:
        model = str(body.get("model", ""))
        text = str(body["messages"][-1]["content"])
        a = text.split("## Answer A", 1)[1].split("## Answer B", 1)[0]
        if "fake/first" in model:
            return "A looks better.\nVERDICT: A"
        if "fake/mute" in model:
            return "Both have merits."
        if "fake/exec" in model:
            if "verdict: " not in text:
                return "VERDICT: TIE"
            return "VERDICT: A" if "verdict: passed" in a else "VERDICT: B"
        return "VERDICT: A" if "a + b" in a else "VERDICT: B"


@pytest.fixture
def judge_server() -> Iterator[JudgeUpstream]:
    with JudgeUpstream() as server:
        yield server


@pytest.fixture
def db(env: Path, judge_server: JudgeUpstream, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("OPENROUTER_BASE_URL", judge_server.base_url)
    url = f"sqlite:///{env / 'judge.db'}"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    store = Store(url)
    yield store
    store.dispose()


def make_battles(store: Store, humans: list[str], *, run: bool = True) -> str:
    """A blind study with one battle per entry of ``humans`` (the vote's choice). Battle i has
    GOOD's right answer on side A when i is even, on side B when odd; with ``run`` each answer
    has an execution (the right one passed, the wrong one failed)."""
    with store.session() as s:
        study = Study(
            name="judged",
            consent_text="ok",
            models=[GOOD, BAD],
            mode="blind",
            survey_name=STUDY_2025.name,
            survey=STUDY_2025.to_dict(),
        )
        s.add(study)
        s.flush()
        s.add(Participant(id="P-JUDGE01", study_id=study.id, pseudonym="p", consented_at=None))
        for i, choice in enumerate(humans):
            first, second = (GOOD, BAD) if i % 2 == 0 else (BAD, GOOD)
            task = Task(prompt=f"write add #{i}", source="web")
            s.add(task)
            s.flush()
            for position, model in enumerate((first, second)):
                generation = Generation(
                    task_id=task.id,
                    position=position,
                    model=model,
                    provider="openrouter",
                    status="ok",
                    text=RIGHT if model == GOOD else WRONG,
                )
                s.add(generation)
                s.flush()
                if run:
                    passed = model == GOOD
                    s.add(
                        Execution(
                            generation_id=generation.id,
                            task_id=task.id,
                            language="python",
                            verdict="passed" if passed else "failed",
                            tests_passed=1 if passed else 0,
                            tests_total=1,
                            stderr="" if passed else "AssertionError: add(1, 2) == -1",
                            backend="bwrap",
                        )
                    )
            study_task = StudyTask(
                task_id=task.id,
                study_id=study.id,
                participant_id="P-JUDGE01",
                mode="blind",
                models=[first, second],
                prompt=f"write add #{i}",
                status="done",
            )
            s.add(study_task)
            s.flush()
            s.add(
                Vote(
                    study_task_id=study_task.id,
                    study_id=study.id,
                    participant_id="P-JUDGE01",
                    kind="battle",
                    choice=choice,
                    model_a=first,
                    model_b=second,
                )
            )
        return study.id


def _human_right(n: int) -> list[str]:
    """Votes that pick GOOD every time (side A on even battles, B on odd)."""
    return ["a" if i % 2 == 0 else "b" for i in range(n)]


def test_a_fair_judge_agrees_and_its_verdicts_are_stored_and_reused(
    db: Store, judge_server: JudgeUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    humans = _human_right(12)
    humans[3] = "a"  # one voter picked the wrong answer (BAD was on side A of battle 3)
    study = make_battles(db, humans)
    code, out, err = run(
        capsys, "judge", "--study", study, "--judge", "openrouter:fake/fair", "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["battles"] == 12
    assert body["calls"]["made"] == 24 and body["calls"]["reused"] == 0  # both orders
    (variant,) = body["variants"]
    assert variant["n"] == 12 and variant["position_consistency"] == 1.0
    assert variant["accuracy"] == pytest.approx(11 / 12)
    assert variant["decisive"] == {"n": 12, "accuracy": pytest.approx(11 / 12)}
    assert variant["kappa"]["value"] == pytest.approx(5 / 6, abs=0.1)
    assert variant["kappa"]["ci_low"] is not None
    judge_board = {row["model"]: row for row in body["leaderboards"]["judge"]}
    human_board = {row["model"]: row for row in body["leaderboards"]["human"]}
    assert judge_board[GOOD]["wins"] == 12 and human_board[GOOD]["wins"] == 11
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(JudgeVerdict)) == 24
        judged = s.scalars(select(Task).where(Task.source == "judge")).all()
        assert len(judged) == 24
        assert all(t.temperature == 0.0 for t in judged)
        costs = s.scalars(
            select(Generation.cost_usd).where(Generation.task_id.in_([t.id for t in judged]))
        ).all()
        assert len(costs) == 24 and all(c is not None and c > 0 for c in costs)
    assert body["calls"]["cost_usd"] == pytest.approx(sum(c for c in costs if c))
    before = len(judge_server.requests)
    code, out, _ = run(
        capsys, "judge", "--study", study, "--judge", "openrouter:fake/fair", "--json"
    )
    again = json.loads(out)
    assert code == 0 and again["calls"] == {
        "made": 0,
        "reused": 24,
        "failed": {},
        "cost_usd": 0.0,
        "cost_unknown": 0,
    }
    assert len(judge_server.requests) == before  # nothing asked, nothing paid twice
    assert again["variants"] == body["variants"]


def test_position_bias_cancels_to_ties(db: Store, capsys: pytest.CaptureFixture[str]) -> None:
    study = make_battles(db, _human_right(10))
    code, out, err = run(
        capsys, "judge", "--study", study, "--judge", "openrouter:fake/first", "--json"
    )
    assert code == 0, err
    (variant,) = json.loads(out)["variants"]
    assert variant["position_consistency"] == 0.0
    assert variant["judge_choices"] == {"tie": 10}
    assert variant["decisive"]["n"] == 0 and variant["accuracy"] == 0.0


def test_with_execution_adds_a_variant_that_reads_the_runs(
    db: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    study = make_battles(db, _human_right(10))
    code, out, err = run(
        capsys,
        "judge",
        "--study",
        study,
        "--judge",
        "openrouter:fake/exec",
        "--with-execution",
        "--json",
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["calls"]["made"] == 40
    without, with_runs = body["variants"]
    assert (without["with_execution"], with_runs["with_execution"]) == (False, True)
    assert without["judge_choices"] == {"tie": 10}  # it sees no execution there
    assert with_runs["accuracy"] == 1.0 and with_runs["decisive"]["n"] == 10
    assert "judge_with_execution" in body["leaderboards"]


def test_replies_without_a_verdict_are_counted_not_guessed(
    db: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    study = make_battles(db, _human_right(4))
    code, out, _ = run(
        capsys, "judge", "--study", study, "--judge", "openrouter:fake/mute", "--json"
    )
    (variant,) = json.loads(out)["variants"]
    assert code == 0 and variant["n"] == 0 and variant["unparsed"] == 4
    assert variant["kappa"]["value"] is None and variant["kappa"]["note"]


def test_failed_calls_store_no_verdict_and_are_asked_again(
    db: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    study = make_battles(db, _human_right(3))
    code, out, _ = run(
        capsys, "judge", "--study", study, "--judge", "openrouter:fake/error-401", "--json"
    )
    body = json.loads(out)
    assert code == 0 and body["calls"]["made"] == 6
    assert sum(body["calls"]["failed"].values()) == 6
    assert body["variants"][0]["missing"] == 3
    assert any("run the command again" in w for w in body["warnings"])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(JudgeVerdict)) == 0


def test_unknown_judge_and_empty_study_are_clear_errors(
    db: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    study = make_battles(db, [])
    code, _, err = run(capsys, "judge", "--study", study, "--judge", "nowhere:model")
    assert code == 2 and "codearena models" in err
    code, _, err = run(capsys, "judge", "--study", study, "--judge", "openrouter:fake/fair")
    assert code == 2 and "nothing to judge" in err
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Task)) == 0


def test_text_output_escapes_model_names(db: Store, capsys: pytest.CaptureFixture[str]) -> None:
    study = make_battles(db, _human_right(2))
    with db.session() as s:
        for vote in s.scalars(select(Vote)):
            vote.model_a = "evil/\x1b]52;c;aGk=\x07" if vote.model_a == GOOD else vote.model_a
            vote.model_b = "evil/\x1b]52;c;aGk=\x07" if vote.model_b == GOOD else vote.model_b
    code, out, err = run(capsys, "judge", "--study", study, "--judge", "openrouter:fake/fair")
    assert code == 0, err
    assert "\x1b" not in out and re.search(r"evil/\\x1b\]52", out)


def test_the_report_shows_each_judges_agreement(
    db: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from codearena.reports import build_report

    study = make_battles(db, _human_right(12))
    assert (
        "LLM judges"
        not in build_report(db, study, tmp_path / "a", "md", rounds=50).path.read_text()
    )
    code, _, err = run(
        capsys, "judge", "--study", study, "--judge", "openrouter:fake/exec", "--with-execution"
    )
    assert code == 0, err
    text = build_report(db, study, tmp_path / "b", "md", rounds=50).path.read_text()
    assert "### LLM judges against the votes" in text
    rows = [line for line in text.splitlines() if line.startswith("| openrouter:fake/exec |")]
    assert len(rows) == 2  # without and with execution
    assert "| without execution | 12 of 12 | 0.00 |" in rows[0]
    assert "| with execution | 12 of 12 | 1.00 |" in rows[1]
