"""Web fixtures of the coding tests: the platform's app with the coding router mounted."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from codearena.pipeline import Context
from codearena.web.app import create_app
from codearena.web.coding import router
from codearena.web.limits import PlatformLimits
from tests.web.conftest import arena, context  # noqa: F401  (fixtures reused as they are)


@pytest.fixture
def app(context: Context) -> FastAPI:  # noqa: F811
    app = create_app(context, limits=PlatformLimits(tasks_per_minute=1000, running_tasks=50))
    app.include_router(router)
    return app
