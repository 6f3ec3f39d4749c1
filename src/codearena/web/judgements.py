"""Ratings, blind votes and named upvotes: validated, committed before the response returns."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from codearena.catalog import Catalog, UnknownModel
from codearena.store import Store, repo
from codearena.store.models import Generation
from codearena.store.platform_models import Rating, StudyTask, Vote
from codearena.web.errors import ApiError
from codearena.web.views import model_label

Choice = Literal["a", "b", "tie", "bothbad"]
CHOICES: tuple[str, ...] = ("a", "b", "tie", "bothbad")
_FAMILIES = {
    "openai": ("GPT", "ChatGPT", "OpenAI"),
    "google": ("Gemini", "Google", "Bard"),
    "meta-llama": ("Llama", "Meta AI"),
    "mistralai": ("Mistral", "Mixtral"),
    "anthropic": ("Claude", "Anthropic"),
    "deepseek": ("DeepSeek",),
    "qwen": ("Qwen", "Alibaba"),
}
# A reply names its own model only in the first person ("I am GPT-4", "I'm an AI model called
# Llama", "I was trained by OpenAI", "my name is Gemini") or as a sentence opener ("As GPT-4, I
# ..."): prose about a library or an API ("a GPT tokenizer", "built by Google") is not flagged.
_ROLE = r"(?:(?:an?|the)\s+)?(?:(?:AI|large|language|model|assistant|chatbot)\s+)*(?:(?:called|named)\s+)?"
_SELF_PATTERNS = (
    r"\b(?:I am|I'm|I was|my name is)\s+" + _ROLE + "{name}",
    r"(?:^|[.!?:]\s+|\n\s*)As\s+" + _ROLE + "{name}",
    r"\b(?:I am|I'm|I was)\s+(?:(?:an?|the)\s+)?(?:[\w-]+\s+){{0,4}}?"
    r"(?:developed|created|trained|built|made)\s+by\s+{name}",
)


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


def self_names(catalog: Catalog, model: str) -> list[str]:
    """Names a reply could use for its own model: label, vendor, family names."""
    names = {model_label(catalog, model)}
    try:
        upstream = catalog.resolve(model).model.upstream_id
    except UnknownModel:
        upstream = model
    vendor, _, name = upstream.partition("/")
    names.update({vendor, name.split(":")[0]} if name else {vendor})
    names.update(_FAMILIES.get(vendor, ()))
    return [n for n in names if len(n) >= 3]


def names_own_model(text: str, names: list[str]) -> bool:
    """True when the reply introduces itself as its model ("As GPT-4, ...", "I am Llama")."""
    for name in names:
        for template in _SELF_PATTERNS:
            pattern = template.format(name=re.escape(name)) + r"(?![A-Za-z])"
            if re.search(pattern, text, re.IGNORECASE):
                return True
    return False


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
    if choice not in CHOICES:
        raise ApiError(400, f"choice must be one of {', '.join(CHOICES)}")
    generations = generations_of(store, row)
    flagged = any(names_own_model(g.text, self_names(catalog, g.model)) for g in generations)
    try:
        with store.session() as session:
            session.add(
                Vote(
                    study_task_id=row.id,
                    study_id=row.study_id,
                    participant_id=row.participant_id,
                    kind="battle",
                    position=-1,
                    choice=choice,
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
    return Vote(choice=choice, self_identified=flagged)


def upvote(store: Store, catalog: Catalog, row: StudyTask, position: int) -> Vote:
    if row.mode != "named":
        raise ApiError(400, "upvotes are for named tasks; blind tasks use votes")
    generation = generation_at(store, row, position)
    flagged = names_own_model(generation.text, self_names(catalog, generation.model))
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
