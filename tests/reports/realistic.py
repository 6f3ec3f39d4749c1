"""A realistic study, seeded: the study's seven models, 40 participants, 240 tasks (``tasks``
gives another number), ratings, battles drawn from known strengths, executions, findings, repair
rounds of failed answers (each run again), answers fixed by hand (the ``fixes`` table, with
active time and lines changed), every survey question answered, and a coded free-text question.
Used to build a report whose figures a person can look at, and by ``bench/report_speed.py``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from codearena.coding import tag_answer
from codearena.store import Store
from codearena.store.models import CodeMetrics, Execution, Generation, Task
from codearena.store.platform_models import (
    Fix,
    Participant,
    Rating,
    Study,
    StudyTask,
    SurveyAnswer,
    Vote,
)
from codearena.survey.instruments import STUDY_2025

LABELS = {
    "openai/chatgpt-4o-latest": ("GPT 4o", 1.6, 0.82),
    "openai/gpt-4-turbo": ("GPT 4 Turbo", 1.2, 0.74),
    "openai/gpt-4": ("GPT 4", 1.0, 0.70),
    "mistralai/mixtral-8x7b-instruct": ("Mixtral 8x7B Instruct", 0.4, 0.55),
    "openai/gpt-3.5-turbo": ("GPT 3.5 Turbo", 0.2, 0.50),
    "google/gemini-flash-1.5-8b": ("Gemini 1.5 Flash-8B", -0.2, 0.42),
    "meta-llama/llama-3.2-3b-instruct": ("Llama 3.2 3B Instruct", -0.6, 0.33),
}
MODELS = list(LABELS)
T0 = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
BEST_OPINIONS = [
    "GPT-4o understood the context of my whole project",
    "fast and cheap, good enough for small scripts",
    "it handled errors and edge cases well",
    "clear explanations made debugging easier",
    "Mixtral was great for data analysis with pandas",
]


def _repairs_and_fix(
    s: Session,
    rng: random.Random,
    generation: Generation,
    who: str,
    study_task_id: str,
    passed: bool,
    pass_p: float,
    when: datetime,
) -> float | None:
    """Repair rounds of a failed answer (each a turn of kind ``repair`` with its run, while it
    keeps failing), and for some failed answers a fix by hand by the task's participant; returns
    the fix's active minutes (None without a fix)."""
    parent, still_failing = generation, not passed
    for turn in range(2, 2 + REPAIR_ROUNDS):
        if not still_failing or rng.random() < 0.3:
            break
        repair = Generation(
            task_id=generation.task_id,
            position=generation.position,
            model=generation.model,
            label=generation.label,
            provider=generation.provider,
            status="ok",
            text="```python\npass  # repaired\n```",
            code=[CODE],
            latency_ms=rng.uniform(2000, 9000),
            turn=turn,
            parent_id=parent.id,
            kind="repair",
            prompt="The tests failed.",
            created_at=when + timedelta(minutes=turn),
        )
        s.add(repair)
        s.flush()
        still_failing = rng.random() > pass_p * 0.8
        s.add(
            Execution(
                generation_id=repair.id,
                task_id=generation.task_id,
                language="python",
                test_kind="python",
                verdict="failed" if still_failing else "passed",
                backend="bwrap",
                created_at=when + timedelta(minutes=turn),
            )
        )
        parent = repair
    if passed or rng.random() > 0.5:
        return None
    active = rng.uniform(60, 1500) * (1.6 - pass_p)
    s.add(
        Fix(
            generation_id=generation.id,
            participant=who,
            study_task_id=study_task_id,
            started_at=when + timedelta(minutes=5),
            ended_at=when + timedelta(minutes=5, seconds=active + 30),
            active_seconds=round(active, 1),
            runs=rng.randint(1, 4),
            verdict="passed" if rng.random() < 0.8 else "failed",
            outcome="done" if rng.random() < 0.85 else "abandoned",
            lines_added=rng.randint(1, 12),
            lines_removed=rng.randint(0, 6),
            final_code="pass  # fixed",
        )
    )
    return active / 60.0


def _choice(rng: random.Random, options: tuple[str, ...], weights: list[float]) -> str:
    return rng.choices(options, weights=weights)[0]


CODE = {"language": "python", "source": "pass\n", "variant": None, "complete": True}
REPAIR_ROUNDS = 2
"""Repair rounds of a failed first answer (while it keeps failing), each run again."""


def make_realistic_study(store: Store, seed: int = 7, tasks: int = 240) -> str:
    rng = random.Random(seed)
    instrument = STUDY_2025
    questions = {q.id: q for q in instrument.questions}
    with store.session() as s:
        study = Study(
            name="Practitioners 2025 replication",
            description="A replication of the practitioners' study with blind pairwise battles.",
            consent_text="You agree that your answers are used for research.",
            models=MODELS,
            mode="blind",
            prompt_options=["requirement", "tone", "language"],
            survey_name=instrument.name,
            survey=instrument.to_dict(),
            budget_usd=1.0,
            created_at=T0,
        )
        s.add(study)
        s.flush()
        participants = [f"P-R{n:03d}" for n in range(40)]
        for n, pid in enumerate(participants):
            s.add(
                Participant(
                    id=pid,
                    study_id=study.id,
                    pseudonym=f"p{n}",
                    created_at=T0,
                    consented_at=T0 + timedelta(minutes=n),
                    survey_completed_at=T0 + timedelta(days=3, minutes=n),
                )
            )
        s.flush()
        for number in range(tasks):
            who = rng.choice(participants)
            a, b = rng.sample(MODELS, 2)
            language = _choice(rng, ("Python", "Java", "JavaScript"), [0.7, 0.15, 0.15])
            category = _choice(rng, ("data", "web", "algorithms"), [0.4, 0.3, 0.3])
            when = T0 + timedelta(hours=number)
            task = Task(
                prompt=f"task {number}",
                output_language=language,
                category=category,
                source="web",
                created_at=when,
            )
            s.add(task)
            s.flush()
            raters = list(dict.fromkeys([who, rng.choice(participants)]))
            if rng.random() > 0.4:
                raters = raters[:1]
            rater_tasks = []
            for rater in raters:
                rater_task = StudyTask(
                    task_id=task.id,
                    study_id=study.id,
                    participant_id=rater,
                    mode="blind",
                    models=[a, b],
                    prompt=task.prompt,
                    status="done",
                    revealed=True,
                    created_at=when,
                )
                s.add(rater_task)
                rater_tasks.append((rater, rater_task))
            s.flush()
            study_task = rater_tasks[0][1]
            quality = {}
            for position, model in enumerate((a, b)):
                _, strength, pass_p = LABELS[model]
                generation = Generation(
                    task_id=task.id,
                    position=position,
                    model=model,
                    label=LABELS[model][0],
                    provider="openrouter",
                    status="ok",
                    text="```python\npass\n```",
                    code=[CODE],
                    ttft_ms=rng.uniform(200, 1500) / (1 + strength / 4),
                    latency_ms=rng.uniform(2000, 9000),
                    prompt_tokens=180,
                    completion_tokens=rng.randint(150, 700),
                    cost_usd=round(rng.uniform(0.0002, 0.03) * (1 + strength), 6),
                    created_at=when,
                )
                s.add(generation)
                s.flush()
                passed = rng.random() < pass_p
                s.add(
                    Execution(
                        generation_id=generation.id,
                        task_id=task.id,
                        language="python",
                        test_kind="python",
                        verdict="passed" if passed else "failed",
                        backend="bwrap",
                        created_at=when,
                    )
                )
                fixed_minutes = _repairs_and_fix(
                    s, rng, generation, who, study_task.id, passed, pass_p, when
                )
                lines = rng.randint(10, 80)
                findings = rng.randint(0, 4) if strength > 0.5 else rng.randint(1, 7)
                s.add(
                    CodeMetrics(
                        generation_id=generation.id,
                        language="python",
                        lines=lines,
                        lint_count=findings,
                        security_count=rng.randint(0, 1),
                        findings_per_100_lines=100 * findings / lines,
                    )
                )
                score = max(
                    1, min(5, round(2.6 + strength + (0.8 if passed else -0.8) + rng.gauss(0, 0.7)))
                )
                quality[model] = score + rng.random()
                for rater, rater_task in rater_tasks:
                    s.add(
                        Rating(
                            study_task_id=rater_task.id,
                            position=position,
                            generation_id=generation.id,
                            participant_id=rater,
                            model=model,
                            correctness=score,
                            quality=max(1, min(5, score + rng.choice((-1, 0, 0, 1)))),
                            usefulness=max(1, min(5, score + rng.choice((-1, 0, 1)))),
                            minutes_to_usable=(
                                round(max(0.0, fixed_minutes * rng.uniform(0.5, 1.6)), 1)
                                if fixed_minutes is not None and rater == who
                                else max(0.0, round(rng.gauss(20 - 4 * score, 4), 1))
                            ),
                            comment=rng.choice(["", "needed a small fix", "did not compile"]),
                            updated_at=when,
                        )
                    )
            if abs(quality[a] - quality[b]) < 0.3:
                choice = rng.choice(("tie", "both_bad"))
            else:
                choice = "a" if quality[a] > quality[b] else "b"
            s.add(
                Vote(
                    study_task_id=study_task.id,
                    study_id=study.id,
                    participant_id=who,
                    kind="battle",
                    position=-1,
                    choice=choice,
                    model_a=a,
                    model_b=b,
                    self_identified=rng.random() < 0.03,
                    created_at=when,
                )
            )
        for pid in participants:
            for qid, question in questions.items():
                if question.kind == "single":
                    value: object = rng.choice(question.options)
                elif question.kind == "multi":
                    value = rng.sample(question.options, rng.randint(1, 3))
                elif question.kind == "rating":
                    value = rng.choice((3, 4, 4, 5, 5))
                else:
                    value = (
                        rng.choice(BEST_OPINIONS) if qid == "q14" else "GPT 3.5 needed many fixes"
                    )
                s.add(
                    SurveyAnswer(
                        study_id=study.id,
                        participant_id=pid,
                        question_id=qid,
                        value=value,
                        updated_at=T0 + timedelta(days=3),
                    )
                )
        study_id = study.id
    codes = {
        BEST_OPINIONS[0]: ["context awareness"],
        BEST_OPINIONS[1]: ["speed", "low cost"],
        BEST_OPINIONS[2]: ["error handling"],
    }
    with store.session() as s:
        answers = s.query(SurveyAnswer).filter_by(study_id=study_id, question_id="q14").all()
        tagged = [(a.id, codes.get(str(a.value), [])) for a in answers]
    for answer_id, names in tagged:
        if names:
            tag_answer(store, study_id, "survey", answer_id, names)
    return study_id
