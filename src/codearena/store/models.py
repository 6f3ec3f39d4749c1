"""Tables of the store (SQLAlchemy 2 declarative models)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Task(Base):
    """One natural-language coding task with the options it was sent with."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    prompt: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16), default="study")
    requirement: Mapped[str | None] = mapped_column(String(64))
    tone: Mapped[str | None] = mapped_column(String(32))
    output_language: Mapped[str | None] = mapped_column(String(64))
    temperature: Mapped[float | None] = mapped_column(Float)
    messages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="cli")
    category: Mapped[str | None] = mapped_column(String(64))
    tests: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    generations: Mapped[list[Generation]] = relationship(
        back_populates="task", order_by="Generation.position", cascade="all, delete-orphan"
    )


class Generation(Base):
    """One model's answer to a task, with every figure measured for the call."""

    __tablename__ = "generations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str] = mapped_column(String(200), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(64))
    served_model: Mapped[str | None] = mapped_column(String(200))
    upstream_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    text: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[list[Any]] = mapped_column(JSON, default=list)
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    tokens_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    cost_source: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    task: Mapped[Task] = relationship(back_populates="generations")


class CatalogModel(Base):
    """A model learnt from a provider listing (prices in USD per million tokens)."""

    __tablename__ = "catalog_models"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(64))
    upstream_id: Mapped[str] = mapped_column(String(200))
    context_length: Mapped[int | None] = mapped_column(Integer)
    price_input_per_m: Mapped[float | None] = mapped_column(Float)
    price_output_per_m: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="synced")
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
