"""A realistic study written straight into a store, for the export tests (and anyone else's).

``make_study(store)`` inserts: an owner account, a platform secret, a study with 3 participants
(pseudonyms and e-mails set, joined in an order unlike their ids' order), 4 study tasks (one that
never got a task), their tasks and generations, executions (linked to study tasks and not),
code metrics, findings, ratings with comments, a battle vote, upvotes, imported votes, survey
answers, open codes with assignments and fix-it-yourself attempts (one done, one abandoned, and a
fix run, which is no execution of the study's answers); plus a second study that must never leak into the
first's export. It returns what the tests look for.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from codearena.store import Store
from codearena.store.models import (
    CodeMetrics,
    Execution,
    ExecutionArtifact,
    Finding,
    Generation,
    Task,
)
from codearena.store.platform_models import (
    Fix,
    Participant,
    PlatformSecret,
    Rating,
    Study,
    StudyExecution,
    StudyTask,
    SurveyAnswer,
    Vote,
    WebSession,
    WebUser,
)
from codearena.store.research_models import (
    CodeAssignment,
    CodingCategory,
    CodingCode,
    CodingConcept,
    ImportedRating,
    ImportedVote,
)

T0 = datetime(2025, 3, 4, 9, 30, 15, 123456, tzinfo=UTC)
MODELS = ["openai/gpt-4", "meta-llama/llama-3.2-3b-instruct"]
SURVEY = {
    "name": "mini",
    "questions": [
        {"id": "role", "kind": "choice", "options": ["dev", "student"]},
        {"id": "years", "kind": "number"},
        {"id": "tools", "kind": "multi", "options": ["copilot", "chatgpt"]},
        {"id": "why", "kind": "text"},
    ],
}


@dataclass
class StudyData:
    study_id: str
    study_name: str
    participant_ids: list[str]  # in order of joining
    pseudonyms: list[str]
    emails: list[str]
    secrets: list[str]  # texts that must never be exported (owner e-mail, hashes, tokens)
    other_study_id: str
    rows: dict[str, int] = field(default_factory=dict)  # expected rows per exported table


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_study(store: Store, name: str = "Practitioners 2025") -> StudyData:
    owner = WebUser(email="owner@lab.example", role="researcher", password_hash="$argon2id$v=19$x")
    study = Study(
        name=name,
        description="Which model writes the most usable code?",
        consent_text="I agree to take part, and to my answers being published anonymously.",
        models=MODELS,
        mode="named",
        prompt_options=[{"requirement": "Generate code", "tone": "Direct"}],
        survey_name="mini",
        survey=SURVEY,
        budget_tasks=5,
        budget_usd=2.5,
        status="open",
        created_at=at(0),
    )
    joined = [at(30), at(10), at(20)]  # the second participant joined first
    names = ["Ada L.", "Grace H.", 'Émile "zola", Jr.']
    emails = ["ada@uni.example", "grace@corp.example", "emile@mail.example"]
    people = [
        Participant(pseudonym=n, email=e, consented_at=j, created_at=j, source="platform")
        for n, e, j in zip(names, emails, joined, strict=True)
    ]
    people[1].survey_completed_at = at(40)
    token_hash = secrets.token_hex(32)
    other = Study(name="Other study", models=MODELS, mode="blind", survey_name="mini")
    with store.session() as session:  # callable more than once on one store
        owner = session.scalars(select(WebUser).filter_by(email=owner.email)).first() or owner
        session.add_all([owner, other])
        if session.get(PlatformSecret, "invite") is None:
            session.add(PlatformSecret(name="invite", value="invite-key-9f8e7d6c"))
        session.flush()
        study.owner_id = owner.id
        session.add(study)
        session.flush()
        for person in people:
            person.study_id = study.id
        session.add_all(people)
        stranger = Participant(study_id=other.id, pseudonym="Stranger", email="x@other.example")
        session.add(stranger)
        session.flush()
        session.add(
            WebSession(token_hash=token_hash, participant_id=people[0].id, expires_at=at(600))
        )
        p1, p2, p3 = (p.id for p in people)

        specs = [  # (participant, mode, prompt, minutes, with a task?)
            (p1, "named", "Parse a CSV of orders, total per customer", 35, True),
            (p1, "named", "Reverse a linked list,\nin place", 45, True),
            (p2, "blind", 'Write a "hello" CLI with argparse', 15, True),
            (p3, "named", "A task whose run failed before it was stored", 25, False),
        ]
        study_tasks: list[StudyTask] = []
        generations: list[Generation] = []
        for index, (pid, mode, prompt, minute, with_task) in enumerate(specs):
            task = None
            if with_task:
                task = Task(
                    prompt=prompt,
                    prompt_style="study",
                    requirement="Generate code with error handling",
                    tone="Direct",
                    output_language="Python",
                    temperature=0.5,
                    messages=[{"role": "user", "content": prompt}],
                    source="web",
                    category="data" if index == 0 else None,
                    tests={"kind": "python", "code": "assert add(1, 2) == 3"} if index else None,
                    created_at=at(minute),
                )
                session.add(task)
                session.flush()
                for position, model in enumerate(MODELS):
                    failed = index == 1 and position == 1
                    generation = Generation(
                        task_id=task.id,
                        position=position,
                        model=model,
                        label=model.split("/")[1],
                        provider="openrouter",
                        served_model=model,
                        upstream_id=f"gen-{index}-{position}",
                        status="error" if failed else "ok",
                        text="" if failed else f"Here you go ({model}):\n```python\nx = 1\n```",
                        code=[] if failed else [{"language": "python", "source": "x = 1\n"}],
                        finish_reason=None if failed else "stop",
                        error="upstream 502: bad gateway" if failed else None,
                        error_kind="server" if failed else None,
                        ttft_ms=None if failed else 412.5 + position,
                        latency_ms=3120.25 + index,
                        prompt_tokens=180,
                        completion_tokens=None if failed else 402,
                        tokens_estimated=position == 1,
                        cost_usd=None if failed else 0.0295,
                        cost_source="upstream",
                        attempts=1 + int(failed),
                        created_at=at(minute),
                        finished_at=at(minute + 0.1),
                    )
                    generations.append(generation)
                session.add_all(generations[-len(MODELS) :])
            study_task = StudyTask(
                task_id=task.id if task else None,
                study_id=study.id,
                participant_id=pid,
                mode=mode,
                models=MODELS if mode == "named" else list(reversed(MODELS)),
                prompt=prompt,
                tests=task.tests if task else None,
                status="done" if task else "failed",
                revealed=mode == "blind",
                created_at=at(minute),
            )
            study_tasks.append(study_task)
        session.add_all(study_tasks)
        session.flush()
        g = generations
        st = study_tasks

        runs = [
            Execution(
                generation_id=g[2].id,
                task_id=g[2].task_id,
                block_index=0,
                language="python",
                test_kind="python",
                verdict="passed",
                exit_code=0,
                stdout="ok\n",
                stderr="",
                duration_ms=51.5,
                tests_passed=1,
                tests_total=1,
                backend="bwrap",
                source="web",
                created_at=at(46),
            ),
            Execution(
                generation_id=g[4].id,
                task_id=g[4].task_id,
                language="python",
                verdict="timeout",
                signal=9,
                stdout="",
                stderr="Killed",
                duration_ms=10000.0,
                backend="unisolated",
                isolated=False,
                source="pipeline",
                created_at=at(16),
            ),
        ]
        session.add_all(runs)
        session.flush()
        session.add(
            StudyExecution(
                execution_id=runs[0].id, study_task_id=st[1].id, participant_id=p1, position=0
            )
        )
        session.add_all(  # a figure the first run wrote, and one too large to keep
            [
                ExecutionArtifact(
                    execution_id=runs[0].id,
                    position=0,
                    name="plot.svg",
                    media_type="image/svg+xml",
                    size_bytes=11,
                    sha256="b5a3c0ad9de43aab6ac4a6d1d7c5dc1a3b7d8f8b9e3d1f0a1a9a0c4b2d6e8f70",
                    data_base64="PHN2Zz48L3N2Zz4=",
                    created_at=at(46),
                ),
                ExecutionArtifact(
                    execution_id=runs[0].id,
                    position=1,
                    name="zoom.png",
                    media_type="image/png",
                    size_bytes=5_000_000,
                    note="over the run's 2 MB image bytes",
                    created_at=at(46),
                ),
            ]
        )
        session.add_all(
            [
                CodeMetrics(
                    generation_id=gen.id,
                    language="python",
                    lines=3,
                    lint_count=1,
                    security_count=0,
                    syntax_ok=True,
                    complexity_max=1.0,
                    complexity_mean=1.0,
                    findings_per_100_lines=33.333333333333336,
                    lint_by_rule={"E501": 1},
                    created_at=at(50),
                )
                for gen in (g[0], g[2])
            ]
        )
        session.add_all(
            [
                Finding(generation_id=g[0].id, tool="ruff", kind="lint", rule="E501", line=2),
                Finding(
                    generation_id=g[2].id,
                    tool="bandit",
                    kind="security",
                    rule="B602",
                    severity="HIGH",
                    confidence="HIGH",
                    cwe=78,
                    line=5,
                    message="subprocess call with shell=True",
                ),
            ]
        )
        comment = 'Works; but "totals" miss, commas, and\na newline — ünïcode'
        ratings = [
            Rating(
                study_task_id=st[task].id,
                position=position,
                generation_id=g[gen].id,
                participant_id=pid,
                model=MODELS[position if task == 0 else 1],
                correctness=marks[0],
                quality=marks[1],
                usefulness=marks[2],
                minutes_to_usable=minutes,
                comment=text,
                updated_at=at(minute),
            )
            for task, position, gen, pid, marks, minutes, text, minute in [
                (0, 0, 0, p1, (5, 4, 5), 2.5, comment, 36),
                (0, 1, 1, p1, (2, None, 1), None, None, 37),
                (2, 0, 4, p2, (3, 3, 3), None, "", 17),
            ]
        ]
        session.add_all(ratings)
        votes = [
            Vote(
                study_task_id=st[2].id,
                study_id=study.id,
                participant_id=p2,
                kind="battle",
                choice="a",
                model_a=MODELS[1],
                model_b=MODELS[0],
                self_identified=True,
                created_at=at(18),
            ),
            *(
                Vote(
                    study_task_id=st[task].id,
                    study_id=study.id,
                    participant_id=p1,
                    kind="upvote",
                    position=0,
                    model=MODELS[0],
                    created_at=at(minute),
                )
                for task, minute in [(0, 38), (1, 47)]
            ),
        ]
        session.add_all(votes)
        session.add_all(
            [
                ImportedVote(
                    study_id=study.id,
                    source="chatbot-arena.jsonl",
                    line=line,
                    model_a=MODELS[0],
                    model_b=MODELS[1],
                    winner=winner,
                    participant=who,
                    language="python" if line != 3 else None,
                    category="coding",
                    imported_at=at(60),
                )
                for line, winner, who in [
                    (1, "a", "arena_user_17"),
                    (2, "tie", None),
                    (3, "both_bad", "arena_user_17"),
                    (4, "b", "arena_user_99"),
                ]
            ]
        )
        session.add_all(
            ImportedRating(
                study_id=study.id,
                source="ratings.csv",
                line=line,
                participant="arena_user_17",
                task="t1",
                model=model,
                dimension="correctness",
                score=score,
                minutes_to_fix=minutes,
                language=language,
                category=None,
                imported_at=at(61),
            )
            for line, model, score, minutes, language in [
                (2, MODELS[0], 4, 2.5, "python"),
                (3, MODELS[1], 2, None, None),
            ]
        )
        answers = [
            SurveyAnswer(study_id=study.id, participant_id=p2, question_id=q, value=v, raw=r)
            for q, v, r in [
                ("role", "dev", None),
                ("years", 7, "seven"),
                ("tools", ["copilot", "chatgpt"], None),
                ("why", "It saves me time, but I check it twice.", None),
            ]
        ]
        answers.append(
            SurveyAnswer(study_id=study.id, participant_id=p1, question_id="why", value=None)
        )
        for answer in answers:
            answer.updated_at = at(40)
        session.add_all(answers)
        session.flush()
        category = CodingCategory(study_id=study.id, name="Trust")
        session.add(category)
        session.flush()
        concept = CodingConcept(study_id=study.id, name="Verification", category_id=category.id)
        session.add(concept)
        session.flush()
        codes = [
            CodingCode(
                study_id=study.id, question="why", name="checks output", concept_id=concept.id
            ),
            CodingCode(study_id=study.id, question="comments", name="missing feature"),
        ]
        session.add_all(codes)
        session.flush()
        session.add_all(
            [
                CodeAssignment(
                    code_id=codes[0].id, answer_kind="survey", answer_id=answers[3].id, note="clear"
                ),
                CodeAssignment(
                    code_id=codes[1].id,
                    answer_kind="comment",
                    answer_id=ratings[0].id,
                    created_at=at(70),
                ),
            ]
        )
        session.add_all(
            [
                Fix(
                    generation_id=g[2].id,
                    participant=p1,
                    study_task_id=st[1].id,
                    started_at=at(46.5),
                    ended_at=at(49),
                    last_activity_at=at(49),
                    active_seconds=95.5,
                    runs=2,
                    verdict="passed",
                    outcome="done",
                    lines_added=2,
                    lines_removed=1,
                    final_code="def add(a, b):\n    # fixed: plus, not minus\n    return a + b\n",
                ),
                Fix(
                    generation_id=g[4].id,
                    participant=p2,
                    study_task_id=st[2].id,
                    started_at=at(17),
                    ended_at=at(19),
                    last_activity_at=at(19),
                    active_seconds=12.0,
                    runs=0,
                    outcome="abandoned",
                    lines_added=0,
                    lines_removed=0,
                    final_code="x = 1\n",
                ),
            ]
        )
        session.add(  # a run of the participant's edited code: not the model's, not exported
            Execution(
                generation_id=g[2].id,
                task_id=g[2].task_id,
                block_index=0,
                language="python",
                test_kind="python",
                verdict="passed",
                backend="bwrap",
                source="fix",
                created_at=at(48),
            )
        )
        # the other study: a task, a vote and a code that must stay out of the export
        foreign = Task(prompt="other study's task", source="web")
        session.add(foreign)
        session.flush()
        foreign_st = StudyTask(
            task_id=foreign.id,
            study_id=other.id,
            participant_id=stranger.id,
            mode="blind",
            prompt="other study's task",
        )
        session.add(foreign_st)
        session.add(Generation(task_id=foreign.id, model=MODELS[0], provider="openrouter"))
        session.flush()
        session.add(
            Vote(
                study_task_id=foreign_st.id,
                study_id=other.id,
                participant_id=stranger.id,
                kind="battle",
            )
        )
        session.add(CodingCategory(study_id=other.id, name="Trust"))
        session.flush()
        other_generation = session.scalars(
            select(Generation).where(Generation.task_id == foreign.id)
        ).one()
        session.add(
            Fix(
                generation_id=other_generation.id,
                participant=stranger.id,
                started_at=at(5),
                final_code="Stranger's code",
            )
        )
        study_id, other_id = study.id, other.id

    return StudyData(
        study_id=study_id,
        study_name=name,
        participant_ids=[p2, p3, p1],
        pseudonyms=names,
        emails=emails,
        secrets=[
            "owner@lab.example",
            "$argon2id$v=19$x",
            "invite-key-9f8e7d6c",
            token_hash,
            "Stranger",
            "x@other.example",
            "other study's task",
            "Stranger's code",
        ],
        other_study_id=other_id,
        rows={
            "study": 1,
            "participants": 3,
            "tasks": 4,
            "generations": 6,
            "executions": 2,
            "execution_artifacts": 2,
            "code_metrics": 2,
            "findings": 2,
            "ratings": 3,
            "votes": 3,
            "imported_votes": 4,
            "imported_ratings": 2,
            "survey_answers": 5,
            "coding_categories": 1,
            "coding_concepts": 1,
            "coding_codes": 2,
            "code_assignments": 2,
            "fixes": 2,
            "design_tasks": 0,
            "design_assignments": 0,
            "api_calls": 0,
        },
    )
