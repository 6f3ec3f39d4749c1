"""Named sandbox backends: ``get_sandbox("bwrap")``; plugins register the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .types import Sandbox, SandboxError

SandboxFactory = Callable[..., Sandbox]
_BACKENDS: dict[str, SandboxFactory] = {}


def register_backend(name: str, factory: SandboxFactory) -> None:
    """Make ``factory(**options)`` available as ``get_sandbox(name, **options)``."""
    _BACKENDS[name] = factory


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def get_sandbox(name: str = "bwrap", **options: Any) -> Sandbox:
    """A backend by name. ``bwrap`` and ``gvisor`` check that isolation works here and raise
    SandboxUnavailable (with the fix) when it does not."""
    try:
        factory = _BACKENDS[name]
    except KeyError:
        raise SandboxError(
            f"unknown sandbox backend {name!r}; available: {', '.join(available_backends())}"
        ) from None
    sandbox = factory(**options)
    check = getattr(sandbox, "check_available", None)
    if callable(check):
        check()
    return sandbox


def _register_builtins() -> None:
    from .bwrap import BwrapSandbox
    from .gvisor import GvisorSandbox
    from .unisolated import UnisolatedSandbox

    register_backend("bwrap", BwrapSandbox)
    register_backend("gvisor", GvisorSandbox)
    register_backend("unisolated", UnisolatedSandbox)


_register_builtins()
