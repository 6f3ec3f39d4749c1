"""Tables of the researcher's side: votes and ratings imported from elsewhere, and open coding."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from codearena.store.models import Base, new_id, utcnow
from codearena.store.vocabulary import SideOrder, VoteValue


class ImportedVote(Base):
    """A pairwise vote collected elsewhere (``codearena votes import``)."""

    __tablename__ = "imported_votes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(300))  # the file name it came from
    line: Mapped[int] = mapped_column(Integer)
    model_a: Mapped[str] = mapped_column(String(200))
    model_b: Mapped[str] = mapped_column(String(200))
    winner: Mapped[VoteValue] = mapped_column(String(16))  # a, b, tie, both_bad
    participant: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodingCategory(Base):
    __tablename__ = "coding_categories"
    __table_args__ = (UniqueConstraint("study_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class CodingConcept(Base):
    __tablename__ = "coding_concepts"
    __table_args__ = (UniqueConstraint("study_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[str | None] = mapped_column(
        ForeignKey("coding_categories.id", ondelete="SET NULL")
    )


class CodingCode(Base):
    """A short code for free-text answers of one question (or ``comments`` for rating comments)."""

    __tablename__ = "coding_codes"
    __table_args__ = (UniqueConstraint("study_id", "question", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    concept_id: Mapped[str | None] = mapped_column(
        ForeignKey("coding_concepts.id", ondelete="SET NULL")
    )


class CodeAssignment(Base):
    """A code tagged on one free-text answer: a survey answer or a rating comment."""

    __tablename__ = "code_assignments"
    __table_args__ = (UniqueConstraint("code_id", "answer_kind", "answer_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code_id: Mapped[str] = mapped_column(
        ForeignKey("coding_codes.id", ondelete="CASCADE"), index=True
    )
    answer_kind: Mapped[str] = mapped_column(String(16))  # "survey" or "comment"
    answer_id: Mapped[str] = mapped_column(String(32), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportedRating(Base):
    """A 1-5 rating of one model's answer collected elsewhere (``codearena ratings import``):
    one row per participant, task, model and dimension."""

    __tablename__ = "imported_ratings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(300))  # the file name it came from
    line: Mapped[int] = mapped_column(Integer)
    participant: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    dimension: Mapped[str] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer)
    minutes_to_fix: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JudgeVerdict(Base):
    """An LLM judge's verdict on one stored battle (``codearena judge``), in one order of the two
    sides and with or without their execution results; ``verdict`` is in the vote's own A/B
    (already un-swapped for order ``ba``), None when the judge's reply had no verdict line. The
    call itself is the generation (text, tokens, cost)."""

    __tablename__ = "judge_verdicts"
    __table_args__ = (UniqueConstraint("vote_id", "judge", "side_order", "with_execution"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    vote_id: Mapped[str] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"), index=True)
    judge: Mapped[str] = mapped_column(String(200))
    side_order: Mapped[SideOrder] = mapped_column(String(2))
    with_execution: Mapped[bool] = mapped_column(Boolean)
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    verdict: Mapped[VoteValue | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
