"""Ratings (with their comment), blind votes and named upvotes, each validated and committed
before the caller answers; and a participant's own numbers for the thank-you page.

A rating and an upvote are of one answer: a position at a turn of its conversation (1 = the
first answer; 2, ... a follow-up or repair round), each turn's answer on its own (its own
generation, its own row). A blind vote is about the whole conversation, once per task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from codearena.catalog import Catalog
from codearena.store import Store
from codearena.store.platform_models import Rating, StudyTask, Vote
from codearena.store.vocabulary import VOTE_VALUES, VoteValue, vote_value
from codearena.studies.access import generation_at, generations_of
from codearena.studies.errors import Conflict, StudyError
from codearena.studies.selfident import self_identifies

# The stored spelling; the old "bothbad" (and "both-bad", "both bad") is accepted on input.
CHOICES: tuple[str, ...] = VOTE_VALUES


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
    choice: VoteValue

    @field_validator("choice", mode="before")
    @classmethod
    def _old_spellings(cls, value: Any) -> Any:
        """``bothbad`` (the spelling before 0005), ``both-bad`` and ``both bad`` mean both_bad."""
        return vote_value(value) or value


def rate(store: Store, row: StudyTask, position: int, data: RatingInput, turn: int = 1) -> Rating:
    """Create or change the participant's rating of one answer, the one at ``position`` and
    ``turn`` (a blank comment is none)."""
    values = data.model_dump()
    if all(v is None or v == "" for v in values.values()):
        raise StudyError("give at least one rating")
    generation = generation_at(store, row, position, turn)
    with store.session() as session:
        rating = session.scalars(
            select(Rating).where(
                Rating.study_task_id == row.id, Rating.position == position, Rating.turn == turn
            )
        ).first() or Rating(
            study_task_id=row.id,
            position=position,
            turn=turn,
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
    """The blind battle vote, once per task; it reveals the models. An answer that names any
    model or vendor of the catalog flags the vote (``self_identified``: kept, not analysed)."""
    if row.mode != "blind":
        raise StudyError("votes are for blind tasks; named tasks use upvotes")
    value = vote_value(choice)
    if value is None:
        raise StudyError(f"choice must be one of {', '.join(CHOICES)}")
    generations = generations_of(store, row)
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
                    turns_seen=max((g.turn for g in generations), default=1),
                    turn=1,  # the whole conversation: one battle per task
                )
            )
            stored = session.get(StudyTask, row.id)
            assert stored is not None
            stored.revealed = True
    except IntegrityError:
        raise Conflict("you have already voted on this task") from None
    row.revealed = True
    return Vote(
        choice=value,
        self_identified=flagged,
        turns_seen=max((g.turn for g in generations), default=1),
    )


def upvote(store: Store, catalog: Catalog, row: StudyTask, position: int, turn: int = 1) -> Vote:
    """A named task's upvote of one answer (``position`` at ``turn``), once per answer."""
    if row.mode != "named":
        raise StudyError("upvotes are for named tasks; blind tasks use votes")
    generation = generation_at(store, row, position, turn)
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
                    turn=turn,
                    model=row.models[position],
                    self_identified=flagged,
                )
            )
    except IntegrityError:
        raise Conflict("you have already upvoted this answer") from None
    return Vote(model=row.models[position], self_identified=flagged, position=position, turn=turn)


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
