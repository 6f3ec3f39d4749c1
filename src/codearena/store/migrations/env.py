"""Alembic environment: runs against the engine handed over by codearena.store.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import codearena.store.platform_models
import codearena.store.research_models  # noqa: F401
from codearena.store.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `codearena db upgrade`")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
