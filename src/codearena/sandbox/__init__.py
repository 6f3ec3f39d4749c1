"""Isolated execution of generated code: ``get_sandbox("bwrap").run(program, "python")``.

This package never imports ``codearena.store``, ``codearena.web`` or ``codearena.gateway``.
"""

from .bwrap import BwrapSandbox
from .languages import LANGUAGES, Language, language_for_path, normalize_language
from .registry import available_backends, get_sandbox, register_backend
from .testing import TestSpec, run_tests
from .types import (
    Artifact,
    ExecResult,
    Limits,
    Sandbox,
    SandboxError,
    SandboxUnavailable,
    UnsupportedLanguage,
    Verdict,
)
from .unisolated import UnisolatedSandbox

__all__ = [
    "LANGUAGES",
    "Artifact",
    "BwrapSandbox",
    "ExecResult",
    "Language",
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailable",
    "TestSpec",
    "UnisolatedSandbox",
    "UnsupportedLanguage",
    "Verdict",
    "available_backends",
    "get_sandbox",
    "language_for_path",
    "normalize_language",
    "register_backend",
    "run_tests",
]
