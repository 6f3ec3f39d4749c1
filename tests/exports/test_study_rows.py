"""The export and the analysis read the same rows of a study (``store.study_rows``): the
report's headline numbers, recomputed from the export files alone with plain Python, are the
analysis's, the survey summary's and the codebook's, and the report prints them; rows of another
study, and rows of no study, are in none of them."""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from codearena.analysis import analyse_study
from codearena.coding import codebook
from codearena.exports import export_study
from codearena.reports.build import build_report
from codearena.store import Store
from codearena.store.models import CodeMetrics, Execution, Finding, Generation, Task
from codearena.store.platform_models import (
    Participant,
    Rating,
    Study,
    StudyExecution,
    StudyTask,
    SurveyAnswer,
    Vote,
)
from codearena.store.research_models import (
    CodeAssignment,
    CodingCategory,
    CodingCode,
    CodingConcept,
    ImportedVote,
)
from codearena.survey.instruments import STUDY_2025
from codearena.survey.summary import summarize_survey
from tests.exports.helpers import all_text
from tests.reports.realistic import BEST_OPINIONS, MODELS, T0, make_realistic_study

ROUNDS = 20
WINNERS = {"a", "b", "tie", "both_bad"}


def _add_edge_rows(store: Store, study_id: str) -> None:
    """Rows the analysis and the export used to treat differently, or that a count must skip."""
    when = T0 + timedelta(days=20)
    a, b = MODELS[0], MODELS[1]
    with store.session() as s:
        who = s.scalars(
            select(Participant.id).where(Participant.study_id == study_id).limit(1)
        ).one()
        other = Study(name="Another study", models=MODELS, mode="blind", survey_name="x")
        s.add(other)
        s.flush()
        stranger = Participant(study_id=other.id, pseudonym="stranger")
        s.add(stranger)
        task = Task(prompt="edge task", output_language="Python", source="web", created_at=when)
        foreign_task = Task(prompt="the other study's task", source="web", created_at=when)
        s.add_all([task, foreign_task])
        s.flush()
        mine = StudyTask(
            task_id=task.id,
            study_id=study_id,
            participant_id=who,
            mode="blind",
            models=[a, b],
            prompt=task.prompt,
            status="done",
            created_at=when,
        )
        theirs = StudyTask(
            task_id=foreign_task.id,
            study_id=other.id,
            participant_id=stranger.id,
            mode="blind",
            models=[a, b],
            prompt=foreign_task.prompt,
            created_at=when,
        )
        s.add_all([mine, theirs])
        s.flush()
        ok = Generation(
            task_id=task.id, position=0, model=a, provider="openrouter", status="ok", cost_usd=0.01
        )
        failed = Generation(
            task_id=task.id,
            position=1,
            model=b,
            provider="openrouter",
            status="error",
            error="upstream 500",
            cost_usd=0.002,
        )
        pending = Generation(task_id=task.id, position=2, model=MODELS[2], provider="openrouter")
        foreign = Generation(
            task_id=foreign_task.id, model=a, provider="openrouter", status="ok", cost_usd=5.0
        )
        s.add_all([ok, failed, pending, foreign])
        s.flush()

        def run(generation: Generation, minutes: int, **fields: Any) -> Execution:
            row = Execution(
                generation_id=generation.id,
                task_id=generation.task_id,
                language="python",
                backend="bwrap",
                created_at=when + timedelta(minutes=minutes),
                **fields,
            )
            s.add(row)
            return row

        run(ok, 1, test_kind="python", verdict="failed")
        run(ok, 2, test_kind="python", verdict="passed")
        run(ok, 3, test_kind=None, verdict="ran", exit_code=0)  # no tests: not a pass
        run(ok, 4, test_kind="python", verdict="ran", exit_code=0)  # a stored 'ran' never is
        linked_foreign = run(foreign, 5, test_kind="python", verdict="passed")
        s.flush()
        # a participant's run of the other study's generation, linked to this study's task:
        # it used to be exported but not analysed
        s.add(
            StudyExecution(
                execution_id=linked_foreign.id,
                study_task_id=mine.id,
                participant_id=who,
                position=0,
            )
        )
        s.add(
            Rating(
                study_task_id=mine.id,
                position=0,
                generation_id=ok.id,
                participant_id=who,
                model=a,
                correctness=4,
                quality=7,  # not a 1-5 score
                updated_at=when,
            )
        )

        def vote(study_task: StudyTask, vote_study: str, **fields: Any) -> None:
            defaults: dict[str, Any] = {"kind": "battle", "model_a": a, "model_b": b}
            s.add(
                Vote(
                    study_task_id=study_task.id,
                    study_id=vote_study,
                    participant_id=study_task.participant_id,
                    created_at=when,
                    **(defaults | fields),
                )
            )

        vote(mine, study_id, choice="a", self_identified=True, position=-1)  # flagged
        vote(mine, study_id, choice="tie", position=-2)
        vote(mine, study_id, choice=None, position=-3)  # undecided: not a battle result
        vote(mine, study_id, choice="a", model_b=a, position=-4)  # a model against itself
        vote(mine, study_id, kind="upvote", model=a, model_a=None, model_b=None, position=0)
        # inconsistent copies of the study id: the study task decides
        vote(mine, other.id, choice="b", position=-5)  # exported, used to be left out of analysis
        vote(theirs, study_id, choice="b", position=-1)  # analysed, used to be exported too
        for line, (x, y, winner) in enumerate(
            [(a, b, "a"), (b, MODELS[3], "both_bad"), (a, a, "tie"), (a, b, "nonsense")], 1
        ):
            s.add(
                ImportedVote(
                    study_id=study_id,
                    source="arena.jsonl",
                    line=line,
                    model_a=x,
                    model_b=y,
                    winner=winner,
                    participant=f"user{line}",
                )
            )


# _add_edge_rows's rows of another study: its participant, study task, generation, the
# participant's run of it, and the vote on its study task
EDGE_FOREIGN = {"participants": 1, "tasks": 1, "generations": 1, "executions": 1, "votes": 1}
ODD_PARTICIPANT = "P-LATE"  # of the other study, with one answer stored under this study


def _add_more_rows(store: Store, study_id: str) -> Counter[str]:
    """Survey answers and codes of every kind, in this study, in another and in none; returns
    how many rows of each exported table are another study's or no study's."""
    when = T0 + timedelta(days=21)
    foreign: Counter[str] = Counter(EDGE_FOREIGN)
    with store.session() as s:
        other = s.scalars(select(Study).where(Study.name == "Another study")).one()
        other.survey = STUDY_2025.to_dict()
        stranger = s.scalars(select(Participant).where(Participant.study_id == other.id)).one()
        theirs = s.scalars(select(StudyTask).where(StudyTask.study_id == other.id)).one()
        their_answer = s.scalars(
            select(Generation).where(Generation.task_id == theirs.task_id)
        ).one()
        shy = Participant(id="P-SHY", study_id=study_id, pseudonym="shy", created_at=when)
        imported = Participant(
            id="P-IMP", study_id=study_id, pseudonym="imported 1", source="import", created_at=when
        )
        late = Participant(id=ODD_PARTICIPANT, study_id=other.id, pseudonym="late", created_at=when)
        s.add_all([shy, imported, late])
        foreign["participants"] += 1
        s.flush()

        def answer(who: str, study: str, qid: str, value: Any, raw: str | None = None) -> str:
            row = SurveyAnswer(
                study_id=study,
                participant_id=who,
                question_id=qid,
                value=value,
                raw=raw,
                updated_at=when,
            )
            s.add(row)
            s.flush()
            foreign["survey_answers"] += study != study_id
            return row.id

        # this study: a participant who never consented, with odd answers, and an imported one
        answer(shy.id, study_id, "q1", "< 2")
        answer(shy.id, study_id, "q6", ["Python", "Cobol"])  # Cobol counts under Other
        answer(shy.id, study_id, "q13", 9)  # not a 1-5 rating: Other
        answer(shy.id, study_id, "q14", "   ")  # blank: not an answer
        answer(imported.id, study_id, "q1", "2 - 5")
        answer(imported.id, study_id, "q12", "GPT 4o")
        answer(imported.id, study_id, "q13", "4")
        speedy = answer(
            imported.id, study_id, "q14", "speed is all I need", raw="Speed is all I need"
        )
        # an answer stored under this study by a participant of the other: the answer's study
        # decides, for the analysis, the summary and the export alike
        answer(late.id, study_id, "q9", "Yes")
        # the other study: the same questions, texts and code names, never counted here
        for qid, value in [("q1", "< 2"), ("q12", "GPT 4o"), ("q13", 1), ("q6", ["Java"])]:
            answer(stranger.id, other.id, qid, value)
        their_text = answer(stranger.id, other.id, "q14", BEST_OPINIONS[0])
        answer(late.id, other.id, "q14", "the other study's opinion")

        their_rating = Rating(
            study_task_id=theirs.id,
            position=0,
            generation_id=their_answer.id,
            participant_id=stranger.id,
            model=MODELS[0],
            correctness=1,
            quality=1,
            comment="the other study's comment: needed a small fix",
            updated_at=when,
        )
        s.add(their_rating)
        foreign["ratings"] += 1
        for position, choice in ((-2, "both_bad"), (-3, "tie")):
            s.add(
                Vote(
                    study_task_id=theirs.id,
                    study_id=other.id,
                    participant_id=stranger.id,
                    kind="battle",
                    position=position,
                    choice=choice,
                    model_a=MODELS[0],
                    model_b=MODELS[1],
                    created_at=when,
                )
            )
            foreign["votes"] += 1
        for line in (1, 2):
            s.add(
                ImportedVote(
                    study_id=other.id,
                    source="arena.jsonl",
                    line=line,
                    model_a=MODELS[0],
                    model_b=MODELS[1],
                    winner="both_bad",
                    participant="user1",
                )
            )
            foreign["imported_votes"] += 1

        # runs, metrics and findings: of this study, of the other, and of no study (a CLI task)
        cli_task = Task(prompt="a CLI task of no study", source="cli", created_at=when)
        s.add(cli_task)
        s.flush()
        cli_answer = Generation(
            task_id=cli_task.id, model=MODELS[0], provider="openrouter", status="ok", cost_usd=9.0
        )
        s.add(cli_answer)
        s.flush()
        mine = s.scalars(select(Generation).where(Generation.model == MODELS[1]).limit(1)).one()
        for generation in (mine, their_answer, cli_answer):
            stranger_row = generation is not mine
            for verdict, kind in (("passed", "python"), ("ran", None)):
                if generation is mine and verdict == "ran":
                    continue  # keep this study's 'ran' runs to the edge rows'
                s.add(
                    Execution(
                        generation_id=generation.id,
                        task_id=generation.task_id,
                        language="python",
                        backend="bwrap",
                        test_kind=kind,
                        verdict=verdict,
                        exit_code=0,
                        created_at=when,
                    )
                )
                foreign["executions"] += stranger_row
            s.add(CodeMetrics(generation_id=generation.id, language="python", lines=10))
            s.add(Finding(generation_id=generation.id, tool="ruff", kind="lint", rule="F401"))
            foreign["code_metrics"] += stranger_row
            foreign["findings"] += stranger_row
        foreign["generations"] += 1  # the CLI task's

        # codes: the imported answer, two rating comments under a category, and the other
        # study's codebook with the same names
        speed = s.scalars(
            select(CodingCode).where(CodingCode.study_id == study_id, CodingCode.name == "speed")
        ).one()
        quality = CodingCategory(study_id=study_id, name="Quality")
        theirs_quality = CodingCategory(study_id=other.id, name="Quality")
        s.add_all([quality, theirs_quality])
        s.flush()
        fixes = CodingConcept(study_id=study_id, name="Fixes", category_id=quality.id)
        theirs_fixes = CodingConcept(study_id=other.id, name="Fixes", category_id=theirs_quality.id)
        s.add_all([fixes, theirs_fixes])
        s.flush()
        needs_fix = CodingCode(
            study_id=study_id, question="comments", name="needs fixes", concept_id=fixes.id
        )
        theirs_needs_fix = CodingCode(
            study_id=other.id, question="comments", name="needs fixes", concept_id=theirs_fixes.id
        )
        theirs_context = CodingCode(study_id=other.id, question="q14", name="context awareness")
        s.add_all([needs_fix, theirs_needs_fix, theirs_context])
        s.flush()
        commented = s.scalars(
            select(Rating.id)
            .join(StudyTask, StudyTask.id == Rating.study_task_id)
            .where(StudyTask.study_id == study_id, Rating.comment == "needed a small fix")
            .order_by(Rating.id)
            .limit(3)
        ).all()
        assignments = [(speed.id, "survey", speedy)]
        assignments += [(needs_fix.id, "comment", r) for r in commented]
        assignments += [
            (theirs_context.id, "survey", their_text),
            (theirs_needs_fix.id, "comment", their_rating.id),
        ]
        for code_id, kind, answer_id in assignments:
            s.add(CodeAssignment(code_id=code_id, answer_kind=kind, answer_id=answer_id))
        foreign.update(coding_categories=1, coding_concepts=1, coding_codes=2, code_assignments=2)
    return foreign


def _read(directory: Path, table: str) -> list[dict[str, Any]]:
    path = directory / f"{table}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _latest_tested(runs: list[dict[str, Any]]) -> bool | None:
    tested = sorted(
        (r for r in runs if r["test_kind"] and r["verdict"] != "ran"),
        key=lambda r: (r["created_at"], r["id"]),
    )
    return tested[-1]["verdict"] == "passed" if tested else None


def _from_export(out: Path) -> dict[str, Any]:
    """The headline numbers, from the files alone."""
    participants = _read(out, "participants")
    tasks = _read(out, "tasks")
    generations = _read(out, "generations")
    executions = _read(out, "executions")
    ratings = _read(out, "ratings")
    votes = _read(out, "votes")
    imported = _read(out, "imported_votes")
    model_of = {g["id"]: g["model"] for g in generations}
    runs: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for execution in executions:
        runs[execution["generation_id"]].append(execution)
    answers: Counter[str] = Counter()
    executed: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for generation in generations:
        answers[generation["model"]] += 1
        verdict = _latest_tested(runs[generation["id"]])
        if verdict is not None:
            executed[generation["model"]] += 1
            passed[generation["model"]] += verdict
    scores: defaultdict[str, list[int]] = defaultdict(list)
    for rating in ratings:
        if rating["correctness"] in range(1, 6):
            scores[rating["model"]].append(rating["correctness"])
    battles: Counter[str] = Counter()
    pairs = [
        (v["model_a"], v["model_b"], v["choice"])
        for v in votes
        if v["kind"] == "battle" and not v["self_identified"]
    ]
    pairs += [(v["model_a"], v["model_b"], v["winner"]) for v in imported]
    for model_a, model_b, choice in pairs:
        if choice in WINNERS and model_a and model_b and model_a != model_b:
            battles[model_a] += 1
            battles[model_b] += 1
    return {
        "progress": {
            "participants_joined": len(participants),
            "participants_consented": sum(1 for p in participants if p["consented_at"]),
            "survey_completed": sum(1 for p in participants if p["survey_completed_at"]),
            "tasks": len(tasks),
            "generations": len(generations),
            "executions": len(executions),
            "ratings": len(ratings),
            "votes": sum(1 for v in votes if v["kind"] == "battle"),
            "upvotes": sum(1 for v in votes if v["kind"] == "upvote"),
            "self_identified_votes": sum(1 for v in votes if v["self_identified"]),
            "imported_votes": len(imported),
            "spend_usd": sum(g["cost_usd"] or 0.0 for g in generations),
        },
        "answers": dict(answers),
        "executed": dict(executed),
        "passed": dict(passed),
        "ratings": {m: (len(v), sum(v) / len(v)) for m, v in scores.items()},
        "battles": dict(battles),
        "executions_of_study": all(e["generation_id"] in model_of for e in executions),
        "generations_of_study": {g["task_id"] for g in generations}
        <= {t["task_id"] for t in tasks},
        "votes_of_study": {v["study_task_id"] for v in votes} <= {t["id"] for t in tasks},
        "ran": sum(1 for e in executions if e["verdict"] == "ran"),
        "statuses": Counter(g["status"] for g in generations),
    }


@pytest.fixture
def study(database_url: str) -> Iterator[tuple[Store, str, Counter[str]]]:
    """The study's id, and how many rows of each exported table are not the study's."""
    store = Store(database_url)
    study_id = make_realistic_study(store)
    _add_edge_rows(store, study_id)
    foreign = _add_more_rows(store, study_id)
    yield store, study_id, foreign
    store.dispose()


def test_report_numbers_recomputed_from_the_export_are_the_analysis(
    study: tuple[Store, str, Counter[str]], tmp_path: Path
) -> None:
    store, study_id, _ = study
    out = tmp_path / "export"
    export_study(store, study_id, out, "jsonl")
    mine = _from_export(out)
    analysis = analyse_study(store, study_id, rounds=ROUNDS).to_dict()

    progress = analysis["progress"]
    for key, value in mine["progress"].items():
        assert progress[key] == pytest.approx(value), key
    objective = analysis["objective"]
    assert {m: o["tasks"] for m, o in objective.items()} == mine["answers"]
    assert {m: o["executed"] for m, o in objective.items() if o["executed"]} == mine["executed"]
    assert {m: o["passed"] for m, o in objective.items() if o["executed"]} == mine["passed"]
    ratings = {
        m: (d["correctness"]["n"], d["correctness"]["mean"])
        for m, d in analysis["ratings"].items()
        if d["correctness"]["n"]
    }
    assert ratings.keys() == mine["ratings"].keys()
    for model, (n, mean) in mine["ratings"].items():
        assert ratings[model][0] == n and ratings[model][1] == pytest.approx(mean), model
    assert {row["model"]: row["battles"] for row in analysis["leaderboard"]} == mine["battles"]

    # the edge rows: each decided the same way on both sides
    assert mine["executions_of_study"] and mine["generations_of_study"] and mine["votes_of_study"]
    assert mine["statuses"]["pending"] == 1 and mine["statuses"]["error"] == 1
    assert mine["ran"] == 2
    assert mine["progress"]["imported_votes"] == 4
    assert mine["executed"][MODELS[0]] >= 1

    # the report prints the analysis's numbers
    report = build_report(store, study_id, tmp_path / "report", "md", rounds=ROUNDS)
    text = report.path.read_text(encoding="utf-8")
    assert f"| {mine['progress']['executions']} |" in text
    assert f"| {mine['progress']['generations']} |" in text


TABLE_MODELS: dict[str, type[Any]] = {
    "participants": Participant,
    "tasks": StudyTask,
    "generations": Generation,
    "executions": Execution,
    "code_metrics": CodeMetrics,
    "findings": Finding,
    "ratings": Rating,
    "votes": Vote,
    "imported_votes": ImportedVote,
    "survey_answers": SurveyAnswer,
    "coding_categories": CodingCategory,
    "coding_concepts": CodingConcept,
    "coding_codes": CodingCode,
    "code_assignments": CodeAssignment,
}
OTHER = "Other"


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _question_counts(question: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    """One question's figures from its non-blank values: what the report's survey tables show."""
    options = list(question.get("options") or [])
    if question["kind"] == "text":
        return {"answered": len(values), "answers": sorted(str(v).strip() for v in values)}
    counts: Counter[str] = Counter()
    mean = None
    if question["kind"] == "rating":
        levels = range(question["min"], question["max"] + 1)
        scores = [int(v) for v in values if str(v).strip().isdigit() and int(v) in levels]
        counts.update(str(n) for n in scores)
        counts[OTHER] += len(values) - len(scores)
        labels = [str(n) for n in levels]
        mean = round(sum(scores) / len(scores), 4) if scores else None
    else:
        for value in values:
            chosen = value if isinstance(value, list) else [value]
            counts.update({v if v in options else OTHER for v in chosen})
        labels = options
    table = {label: counts[label] for label in labels}
    table.setdefault(OTHER, counts[OTHER])
    return {"answered": len(values), "counts": table, "mean": mean}


def _survey_from_export(out: Path) -> dict[str, Any]:
    questions = _read(out, "study")[0]["survey"]["questions"]
    sources = {p["id"]: p["source"] for p in _read(out, "participants")}
    values: dict[str, list[Any]] = {q["id"]: [] for q in questions}
    respondents: set[str] = set()
    for answer in _read(out, "survey_answers"):
        if answer["question_id"] in values and not _blank(answer["value"]):
            values[answer["question_id"]].append(answer["value"])
            respondents.add(answer["participant_id"])
    by_source = Counter(sources.get(p, "platform") for p in respondents)
    return {
        "respondents": len(respondents),
        "by_source": {"platform": by_source["platform"], "import": by_source["import"]},
        "questions": {q["id"]: _question_counts(q, values[q["id"]]) for q in questions},
    }


def _codebook_from_export(out: Path) -> dict[str, Any]:
    questions = _read(out, "study")[0]["survey"]["questions"]
    text_ids = {q["id"] for q in questions if q["kind"] == "text"}
    answers: set[tuple[str, str]] = set()
    for row in _read(out, "survey_answers"):
        value = row["value"]
        text = value if isinstance(value, str) and value.strip() else row["raw"] or ""
        if row["question_id"] in text_ids and text.strip():
            answers.add(("survey", row["id"]))
    answers |= {("comment", r["id"]) for r in _read(out, "ratings") if (r["comment"] or "").strip()}
    tagged: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for assignment in _read(out, "code_assignments"):
        tagged[assignment["code_id"]].add((assignment["answer_kind"], assignment["answer_id"]))
    codes = _read(out, "coding_codes")
    concepts = _read(out, "coding_concepts")
    of_concept: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for code in codes:
        of_concept[code["concept_id"]] |= tagged[code["id"]]
    of_category: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for concept in concepts:
        of_category[concept["category_id"]] |= of_concept[concept["id"]]
    return {
        "answers": len(answers),
        "coded": len(answers & set().union(*tagged.values())),
        "codes": {(c["question"], c["name"]): len(tagged[c["id"]]) for c in codes},
        "concepts": {c["name"]: len(of_concept[c["id"]]) for c in concepts},
        "categories": {
            c["name"]: len(of_category[c["id"]]) for c in _read(out, "coding_categories")
        },
    }


def _outcomes_from_export(out: Path) -> dict[str, tuple[int, int, int]]:
    """Wins, losses and ties per model (both-bad votes as ties, self-identified ones left out)."""
    votes = [
        (v["model_a"], v["model_b"], v["choice"])
        for v in _read(out, "votes")
        if v["kind"] == "battle" and not v["self_identified"]
    ]
    votes += [(v["model_a"], v["model_b"], v["winner"]) for v in _read(out, "imported_votes")]
    wins: Counter[str] = Counter()
    losses: Counter[str] = Counter()
    ties: Counter[str] = Counter()
    for a, b, choice in votes:
        if choice not in WINNERS or not a or not b or a == b:
            continue
        if choice == "a":
            wins[a] += 1
            losses[b] += 1
        elif choice == "b":
            wins[b] += 1
            losses[a] += 1
        else:
            ties[a] += 1
            ties[b] += 1
    return {m: (wins[m], losses[m], ties[m]) for m in wins | losses | ties}


def _cells(line: str) -> list[str]:
    return [html.unescape(c.strip()) for c in line.strip()[1:-1].split(" | ")]


def _tables(markdown: str) -> dict[str, list[list[str]]]:
    """Every table of the Markdown report (header row first) under the heading above it, its
    cells unescaped (the report writes ``<`` as ``&lt;``)."""
    found: dict[str, list[list[str]]] = {}
    heading, rows = "", None
    for line in markdown.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if not line.startswith("|"):
            rows = None
        elif rows is None:
            rows = found[heading] = [_cells(line)]
        elif not set(line) <= set("|-: "):
            rows.append(_cells(line))
    return found


def _records(tables: dict[str, list[list[str]]], heading: str) -> list[dict[str, str]]:
    header, *rows = tables[heading]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_survey_coding_and_report_tables_recomputed_from_the_export(
    study: tuple[Store, str, Counter[str]], tmp_path: Path
) -> None:
    store, study_id, foreign = study
    out = tmp_path / "export"
    manifest = export_study(store, study_id, out, "jsonl")

    # nothing of the other study, nor of no study, is in the export; all of this study is
    exported = {t.name: t.rows for t in manifest.tables}
    with store.session() as s:
        for table, model in TABLE_MODELS.items():
            total = s.scalar(select(func.count()).select_from(model))
            assert total is not None and total - exported[table] == foreign[table], table
    assert foreign["survey_answers"] == 6 and foreign["code_assignments"] == 2
    text = all_text(out)
    for needle in ("Another study", "the other study's", "a CLI task of no study"):
        assert needle not in text

    # the survey summary is the export's survey answers
    survey = summarize_survey(store, study_id).to_dict()
    mine = _survey_from_export(out)
    assert survey["respondents"] == mine["respondents"] == 40 + 3  # shy, imported, late
    assert survey["by_source"] == mine["by_source"] == {"platform": 42, "import": 1}
    for question in survey["questions"]:
        expected = mine["questions"][question["id"]]
        assert question["answered"] == expected["answered"], question["id"]
        if question["type"] == "text":
            assert sorted(question["answers"]) == expected["answers"], question["id"]
        else:
            assert question["counts"] == expected["counts"], question["id"]
            assert question["mean"] == expected["mean"], question["id"]
    q13 = mine["questions"]["q13"]
    assert q13["answered"] == 42 and q13["counts"][OTHER] == 1  # the shy 9; not the stranger's 1
    assert mine["questions"]["q12"]["counts"]["GPT 4o"] == sum(
        1
        for a in _read(out, "survey_answers")
        if a["question_id"] == "q12" and a["value"] == "GPT 4o"
    )

    # the codebook is the export's codes and answers
    book = codebook(store, study_id)
    coded = _codebook_from_export(out)
    assert (book.answers, book.coded) == (coded["answers"], coded["coded"])
    assert {(c.question, c.name): c.count for c in book.codes} == coded["codes"]
    concepts = [c for group in book.categories for c in group.concepts] + book.ungrouped_concepts
    assert {c.name: c.count for c in concepts} == coded["concepts"]
    assert {c.name: c.count for c in book.categories} == coded["categories"] == {"Quality": 3}
    opinions = sum(1 for a in _read(out, "survey_answers") if a["value"] == BEST_OPINIONS[0])
    assert coded["codes"][("q14", "context awareness")] == opinions  # not the other study's

    # the report prints the export's numbers
    report = build_report(store, study_id, tmp_path / "report", "md", rounds=ROUNDS)
    markdown = report.path.read_text(encoding="utf-8")
    tables = _tables(markdown)
    headline = _from_export(out)
    progress = dict(row for row in tables["Participants and progress"][1:])
    for key, value in headline["progress"].items():
        if not key.endswith("_usd"):
            assert progress[key.replace("_", " ")] == str(value), key
    assert progress["participants joined"] == "42" and progress["participants consented"] == "40"

    board = {r["model"].removesuffix(" ⚠"): r for r in _records(tables, "Leaderboard")}
    assert {m: int(r["battles"]) for m, r in board.items()} == headline["battles"]
    outcomes = _outcomes_from_export(out)
    assert {
        m: (int(r["wins"]), int(r["losses"]), int(r["ties"])) for m, r in board.items()
    } == outcomes

    ratings = {
        r["model"]: (int(r["n"]), r["mean"])
        for r in _records(tables, "Ratings")
        if r["dimension"] == "correctness"
    }
    assert ratings == {m: (n, f"{mean:.2f}") for m, (n, mean) in headline["ratings"].items()}

    objective = {r["model"]: r for r in _records(tables, "Objective measurements")}
    assert {m: int(r["answers"]) for m, r in objective.items()} == headline["answers"]
    assert {
        m: (int(r["n with tests"]), r["pass rate"])
        for m, r in objective.items()
        if r["n with tests"] != "0"
    } == {m: (n, f"{headline['passed'][m] / n:.2f}") for m, n in headline["executed"].items()}

    assert f"{mine['respondents']} respondents." in markdown
    for question in survey["questions"]:
        title = f"Q{question['number']}. {question['text']}"
        expected = mine["questions"][question["id"]]
        if question["type"] != "text":
            shown = {r["answer"]: int(r["n"]) for r in _records(tables, title)}
            counts = dict(expected["counts"])
            if question["type"] == "rating" or set(counts) - {OTHER} <= {"Yes", "No"}:
                # a closed question has no Other row; answers that are no valid choice are
                # "not a valid answer"
                invalid = counts.pop(OTHER, 0)
                if invalid:
                    counts["not a valid answer"] = invalid
            assert shown == counts, title

    shown_codes = {r["code"]: int(r["answers"]) for r in _records(tables, "Open coding")}
    assert shown_codes == {name: n for (_, name), n in coded["codes"].items()}
