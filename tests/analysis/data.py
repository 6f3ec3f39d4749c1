"""A small, realistic, hand-checkable study written straight through the store.

``make_study(store)`` returns the study id; the report generator's tests reuse it. What it holds:

* models ``m/alpha``, ``m/beta`` and ``EVIL`` (a model id with ``<script>`` in it);
* participants P1 (experience "2 - 5", Developer, survey completed), P2 ("6 - 10", Senior
  Developer), P3 (consented, no survey answers), P4 (joined, not consented);
* task T1 (Python, category "parsing") shared by P1 and P2, both rating both answers (so raters
  agree on the same generations); T2 (Java, no category, blind, P1); T3 (Python, "parsing",
  blind, P2); T4 (no language, blind, P3);
* pass results: alpha 2 of 3 (T1 passed, T2 passed, T3 failed), beta 1 of 2 (T1's latest run
  failed after an earlier pass, T4 passed; T3 never run), EVIL 1 of 1;
* findings: alpha 3 per 100 lines (2 + 1 findings over 100 lines), beta 5 (1 over 20 lines);
* battle votes: T2 alpha beats EVIL, T3 alpha beats beta *self-identified*, T4 beta and EVIL
  both bad; one named-mode upvote; imported votes (alpha-beta: a, tie, b) from ``old.csv``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from codearena.store import Store
from codearena.store.models import CodeMetrics, Execution, Generation, Task
from codearena.store.platform_models import (
    Participant,
    Rating,
    Study,
    StudyTask,
    SurveyAnswer,
    Vote,
)
from codearena.store.research_models import ImportedVote
from codearena.survey.instruments import STUDY_2025

ALPHA, BETA, EVIL = "m/alpha", "m/beta", "evil/<script>alert(1)</script>"
MODELS = [ALPHA, BETA, EVIL]
SUFFIXES = ("A1", "B2", "C3", "D4")


def pid(study_id: str, number: int) -> str:
    """The id of participant ``number`` (1 to 4) of a study made by ``make_study``."""
    return f"P-{study_id[:8].upper()}{SUFFIXES[number - 1]}"


EVIL_COMMENT = "<script>alert('comment')</script>"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    """A fixed moment (no wall clock in the data)."""
    return T0 + timedelta(minutes=minutes)


def _generation(
    gid: str, task: str, position: int, model: str, cost: float, ttft_ms: float
) -> Generation:
    return Generation(
        id=gid,
        task_id=task,
        position=position,
        model=model,
        provider="openrouter",
        status="ok",
        text="```python\nprint(1)\n```",
        ttft_ms=ttft_ms,
        latency_ms=ttft_ms * 4,
        prompt_tokens=100,
        completion_tokens=200 + position,
        cost_usd=cost,
        created_at=at(1),
    )


def _run(gid: str, task: str, verdict: str, minute: int) -> Execution:
    return Execution(
        generation_id=gid,
        task_id=task,
        language="python",
        test_kind="python",
        verdict=verdict,
        backend="unisolated",
        created_at=at(minute),
    )


def _rating(
    study_task: str, position: int, gid: str, who: str, model: str, **scores: Any
) -> Rating:
    return Rating(
        study_task_id=study_task,
        position=position,
        generation_id=gid,
        participant_id=who,
        model=model,
        updated_at=at(30),
        **scores,
    )


def _battle(
    study_id: str, study_task: str, who: str, a: str, b: str, choice: str, **extra: Any
) -> Vote:
    return Vote(
        study_task_id=study_task,
        study_id=study_id,
        participant_id=who,
        kind="battle",
        position=-1,
        choice=choice,
        model_a=a,
        model_b=b,
        created_at=at(40),
        **extra,
    )


def make_study(store: Store, owner_id: str | None = None, name: str = "Analysis study") -> str:
    """Write the study described in the module docstring; returns its id."""
    with store.session() as s:
        study = Study(
            name=name,
            description="a study for the analysis tests",
            consent_text="consent",
            models=MODELS,
            mode="blind",
            prompt_options=["language"],
            survey_name=STUDY_2025.name,
            survey=STUDY_2025.to_dict(),
            budget_usd=0.5,
            owner_id=owner_id,
            created_at=at(0),
        )
        s.add(study)
        s.flush()
        sid = study.id
        P1, P2, P3, P4 = (pid(sid, n) for n in range(1, 5))
        s.add_all(
            [
                Participant(
                    id=P1,
                    study_id=sid,
                    pseudonym="one",
                    consented_at=at(2),
                    survey_completed_at=at(50),
                    created_at=at(1),
                ),
                Participant(
                    id=P2, study_id=sid, pseudonym="two", consented_at=at(2), created_at=at(1)
                ),
                Participant(
                    id=P3, study_id=sid, pseudonym="three", consented_at=at(2), created_at=at(1)
                ),
                Participant(id=P4, study_id=sid, pseudonym="four", created_at=at(1)),
            ]
        )
        tasks = {
            "t1": ("Parse a CSV of orders", "Python", "parsing"),
            "t2": ("Sort a list in Java", "Java", None),
            "t3": ("Parse JSON lines", "Python", "parsing"),
            "t4": ("Anything", None, None),
        }
        for key, (prompt, language, category) in tasks.items():
            s.add(
                Task(
                    id=sid[:8] + key,
                    prompt=prompt,
                    output_language=language,
                    category=category,
                    source="web",
                    created_at=at(3),
                )
            )
        s.flush()
        t = {key: sid[:8] + key for key in tasks}
        g = {key: sid[:8] + key for key in ("1a", "1b", "2a", "2b", "3a", "3b", "4a", "4b")}
        s.add_all(
            [
                _generation(g["1a"], t["t1"], 0, ALPHA, 0.01, 400),
                _generation(g["1b"], t["t1"], 1, BETA, 0.02, 600),
                _generation(g["2a"], t["t2"], 0, ALPHA, 0.01, 500),
                _generation(g["2b"], t["t2"], 1, EVIL, 0.03, 900),
                _generation(g["3a"], t["t3"], 0, BETA, 0.02, 700),
                _generation(g["3b"], t["t3"], 1, ALPHA, 0.01, 300),
                _generation(g["4a"], t["t4"], 0, BETA, 0.02, 800),
                _generation(g["4b"], t["t4"], 1, EVIL, 0.03, 1000),
            ]
        )
        st = {key: sid[:8] + "st" + key for key in ("1", "2", "3", "4", "5")}
        for key, who, task, mode, models in (
            ("1", P1, "t1", "named", [ALPHA, BETA]),
            ("2", P2, "t1", "named", [ALPHA, BETA]),
            ("3", P1, "t2", "blind", [ALPHA, EVIL]),
            ("4", P2, "t3", "blind", [BETA, ALPHA]),
            ("5", P3, "t4", "blind", [BETA, EVIL]),
        ):
            s.add(
                StudyTask(
                    id=st[key],
                    task_id=t[task],
                    study_id=sid,
                    participant_id=who,
                    mode=mode,
                    models=models,
                    prompt=tasks[task][0],
                    status="done",
                    revealed=True,
                    created_at=at(4 + int(key)),
                )
            )
        s.flush()
        s.add_all(
            [
                _run(g["1a"], t["t1"], "passed", 10),
                _run(g["1b"], t["t1"], "passed", 10),
                _run(g["1b"], t["t1"], "failed", 11),  # the latest run counts
                _run(g["2a"], t["t2"], "passed", 12),
                _run(g["2b"], t["t2"], "passed", 12),
                _run(g["3b"], t["t3"], "failed", 13),
                _run(g["4a"], t["t4"], "passed", 14),
                CodeMetrics(
                    generation_id=g["1a"],
                    language="python",
                    lines=50,
                    lint_count=2,
                    security_count=0,
                    findings_per_100_lines=4.0,
                    created_at=at(10),
                ),
                CodeMetrics(
                    generation_id=g["2a"],
                    language="java",
                    lines=50,
                    lint_count=0,
                    security_count=1,
                    findings_per_100_lines=2.0,
                    created_at=at(10),
                ),
                CodeMetrics(
                    generation_id=g["1b"],
                    language="python",
                    lines=20,
                    lint_count=1,
                    security_count=0,
                    findings_per_100_lines=5.0,
                    created_at=at(10),
                ),
            ]
        )
        s.add_all(
            [
                _rating(
                    st["1"],
                    0,
                    g["1a"],
                    P1,
                    ALPHA,
                    correctness=4,
                    quality=4,
                    usefulness=5,
                    minutes_to_usable=5.0,
                ),
                _rating(
                    st["1"],
                    1,
                    g["1b"],
                    P1,
                    BETA,
                    correctness=2,
                    quality=3,
                    usefulness=2,
                    minutes_to_usable=20.0,
                    comment=EVIL_COMMENT,
                ),
                _rating(
                    st["2"],
                    0,
                    g["1a"],
                    P2,
                    ALPHA,
                    correctness=5,
                    quality=4,
                    usefulness=4,
                    minutes_to_usable=10.0,
                ),
                _rating(
                    st["2"],
                    1,
                    g["1b"],
                    P2,
                    BETA,
                    correctness=1,
                    quality=2,
                    usefulness=2,
                    minutes_to_usable=30.0,
                ),
                _rating(st["3"], 0, g["2a"], P1, ALPHA, correctness=4, quality=3, usefulness=4),
                _rating(st["3"], 1, g["2b"], P1, EVIL, correctness=3, quality=3, usefulness=3),
                _battle(sid, st["3"], P1, ALPHA, EVIL, "a"),
                _battle(sid, st["4"], P2, BETA, ALPHA, "b", self_identified=True),
                _battle(sid, st["5"], P3, BETA, EVIL, "both_bad"),
                Vote(
                    study_task_id=st["1"],
                    study_id=sid,
                    participant_id=P1,
                    kind="upvote",
                    position=0,
                    model=ALPHA,
                    created_at=at(41),
                ),
                SurveyAnswer(
                    study_id=sid,
                    participant_id=P1,
                    question_id="q1",
                    value="2 - 5",
                    updated_at=at(45),
                ),
                SurveyAnswer(
                    study_id=sid,
                    participant_id=P1,
                    question_id="q5",
                    value="Developer",
                    updated_at=at(45),
                ),
                SurveyAnswer(
                    study_id=sid,
                    participant_id=P2,
                    question_id="q1",
                    value="6 - 10",
                    updated_at=at(46),
                ),
                SurveyAnswer(
                    study_id=sid,
                    participant_id=P2,
                    question_id="q5",
                    value="Senior Developer",
                    updated_at=at(46),
                ),
            ]
        )
        for line, (a, b, winner) in enumerate(
            ((ALPHA, BETA, "a"), (BETA, ALPHA, "tie"), (ALPHA, BETA, "b")), start=2
        ):
            s.add(
                ImportedVote(
                    study_id=sid,
                    source="old.csv",
                    line=line,
                    model_a=a,
                    model_b=b,
                    winner=winner,
                    participant="ext-1",
                    language="Python",
                    category="parsing",
                    imported_at=at(60),
                )
            )
    return sid
