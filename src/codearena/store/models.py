"""Tables of the store (SQLAlchemy 2 declarative models)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from codearena.store.vocabulary import BenchRunStatus, GenerationKind, GenerationStatus


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
    prompt_style: Mapped[str] = mapped_column(String(16), default="study")
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
    """One model's answer to a task, with every figure measured for the call.

    A conversation is a chain of generations of one model at one position of a task: turn 1 is
    the ``answer``; each later turn (``follow_up`` or ``repair``) has its ``parent_id`` (the
    previous turn) and the user message that asked for it in ``prompt``. The messages a turn
    was sent are the task's messages followed by every earlier turn's answer and prompt."""

    __tablename__ = "generations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str] = mapped_column(String(200), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(64))
    served_model: Mapped[str | None] = mapped_column(String(200))
    upstream_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[GenerationStatus] = mapped_column(String(16), default="pending")
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
    turn: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("generations.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[GenerationKind] = mapped_column(
        String(16), default="answer", server_default="answer"
    )
    prompt: Mapped[str | None] = mapped_column(Text)
    tool_calls: Mapped[list[Any] | None] = mapped_column(JSON)  # OpenAI's message.tool_calls

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


class Execution(Base):
    """One sandbox run of a generation's code (against the task's tests when it has any)."""

    __tablename__ = "executions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    generation_id: Mapped[str] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    block_index: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(32))
    test_kind: Mapped[str | None] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16), index=True)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    signal: Mapped[int | None] = mapped_column(Integer)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[float | None] = mapped_column(Float)
    tests_passed: Mapped[int | None] = mapped_column(Integer)
    tests_total: Mapped[int | None] = mapped_column(Integer)
    backend: Mapped[str] = mapped_column(String(32))
    details: Mapped[list[Any] | None] = mapped_column(JSON)  # per test or example
    isolated: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(16), default="cli")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExecutionArtifact(Base):
    """An image a run wrote (``codearena.sandbox.artifacts``): kept, with its data, or listed with
    the note that says why it was not (too large, over the count, not really an image)."""

    __tablename__ = "execution_artifacts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    data_base64: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodeMetrics(Base):
    """Static measurements of one generation's code, comparable across models."""

    __tablename__ = "code_metrics"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    generation_id: Mapped[str] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(32))
    lines: Mapped[int] = mapped_column(Integer, default=0)
    lint_count: Mapped[int] = mapped_column(Integer, default=0)
    security_count: Mapped[int] = mapped_column(Integer, default=0)
    syntax_ok: Mapped[bool | None] = mapped_column(Boolean)
    complexity_max: Mapped[float | None] = mapped_column(Float)
    complexity_mean: Mapped[float | None] = mapped_column(Float)
    findings_per_100_lines: Mapped[float | None] = mapped_column(Float)
    lint_by_rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Finding(Base):
    """One lint or security finding in a generation's code."""

    __tablename__ = "findings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    generation_id: Mapped[str] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), index=True
    )
    tool: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[str | None] = mapped_column(String(16))
    cwe: Mapped[int | None] = mapped_column(Integer)
    line: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")


class BenchRun(Base):
    """A batch benchmark: a suite, models and samples; resumable."""

    __tablename__ = "bench_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    suite: Mapped[str] = mapped_column(String(200))
    models: Mapped[list[Any]] = mapped_column(JSON, default=list)
    samples: Mapped[int] = mapped_column(Integer, default=1)
    temperature: Mapped[float | None] = mapped_column(Float)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[BenchRunStatus] = mapped_column(String(16), default="running")


class BenchItem(Base):
    """One (problem, model, sample) of a run, linked to its generation and execution.

    ``passed`` is the first answer's verdict (what pass@k counts). With repair rounds,
    ``generation_id`` and ``execution_id`` follow the item's latest round (``round``; the
    execution is cleared when a new round's answer arrives) and ``passed_at_round`` is the
    first round whose answer passed (None while none has)."""

    __tablename__ = "bench_items"
    __table_args__ = (UniqueConstraint("run_id", "problem_id", "model", "sample"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("bench_runs.id", ondelete="CASCADE"), index=True)
    problem_id: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    sample: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    generation_id: Mapped[str | None] = mapped_column(
        ForeignKey("generations.id", ondelete="SET NULL")
    )
    execution_id: Mapped[str | None] = mapped_column(
        ForeignKey("executions.id", ondelete="SET NULL")
    )
    passed: Mapped[bool | None] = mapped_column(Boolean)
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    passed_at_round: Mapped[int | None] = mapped_column(Integer)
