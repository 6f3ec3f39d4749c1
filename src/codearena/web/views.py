"""What a participant may see: a task (blind answers carry no model identity before the vote),
the vote's wording, the history and the survey."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from codearena.answers import extract_code
from codearena.catalog import Catalog, UnknownModel
from codearena.store import Store, repo
from codearena.store.models import Generation
from codearena.store.platform_models import Participant, Rating, Study, StudyTask, Vote
from codearena.studies.fixes import FixView, task_fixes
from codearena.studies.selfident import self_identifies
from codearena.studies.survey import instrument_of, own_answers
from codearena.web.render import render_answer
from codearena.web.streams import AnswerState, LiveTask, timing_dict

_FIGURES = (
    "served_model",
    "ttft_ms",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "tokens_estimated",
    "cost_usd",
)
# The buttons' wording, used wherever a vote is shown to the participant.
CHOICE_LABELS: dict[str, str] = {
    "a": "A is better",
    "b": "B is better",
    "tie": "Tie",
    "both_bad": "Both are bad",
}
INTERRUPTED = "the server stopped before this answer finished; start the task again"


def blind_label(position: int) -> str:
    return f"Model {'AB'[position]}" if position < 2 else f"Model {position + 1}"


def model_label(catalog: Catalog, model: str) -> str:
    try:
        return catalog.resolve(model).model.label
    except UnknownModel:
        return model


def shows_models(row: StudyTask) -> bool:
    return row.mode == "named" or row.revealed


def present(
    catalog: Catalog,
    row: StudyTask,
    position: int,
    status: str,
    text: str,
    source: Any | None,
    code: list[dict[str, Any]] | None = None,
    retries: int = 0,
    retry_reason: str | None = None,
    turn: int = 1,
) -> dict[str, Any]:
    """One answer for the browser (``turn``: its turn in the model's conversation). ``source`` is a CallResult or a Generation when finished;
    an answer still arriving says how many retries the gateway announced (no model in it)."""
    named = shows_models(row)
    model = row.models[position]
    answer: dict[str, Any] = {
        "position": position,
        "name": model_label(catalog, model) if named else blind_label(position),
        "status": status,
    }
    if turn != 1:  # a later turn says so (turn 1's answers keep their keys)
        answer["turn"] = turn
    if status in ("pending", "streaming"):
        answer["text"] = text
        answer["retries"] = retries
        if retries:
            answer["retry_reason"] = retry_reason  # blind: a fixed text, never the upstream's
        return answer
    if code is None:
        code = [b.to_dict() for b in extract_code(text)]
    answer["html"] = render_answer(text, code)
    # a boolean about text the participant reads anyway: it reveals no model, even when blind
    answer["self_identified"] = self_identifies(catalog, text)
    error = getattr(source, "error", None) if source is not None else INTERRUPTED
    if named:
        answer["model"] = model
        answer["error"] = error
        for name in _FIGURES:
            answer[name] = getattr(source, name, None)
    elif status == "error":
        kind = getattr(source, "error_kind", None) or "error"
        answer["error"] = f"this model failed ({kind}); the other answer still counts"
    return answer


def live_presenter(catalog: Catalog, row: StudyTask) -> Any:
    def show(state: AnswerState) -> dict[str, Any]:
        return present(
            catalog,
            row,
            state.position,
            state.status,
            state.text,
            state.result,
            retries=state.retries,
            retry_reason=state.retry_reason,
            turn=state.turn,
        )

    return show


def stored_answers(store: Store, catalog: Catalog, row: StudyTask) -> list[dict[str, Any]]:
    if row.task_id is None:
        return [
            present(catalog, row, i, "error" if row.status != "running" else "pending", "", None)
            for i in range(len(row.models))
        ]
    task = repo.get_task(store, row.task_id)
    generations: list[Generation] = list(task.generations) if task else []
    return [
        present(catalog, row, g.position, g.status, g.text, g, list(g.code or []))
        for g in generations
        if g.turn == 1
    ]


def stored_turn(store: Store, catalog: Catalog, row: StudyTask, turn: int) -> list[dict[str, Any]]:
    """The answers at ``turn`` (2 and later: follow-ups and repair rounds), with their prompt."""
    task = repo.get_task(store, row.task_id) if row.task_id else None
    shown = []
    for g in task.generations if task else []:
        if g.turn == turn:
            answer = present(catalog, row, g.position, g.status, g.text, g, list(g.code or []))
            answer.update(turn=g.turn, kind=g.kind, prompt=g.prompt)
            shown.append(answer)
    return shown


def later_turns(
    store: Store, catalog: Catalog, row: StudyTask, live: LiveTask | None
) -> list[dict[str, Any]]:
    """The task's turns after the first (``turns`` in the task JSON): each turn's number, its
    answers (by position, each with ``kind`` and ``prompt``) and whether a round is live."""
    task = repo.get_task(store, row.task_id) if row.task_id else None
    numbers = {g.turn for g in (task.generations if task else []) if g.turn > 1}
    live_states = live.answers if live is not None and not live.complete and live.round > 1 else []
    numbers |= {state.turn for state in live_states}
    turns = {n: {a["position"]: a for a in stored_turn(store, catalog, row, n)} for n in numbers}
    for state in live_states:  # a live answer as it streams (its row may not be stored yet)
        stored = turns[state.turn].get(state.position, {})
        shown = live.present(state) if live is not None else {}
        shown.update(kind=stored.get("kind"), prompt=stored.get("prompt"))
        turns[state.turn][state.position] = shown
    return [{"turn": n, "answers": [turns[n][p] for p in sorted(turns[n])]} for n in sorted(turns)]


def epoch(moment: datetime | None) -> float | None:
    """A stored timestamp as epoch seconds (SQLite gives naive datetimes, in UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _first_token(generation: Generation) -> float | None:
    """When the first token arrived: the end less the call's latency plus its time to the
    first token (both measured from the call's provider slot)."""
    end = epoch(generation.finished_at)
    if end is None or generation.ttft_ms is None or generation.latency_ms is None:
        return None
    return end - (generation.latency_ms - generation.ttft_ms) / 1000


def stored_timing(store: Store, row: StudyTask) -> dict[str, Any]:
    """The task's elapsed times from the stored rows (``timing`` in the task JSON)."""
    task = repo.get_task(store, row.task_id) if row.task_id else None
    by_position = {g.position: g for g in (task.generations if task else [])}
    marks = []
    for i in range(len(row.models)):
        g = by_position.get(i)
        finished = g is not None and g.status in ("ok", "error")
        end = epoch(g.finished_at) if g is not None and finished else None
        marks.append((_first_token(g) if g is not None and finished else None, end))
    start = epoch(row.created_at) or time.time()
    return timing_dict(start, marks, row.status != "running", time.time())


def timing(store: Store, row: StudyTask, live: LiveTask | None) -> dict[str, Any]:
    if live is not None and not live.complete and live.round == 1:
        return live.timing()
    return stored_timing(store, row)


def answers(store: Store, catalog: Catalog, row: StudyTask, live: LiveTask | None) -> Any:
    if live is not None and not live.complete and live.round == 1:
        return live.snapshot()["answers"]
    return stored_answers(store, catalog, row)


def task_view(
    store: Store, catalog: Catalog, row: StudyTask, live: LiveTask | None
) -> dict[str, Any]:
    with store.session() as session:
        ratings = session.scalars(select(Rating).where(Rating.study_task_id == row.id)).all()
        votes = session.scalars(select(Vote).where(Vote.study_task_id == row.id)).all()
    battle = next((v for v in votes if v.kind == "battle"), None)
    shown = answers(store, catalog, row, live)
    return {
        "id": row.id,
        "mode": row.mode,
        "prompt": row.prompt,
        "tests": row.tests,
        "created_at": row.created_at.isoformat(),
        "status": row.status,
        "complete": row.status != "running",
        "revealed": shows_models(row),
        "answers": shown,
        # turns 2, 3, ...: follow-ups and repair rounds, each model continuing its own
        "turns": later_turns(store, catalog, row, live),
        "round_live": live is not None and not live.complete and live.round > 1,
        "live_turn": live.round if live is not None and not live.complete else None,
        # seconds since the task's start by answer position (first token, end): survives a reload
        "timing": timing(store, row, live),
        "vote": battle.choice if battle else None,
        "vote_label": CHOICE_LABELS.get(battle.choice or "") if battle else None,
        # an answer names a model or vendor: a vote on this task is excluded from the analysis
        "self_identified": any(a.get("self_identified") for a in shown),
        # turn 1's upvotes and ratings by position (their keys before ratings had turns), then
        # every turn's: {"turn": [position, ...]} and {"turn": {"position": rating}}
        "upvoted": sorted(v.position for v in votes if v.kind == "upvote" and v.turn == 1),
        "ratings": {str(r.position): rating_dict(r) for r in ratings if r.turn == 1},
        "upvoted_by_turn": _by_turn_upvotes(votes),
        "ratings_by_turn": _by_turn_ratings(ratings),
        # the participant's fix-it-yourself attempts on this task's answers (by position, turn)
        "fixes": [fix_dict(view) for view in task_fixes(store, row)],
    }


def _by_turn_upvotes(votes: Sequence[Vote]) -> dict[str, list[int]]:
    upvoted: dict[str, list[int]] = {}
    for vote in votes:
        if vote.kind == "upvote":
            upvoted.setdefault(str(vote.turn), []).append(vote.position)
    return {turn: sorted(positions) for turn, positions in sorted(upvoted.items())}


def _by_turn_ratings(ratings: Sequence[Rating]) -> dict[str, dict[str, dict[str, Any]]]:
    rated: dict[str, dict[str, dict[str, Any]]] = {}
    for rating in ratings:
        rated.setdefault(str(rating.turn), {})[str(rating.position)] = rating_dict(rating)
    return rated


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def fix_dict(view: FixView) -> dict[str, Any]:
    """A fix attempt for its participant: the answer by position and turn (never the model),
    the code the editor holds, and the measured figures."""
    fix = view.fix
    return {
        "id": fix.id,
        "position": view.position,
        "turn": view.turn,
        "block_index": fix.block_index,
        "code": view.code,
        "resumed": view.resumed,
        "started_at": _iso(fix.started_at),
        "ended_at": _iso(fix.ended_at),
        "active_seconds": round(fix.active_seconds or 0.0, 1),
        "runs": fix.runs,
        "verdict": fix.verdict,
        "outcome": fix.outcome,
        "lines_added": fix.lines_added,
        "lines_removed": fix.lines_removed,
    }


def rating_dict(rating: Rating) -> dict[str, Any]:
    return {
        "position": rating.position,
        "turn": rating.turn,
        "correctness": rating.correctness,
        "quality": rating.quality,
        "usefulness": rating.usefulness,
        "minutes_to_usable": rating.minutes_to_usable,
        "comment": rating.comment,
    }


def history(store: Store, catalog: Catalog, participant_id: str) -> list[dict[str, Any]]:
    with store.session() as session:
        rows = session.scalars(
            select(StudyTask)
            .where(StudyTask.participant_id == participant_id)
            .order_by(StudyTask.created_at.desc())
        ).all()
    return [
        {
            "id": row.id,
            "created_at": row.created_at.isoformat(),
            "prompt": row.prompt[:300],
            "mode": row.mode,
            "status": row.status,
            "revealed": shows_models(row),
            "models": (
                [model_label(catalog, m) for m in row.models]
                if shows_models(row)
                else [blind_label(i) for i in range(len(row.models))]
            ),
        }
        for row in rows
    ]


def survey_view(store: Store, study: Study, participant_id: str) -> dict[str, Any]:
    """The survey page and ``GET /api/survey``: the instrument, own answers, submitted or not."""
    with store.session() as session:
        participant = session.get(Participant, participant_id)
    return {
        "instrument": instrument_of(study).to_dict(),
        "answers": own_answers(store, participant_id),
        "completed": bool(participant and participant.survey_completed_at),
    }
