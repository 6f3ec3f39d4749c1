"""The configured sandbox: the one place a front door (``generate``, ``bench``, ``sandbox run``,
the web app) turns ``[sandbox]`` settings into a backend. It imports the settings and the
sandbox package only, so ``codearena sandbox run`` starts without the store."""

from __future__ import annotations

from codearena.config import SandboxSettings
from codearena.sandbox import Sandbox, get_sandbox


def open_sandbox(settings: SandboxSettings, backend: str | None = None) -> Sandbox:
    """The configured backend (``bwrap`` unless ``[sandbox] backend`` or ``backend`` says else)."""
    name = backend or settings.backend
    if name in ("bwrap", "gvisor") and settings.python_paths:
        return get_sandbox(name, python_paths=list(settings.python_paths))
    return get_sandbox(name)
