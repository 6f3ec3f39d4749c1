"""``analyse_study``: every figure of one study in one JSON-ready object."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from codearena import stats
from codearena.analysis import figures, provenance
from codearena.analysis.corrections import model_labels
from codearena.analysis.load import (
    Groups,
    StudyData,
    activity_bounds,
    battle_votes,
    load_study,
)
from codearena.stats.bradley_terry import BothBad
from codearena.stats.resampling import Bootstrap
from codearena.store import Store

BREAKDOWN_KEYS = ("language", "category", "experience", "role")
NONE_GROUP = "(none)"
"""The group of the rows that lack the key (no language, untagged task, unanswered survey)."""


@dataclass
class StudyAnalysis:
    """Every figure of a study; ``to_dict()`` is what the JSON endpoint and reports use."""

    study: dict[str, Any]
    progress: dict[str, Any]
    leaderboard: list[stats.LeaderboardRow]
    win_matrix: dict[str, Any]
    ratings: dict[str, Any]
    objective: dict[str, Any]
    breakdowns: dict[str, Any]
    human_vs_objective: list[dict[str, Any]]
    agreement: dict[str, float | None]
    first_activity: str | None
    last_activity: str | None
    options: dict[str, Any] = field(default_factory=dict)
    generation_points: list[dict[str, Any]] = field(default_factory=list)
    collection: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "progress": self.progress,
            "leaderboard": [row.to_dict() for row in self.leaderboard],
            "win_matrix": self.win_matrix,
            "ratings": self.ratings,
            "objective": self.objective,
            "breakdowns": self.breakdowns,
            "human_vs_objective": self.human_vs_objective,
            "agreement": self.agreement,
            "first_activity": self.first_activity,
            "last_activity": self.last_activity,
            "options": self.options,
            "generation_points": self.generation_points,
            "collection": self.collection,
            "labels": self.labels,
        }


def study_info(data: StudyData) -> dict[str, Any]:
    study = data.study
    return {
        "id": study.id,
        "name": study.name,
        "description": study.description,
        "models": list(study.models),
        "mode": study.mode,
        "prompt_options": list(study.prompt_options),
        "survey_name": study.survey_name,
        "status": study.status,
        "created_at": study.created_at.isoformat() if study.created_at else None,
        "pairing": study.pairing,
        "design": study.design,
        "design_seed": study.design_seed,
        "design_tasks": len(data.design_tasks),
        "tasks_per_participant": study.tasks_per_participant,
        "assigned_participants": len(data.assignments),
    }


def progress(data: StudyData) -> dict[str, Any]:
    """Counts so far, and spend against the budget (generation costs of the study's tasks)."""
    spend_of: dict[str, float] = {}
    counted: set[str] = set()
    for study_task in data.study_tasks:
        for generation in data.generations_of(study_task.task_id):
            if generation.id in counted or generation.cost_usd is None:
                continue
            counted.add(generation.id)
            who = study_task.participant_id
            spend_of[who] = spend_of.get(who, 0.0) + generation.cost_usd
    joined = len(data.participants)
    budget = data.study.budget_usd
    return {
        "participants_joined": joined,
        "participants_consented": sum(1 for p in data.participants if p.consented_at),
        "tasks": len(data.study_tasks),
        "generations": len(data.generations),
        "executions": len(data.executions),
        "ratings": len(data.ratings),
        "votes": sum(1 for v in data.votes if v.kind == "battle"),
        "upvotes": sum(1 for v in data.votes if v.kind == "upvote"),
        "self_identified_votes": sum(1 for v in data.votes if v.self_identified),
        "imported_votes": len(data.imported),
        "survey_completed": sum(1 for p in data.participants if p.survey_completed_at),
        "spend_usd": sum(spend_of.values()),
        "max_participant_spend_usd": max(spend_of.values(), default=0.0),
        "budget_usd": budget,
        "budget_tasks": data.study.budget_tasks,
        "budget_total_usd": None if budget is None else budget * joined,
    }


def _label(value: str | None) -> str:
    return NONE_GROUP if value is None else value


def _board(votes: Iterable[stats.Vote], options: dict[str, Any]) -> list[stats.LeaderboardRow]:
    return stats.leaderboard(list(votes), **options)


def breakdowns(
    votes: Sequence[tuple[stats.Vote, Groups]],
    rated: Sequence[figures.RatedRow],
    units: Sequence[figures.Unit],
    board_options: dict[str, Any],
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{key: {group: {"ratings", "objective", "leaderboard"}}}`` per breakdown key."""
    return {key: _breakdown(key, votes, rated, units, board_options) for key in BREAKDOWN_KEYS}


def _breakdown(
    key: str,
    votes: Sequence[tuple[stats.Vote, Groups]],
    rated: Sequence[figures.RatedRow],
    units: Sequence[figures.Unit],
    board_options: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    vote_groups = stats.group_by(votes, lambda pair: _label(pair[1].get(key)))
    rating_groups = stats.group_by(rated, lambda row: _label(row.groups.get(key)))
    unit_groups = stats.group_by(units, lambda unit: _label(unit.groups.get(key)))
    names = sorted(
        set(vote_groups) | set(rating_groups) | set(unit_groups),
        key=lambda name: (name == NONE_GROUP, name),
    )
    return {
        name: {
            "ratings": figures.ratings(r.rating for r in rating_groups.get(name, [])),
            "objective": figures.objective(figures.distinct(unit_groups.get(name, []))),
            "leaderboard": [
                row.to_dict()
                for row in _board((v for v, _ in vote_groups.get(name, [])), board_options)
            ],
        }
        for name in names
    }


def analyse_study(
    store: Store,
    study_id: str,
    *,
    rounds: int = 1000,
    seed: int = 0,
    include_flagged: bool = False,
    both_bad: BothBad = "tie",
    include_imported: bool = True,
    bootstrap: Bootstrap = "participants",
) -> StudyAnalysis:
    """Load a study and compute every figure (raises ``StudyNotFound`` for an unknown id)."""
    data = load_study(store, study_id)
    return analyse_data(
        data,
        rounds=rounds,
        seed=seed,
        include_flagged=include_flagged,
        both_bad=both_bad,
        include_imported=include_imported,
        bootstrap=bootstrap,
    )


def analyse_data(
    data: StudyData,
    *,
    rounds: int = 1000,
    seed: int = 0,
    include_flagged: bool = False,
    both_bad: BothBad = "tie",
    include_imported: bool = True,
    bootstrap: Bootstrap = "participants",
) -> StudyAnalysis:
    """The figures of already loaded rows. The leaderboards' intervals resample participants
    by default (``bootstrap``; votes of one person are not independent)."""
    board_options: dict[str, Any] = {
        "rounds": rounds,
        "seed": seed,
        "include_flagged": include_flagged,
        "both_bad": both_bad,
        "bootstrap": bootstrap,
    }
    votes = battle_votes(data, include_imported=include_imported)
    plain = [vote for vote, _ in votes]
    board = _board(plain, board_options)
    units = figures.units(data)
    rated = figures.rated_rows(data)
    first, last = activity_bounds(data)
    return StudyAnalysis(
        study=study_info(data),
        progress=progress(data),
        leaderboard=board,
        win_matrix=figures.win_matrix(
            plain,
            [row.model for row in board],
            include_flagged=include_flagged,
            both_bad=both_bad,
        ),
        ratings=figures.ratings(data.ratings),
        objective=figures.objective(figures.distinct(units)),
        breakdowns=breakdowns(votes, rated, units, board_options),
        human_vs_objective=figures.human_vs_objective(data, units, rounds=rounds, seed=seed),
        agreement=figures.agreement(data.ratings),
        first_activity=first,
        last_activity=last,
        options={**board_options, "include_imported": include_imported},
        generation_points=figures.generation_points(data, units),
        collection=provenance.collection(data),
        labels=model_labels(data),
    )
