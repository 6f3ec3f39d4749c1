"""Tables of the web platform: accounts, studies, participants, and what participants give.

They live on the store's ``Base``; the pipeline's own tables (``tasks``, ``generations``,
``executions``) are linked to studies and participants here rather than altered.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from codearena.store.models import Base, new_id, utcnow
from codearena.store.vocabulary import (
    FixOutcome,
    Pairing,
    StudyDesign,
    StudyStatus,
    StudyTaskStatus,
    VoteValue,
)


def participant_id() -> str:
    """An anonymous participant id, the only one used in analysis and exports."""
    return "P-" + secrets.token_hex(5).upper()


class WebUser(Base):
    """An admin or a researcher (participants join through invites instead)."""

    __tablename__ = "web_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Study(Base):
    __tablename__ = "studies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    consent_text: Mapped[str] = mapped_column(Text, default="")
    models: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mode: Mapped[str] = mapped_column(String(16))
    prompt_options: Mapped[list[Any]] = mapped_column(JSON, default=list)
    survey_name: Mapped[str] = mapped_column(String(200))
    survey: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    budget_tasks: Mapped[int | None] = mapped_column(Integer)
    budget_usd: Mapped[float | None] = mapped_column(Float)
    spend_cap_usd: Mapped[float | None] = mapped_column(Float)  # the whole study's generations
    status: Mapped[StudyStatus] = mapped_column(String(16), default="open")
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("web_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # blind battles: "uniform" (fewest battles first) or "adaptive" (stats.pairing)
    pairing: Mapped[Pairing] = mapped_column(
        String(16), default="uniform", server_default="uniform"
    )
    # "open" (participants write their tasks), "crossover" or "between" (studies.designs)
    design: Mapped[StudyDesign] = mapped_column(String(16), default="open", server_default="open")
    design_seed: Mapped[int | None] = mapped_column(Integer)
    tasks_per_participant: Mapped[int | None] = mapped_column(Integer)


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=participant_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16), default="platform")  # or "import"
    email: Mapped[str | None] = mapped_column(String(320))
    consented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    survey_completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudyInvite(Base):
    """A single-use invite: the link's token is shown once, the table keeps only its SHA-256;
    ``participant_id`` is set by the one join it allows."""

    __tablename__ = "study_invites"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    participant_id: Mapped[str | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its hash."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"))
    participant_id: Mapped[str | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StudyTask(Base):
    """A participant's task in a study: which model sits at which position, and its state."""

    __tablename__ = "study_tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), index=True
    )
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    mode: Mapped[str] = mapped_column(String(16))
    models: Mapped[list[Any]] = mapped_column(JSON, default=list)
    prompt: Mapped[str] = mapped_column(Text)
    tests: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[StudyTaskStatus] = mapped_column(String(16), default="running")
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    design_item: Mapped[str | None] = mapped_column(String(200))  # the task file's id


class Rating(Base):
    """A participant's ratings of one answer (1-5 per dimension, minutes to make it usable):
    the answer at ``position`` and ``turn`` of its conversation (1 = the first answer; 2, ...
    a follow-up or repair round), whose generation is ``generation_id``."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("study_task_id", "position", "turn", name="uq_ratings_answer_turn"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_task_id: Mapped[str] = mapped_column(
        ForeignKey("study_tasks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    generation_id: Mapped[str | None] = mapped_column(
        ForeignKey("generations.id", ondelete="SET NULL")
    )
    participant_id: Mapped[str] = mapped_column(String(16), index=True)
    model: Mapped[str] = mapped_column(String(200))
    turn: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    correctness: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[int | None] = mapped_column(Integer)
    usefulness: Mapped[int | None] = mapped_column(Integer)
    minutes_to_usable: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Vote(Base):
    """A blind battle's outcome (``a``, ``b``, ``tie``, ``both_bad``; see store/vocabulary.py) or a
    named-mode upvote.

    ``self_identified`` is set when an answer the vote concerns names its own model, so that
    analysis can exclude the vote. ``turn``: an upvote's answer is at ``position`` and ``turn``
    of its conversation; a battle is always 1 (it is about the whole conversation, once per
    task; ``turns_seen`` says how far it had gone).
    """

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("study_task_id", "kind", "position", "turn", name="uq_votes_answer_turn"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_task_id: Mapped[str] = mapped_column(
        ForeignKey("study_tasks.id", ondelete="CASCADE"), index=True
    )
    study_id: Mapped[str] = mapped_column(String(32), index=True)
    participant_id: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "battle" or "upvote"
    position: Mapped[int] = mapped_column(Integer, default=-1)  # upvote: the answer; battle: -1
    choice: Mapped[VoteValue | None] = mapped_column(String(16))
    model_a: Mapped[str | None] = mapped_column(String(200))
    model_b: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    self_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    # a battle: how many turns of the conversation the participant had seen (1 = the answer)
    turns_seen: Mapped[int | None] = mapped_column(Integer)
    turn: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("participant_id", "question_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    raw: Mapped[str | None] = mapped_column(Text)  # an imported answer's text as it was written
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudyExecution(Base):
    """Who ran an execution, from which study task (the execution row itself is the pipeline's)."""

    __tablename__ = "study_executions"

    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    study_task_id: Mapped[str] = mapped_column(
        ForeignKey("study_tasks.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[str] = mapped_column(String(16), index=True)
    position: Mapped[int] = mapped_column(Integer)


class Fix(Base):
    """A participant's attempt at fixing one answer's code by hand (the task page's fix editor).

    One attempt per participant and answer (``generation_id``); ``outcome`` is null while it is
    open, then ``done`` or ``abandoned``. ``active_seconds`` adds up the gaps between the
    attempt's activity events (opening, input pings, runs, the end) that are at most
    ``studies.fixes.IDLE_GAP_S`` (60 s); a longer gap counts nothing. ``lines_added`` and
    ``lines_removed`` compare ``final_code`` with the generated block (``block_index`` of
    ``generations.code``). Keystrokes are not stored. ``study_task_id``, ``block_index`` and
    ``last_activity_at`` are internal (not exported; an imported attempt has them null or 0).
    """

    __tablename__ = "fixes"
    __table_args__ = (UniqueConstraint("generation_id", "participant"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    generation_id: Mapped[str] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), index=True
    )
    participant: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    study_task_id: Mapped[str | None] = mapped_column(
        ForeignKey("study_tasks.id", ondelete="SET NULL"), index=True
    )
    block_index: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    verdict: Mapped[str | None] = mapped_column(String(16))  # of the last run
    outcome: Mapped[FixOutcome | None] = mapped_column(String(16))
    lines_added: Mapped[int | None] = mapped_column(Integer)
    lines_removed: Mapped[int | None] = mapped_column(Integer)
    final_code: Mapped[str | None] = mapped_column(Text)


class PlatformSecret(Base):
    """Secrets the platform generates for itself (the invite-signing key), never API keys."""

    __tablename__ = "platform_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class DesignTask(Base):
    """A task of a controlled study's task file (``study create --tasks``), in the file's order;
    ``tests`` in the stored form of ``testspecs``."""

    __tablename__ = "design_tasks"
    __table_args__ = (UniqueConstraint("study_id", "key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(32))
    tests: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DesignAssignment(Base):
    """A participant's schedule in a controlled study (``studies.designs.assign`` of the study's
    design and seed for the participant's slot, stored whole when they join): ``items`` is a
    list of ``[task key, [model, ...]]`` in order; ``condition`` the ``between`` design's model or
    pair."""

    __tablename__ = "design_assignments"
    __table_args__ = (UniqueConstraint("study_id", "slot"),)

    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    condition: Mapped[list[Any] | None] = mapped_column(JSON)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
