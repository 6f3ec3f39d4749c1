"""Ratings, blind votes and named upvotes: validated, committed before the response returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from codearena.catalog import Catalog
from codearena.store import Store, repo
from codearena.store.models import Generation
from codearena.store.platform_models import Rating, StudyTask, Vote
from codearena.store.vocabulary import VOTE_VALUES, VoteValue, vote_value
from codearena.web.errors import ApiError
from codearena.web.selfident import names_own_model as names_own_model
from codearena.web.selfident import self_identifies
from codearena.web.selfident import self_names as self_names

# The stored spelling; the old "bothbad" (and "both-bad", "both bad") is accepted on input.
Choice = VoteValue
CHOICES: tuple[str, ...] = VOTE_VALUES
# The buttons' wording, used wherever a vote is shown to the participant.
CHOICE_LABELS: dict[str, str] = {
    "a": "A is better",
    "b": "B is better",
    "tie": "Tie",
    "both_bad": "Both are bad",
}


class RatingInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    correctness: int | None = Field(default=None, ge=1, le=5)
    quality: int | None = Field(default=None, ge=1, le=5, description="code quality/readability")
    usefulness: int | None = Field(default=None, ge=1, le=5)
    minutes_to_usable: float | None = Field(
        default=None, ge=0, le=10_000, description="minutes needed to make the code usable"
    )
    comment: str | None = Field(default=None, max_length=5_000)


class VoteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    choice: Choice

    @field_validator("choice", mode="before")
    @classmethod
    def _old_spellings(cls, value: Any) -> Any:
        """``bothbad`` (the spelling before 0005), ``both-bad`` and ``both bad`` mean both_bad."""
        return vote_value(value) or value


def generations_of(store: Store, row: StudyTask) -> list[Generation]:
    if row.status == "running" or row.task_id is None:
        raise ApiError(409, "wait until every answer of this task has arrived")
    task = repo.get_task(store, row.task_id)
    return list(task.generations) if task else []


def generation_at(store: Store, row: StudyTask, position: int) -> Generation:
    """One answer, as soon as it has arrived (the others may still be streaming)."""
    task = repo.get_task(store, row.task_id) if row.task_id else None
    generations = list(task.generations) if task else []
    if not generations and row.status == "running":
        raise ApiError(409, "wait until this answer has arrived")
    if not 0 <= position < len(generations):
        raise ApiError(404, f"this task has no answer {position}")
    if generations[position].status == "pending":
        raise ApiError(409, "wait until this answer has arrived")
    return generations[position]


def rate(store: Store, row: StudyTask, position: int, data: RatingInput) -> Rating:
    values = data.model_dump()
    if all(v is None or v == "" for v in values.values()):
        raise ApiError(400, "give at least one rating")
    generation = generation_at(store, row, position)
    with store.session() as session:
        rating = session.scalars(
            select(Rating).where(Rating.study_task_id == row.id, Rating.position == position)
        ).first() or Rating(
            study_task_id=row.id,
            position=position,
            participant_id=row.participant_id,
            model=row.models[position],
            generation_id=generation.id,
        )
        for name, value in values.items():
            setattr(rating, name, value.strip() or None if isinstance(value, str) else value)
        rating.updated_at = datetime.now(UTC)
        session.add(rating)
    return rating


def vote(store: Store, catalog: Catalog, row: StudyTask, choice: str) -> Vote:
    if row.mode != "blind":
        raise ApiError(400, "votes are for blind tasks; named tasks use upvotes")
    value = vote_value(choice)
    if value is None:
        raise ApiError(400, f"choice must be one of {', '.join(CHOICES)}")
    generations = generations_of(store, row)
    # any model or vendor of the catalog, not only the answer's own (see web/selfident.py)
    flagged = any(self_identifies(catalog, g.text) for g in generations)
    try:
        with store.session() as session:
            session.add(
                Vote(
                    study_task_id=row.id,
                    study_id=row.study_id,
                    participant_id=row.participant_id,
                    kind="battle",
                    position=-1,
                    choice=value,
                    model_a=row.models[0],
                    model_b=row.models[1],
                    self_identified=flagged,
                )
            )
            stored = session.get(StudyTask, row.id)
            assert stored is not None
            stored.revealed = True
    except IntegrityError:
        raise ApiError(409, "you have already voted on this task") from None
    row.revealed = True
    return Vote(choice=value, self_identified=flagged)


def upvote(store: Store, catalog: Catalog, row: StudyTask, position: int) -> Vote:
    if row.mode != "named":
        raise ApiError(400, "upvotes are for named tasks; blind tasks use votes")
    generation = generation_at(store, row, position)
    flagged = self_identifies(catalog, generation.text)
    try:
        with store.session() as session:
            session.add(
                Vote(
                    study_task_id=row.id,
                    study_id=row.study_id,
                    participant_id=row.participant_id,
                    kind="upvote",
                    position=position,
                    model=row.models[position],
                    self_identified=flagged,
                )
            )
    except IntegrityError:
        raise ApiError(409, "you have already upvoted this answer") from None
    return Vote(model=row.models[position], self_identified=flagged)


def summary(store: Store, participant_id: str) -> dict[str, Any]:
    """The participant's own numbers for the thank-you page."""
    with store.session() as session:
        tasks = session.scalars(
            select(StudyTask).where(StudyTask.participant_id == participant_id)
        ).all()
        ratings = session.scalars(
            select(Rating).where(Rating.participant_id == participant_id)
        ).all()
        votes = session.scalars(select(Vote).where(Vote.participant_id == participant_id)).all()
    return {
        "tasks": len(tasks),
        "ratings": len(ratings),
        "votes": sum(1 for v in votes if v.kind == "battle"),
        "upvotes": sum(1 for v in votes if v.kind == "upvote"),
        "mean_correctness": _mean([r.correctness for r in ratings]),
        "mean_minutes_to_usable": _mean([r.minutes_to_usable for r in ratings]),
    }


def _mean(values: list[Any]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(sum(present) / len(present), 2) if present else None
