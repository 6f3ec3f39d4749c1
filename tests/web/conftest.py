"""Fixtures of the web platform: an app on the fake upstream, API clients per role, a server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from codearena.catalog import Catalog
from codearena.config import Settings
from codearena.pipeline import Context
from codearena.store import Store
from codearena.studies.invites import invite_token, platform_secret
from codearena.studies.study import StudySpec, create_study
from codearena.web.app import create_app
from codearena.web.auth import create_user
from codearena.web.limits import PlatformLimits
from tests.conftest import unique

PASSWORD = "correct horse battery"


@pytest.fixture
def context(settings: Settings) -> Iterator[Context]:
    store = Store(settings.database_url)
    yield Context(settings, store, Catalog(settings))
    store.dispose()


@pytest.fixture
def app(context: Context) -> FastAPI:
    return create_app(context, limits=PlatformLimits(tasks_per_minute=1000, running_tasks=50))


@dataclass
class Client:
    """An httpx client over ASGI with the CSRF header of its browser."""

    http: httpx.AsyncClient
    csrf: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    async def refresh(self) -> None:
        response = await self.http.get("/api/session")
        self.csrf = response.json()["csrf_token"]
        self.http.headers["X-CSRF-Token"] = self.csrf

    async def get(self, url: str) -> httpx.Response:
        return await self.http.get(url)

    async def post(self, url: str, json: Any = None) -> httpx.Response:
        return await self.http.post(url, json=json)

    async def put(self, url: str, json: Any = None) -> httpx.Response:
        return await self.http.put(url, json=json)


class Arena:
    """Makes users, studies and participants against one in-process app."""

    def __init__(self, app: FastAPI, context: Context) -> None:
        self.app, self.context = app, context
        self.clients: list[httpx.AsyncClient] = []

    async def client(self) -> Client:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver"
        )
        self.clients.append(http)
        client = Client(http)
        await client.refresh()
        return client

    async def staff(self, role: str = "researcher") -> Client:
        email = f"{role}-{unique('x')[-8:]}@example.org"
        create_user(self.context.store, email, role, PASSWORD)
        client = await self.client()
        response = await client.post("/api/login", {"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        client.info["email"] = email
        return client

    def study(self, models: list[str], mode: str = "named", **fields: Any) -> str:
        spec = StudySpec(name=f"study {mode}", models=models, mode=mode, **fields)
        return create_study(self.context.store, self.context.catalog, spec).id

    def token(self, study_id: str) -> str:
        return invite_token(platform_secret(self.context.store), study_id)

    async def participant(self, study_id: str, consent: bool = True) -> Client:
        client = await self.client()
        response = await client.post(f"/api/join/{self.token(study_id)}", {"pseudonym": "ada"})
        assert response.status_code == 201, response.text
        client.info["participant_id"] = response.json()["participant_id"]
        if consent:
            assert (await client.post("/api/consent")).status_code == 200
        return client

    async def finish(self, client: Client, task_id: str) -> dict[str, Any]:
        """Wait (by polling, no wall-clock assertion) until every answer is in."""
        for _ in range(2000):
            view = (await client.get(f"/api/tasks/{task_id}")).json()
            if view["complete"]:
                return dict(view)
            await asyncio.sleep(0.01)
        raise AssertionError("the task did not finish")


@pytest.fixture
async def arena(app: FastAPI, context: Context) -> AsyncIterator[Arena]:
    async with app.router.lifespan_context(app):
        arena = Arena(app, context)
        yield arena
        for http in arena.clients:
            await http.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    context: Context
    app: FastAPI


@pytest.fixture
def live_server(context: Context) -> Iterator[LiveServer]:
    """The platform served by uvicorn in a thread, for the browser."""
    app = create_app(context, limits=PlatformLimits(tasks_per_minute=1000, running_tasks=50))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the web server did not start")
    yield LiveServer(f"http://127.0.0.1:{port}", context, app)
    server.should_exit = True
    thread.join(timeout=15)


SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
