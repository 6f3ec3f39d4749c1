"""Fixtures of the dashboard tests: the platform's app with the dashboard router mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from codearena.pipeline import Context
from codearena.web.app import create_app
from codearena.web.dashboard import router
from tests.web.conftest import Arena, context

__all__ = ["context"]


@pytest.fixture
def dash_app(context: Context) -> FastAPI:
    app = create_app(context)
    app.include_router(router)
    return app


@pytest.fixture
async def dash_arena(dash_app: FastAPI, context: Context) -> AsyncIterator[Arena]:
    async with dash_app.router.lifespan_context(dash_app):
        arena = Arena(dash_app, context)
        yield arena
        for http in arena.clients:
            await http.aclose()
