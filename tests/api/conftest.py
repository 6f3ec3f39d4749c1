"""The platform served by uvicorn on a loopback port, the fake upstream behind it, and an
account with API tokens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
import uvicorn
from fastapi import FastAPI

from codearena.asgi.access_log import logging_config
from codearena.catalog import Catalog
from codearena.config import Settings
from codearena.openai_api.tokens import create_token
from codearena.pipeline import Context
from codearena.store import Store
from codearena.web.app import create_app
from codearena.web.auth import create_user
from codearena.web.limits import PlatformLimits
from tests.conftest import fast, unique

PASSWORD = "correct horse battery"


@dataclass
class Server:
    url: str
    context: Context
    email: str
    app: FastAPI
    clients: list[openai.OpenAI] = field(default_factory=list)

    def sdk(self, token: str) -> openai.OpenAI:
        """The official client on this server (no retries of its own; closed after the test)."""
        client = openai.OpenAI(base_url=self.v1, api_key=token, max_retries=0)
        self.clients.append(client)
        return client

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def settle(self) -> None:
        """Wait until every request to the endpoint has been answered and recorded (a call's
        finished row is written just after its answer has gone), and no token is being read
        again."""
        service = self.app.state.openai_api
        for _ in range(2000):  # polling, no wall-clock assertion
            if service.in_flight == 0 and not service.refreshes:
                return
            time.sleep(0.005)
        pytest.fail(f"{service.in_flight} requests to the endpoint never finished")

    def token(self, **limits: Any) -> tuple[str, str]:
        """``(token, id)`` of a new token of the account."""
        token, row = create_token(self.context.store, self.email, **limits)
        return token, row.id


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    settings = fast(settings, max_retries=0)  # upstream 429s are answered, not waited for
    store = Store(settings.database_url)
    context = Context(settings, store, Catalog(settings))
    email = f"api-{unique('x')[-8:]}@example.org"
    create_user(store, email, "researcher", PASSWORD)
    app = create_app(context, limits=PlatformLimits(tasks_per_minute=1000, running_tasks=50))
    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=logging_config(),  # as `codearena serve` runs it: the app's access log
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.025)
    else:
        pytest.fail("the web server did not start")
    running = Server(f"http://127.0.0.1:{port}", context, email, app)
    yield running
    for client in running.clients:
        client.close()
    server.should_exit = True
    thread.join(timeout=15)
    store.dispose()
