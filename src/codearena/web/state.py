"""The platform's shared state: context, gateway, live tasks, limits, secret, sandbox."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment

from codearena.config import SandboxSettings
from codearena.gateway import Gateway
from codearena.pipeline import Context
from codearena.sandbox import Sandbox
from codearena.web.limits import PlatformLimits, RateLimiter
from codearena.web.streams import TaskHub

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass
class Platform:
    context: Context
    secret: str
    limits: PlatformLimits
    sandbox_factory: Callable[[], Sandbox]
    templates: Environment
    gateway: Gateway | None = None
    # the OpenAI-compatible endpoint's: the providers' limits raised to [web] api_concurrency
    api_gateway: Gateway | None = None
    hub: TaskHub = field(default_factory=TaskHub)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    # the server's clock for measured times (a fix attempt's activity); tests replace it
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def public_base(self, request: Request) -> str:
        """The address for links people open elsewhere (invites): ``[web] public_url`` /
        ``CODEARENA_PUBLIC_URL`` / ``serve --public-url``, else the one the request came in on."""
        return self.context.settings.web.public_url or str(request.base_url)

    @property
    def joins_per_minute(self) -> int:
        """Joins allowed per client address a minute: ``[web] joins_per_minute``, else the
        platform's limits (20)."""
        configured = self.context.settings.web.joins_per_minute
        return configured if configured is not None else self.limits.joins_per_minute

    def require_gateway(self) -> Gateway:
        if self.gateway is None:
            raise RuntimeError("the gateway is opened by the app's lifespan")
        return self.gateway

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine owned by the app: a closed browser tab does not cancel it."""
        task = asyncio.create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


class SharedSandbox:
    """The platform's one sandbox, built on first use from the ``[sandbox]`` configuration
    exactly as the CLI builds its own (``sandboxes.open_sandbox``), kept for the app's lifetime
    (so Python runs reuse one warm fork server) and closed with it."""

    def __init__(self, settings: SandboxSettings) -> None:
        self._settings = settings
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Sandbox:
        with self._lock:
            if self._sandbox is None:
                from codearena.sandboxes import open_sandbox

                self._sandbox = open_sandbox(self._settings)
            return self._sandbox

    def close(self) -> None:
        with self._lock:
            sandbox, self._sandbox = self._sandbox, None
        close = getattr(sandbox, "close", None)
        if callable(close):
            close()


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform
