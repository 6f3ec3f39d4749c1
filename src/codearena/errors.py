"""The one base of the errors a user can act on, and the exit status each gives the CLI.

A :class:`CodearenaError`'s message says what went wrong and what to do about it (the file and
line, the variable to set, the command to run); ``codearena``'s ``main`` prints it as one
``error: ...`` line on stderr (escaped with :func:`codearena.terminal.printable`) and exits with
its :attr:`~CodearenaError.exit_code`: :data:`BAD_INPUT` (2) for input, settings or a database
the user has to fix, :data:`FAILURE` (1) for work that was attempted and failed.

The domain errors derive from it (``ConfigError``, ``InputError``, ``StoreError``,
``StudyNotFound``, ``SuiteError``, ``CodingError``, ``StudyError``, ...), keeping the built-in base they had
(``ValueError``, ``LookupError``) so existing ``except`` clauses still match. ``sandbox/`` imports
nothing else of codearena, so its ``SandboxError`` is translated in the CLI layer instead.

This module imports nothing, so every module may use it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["BAD_INPUT", "FAILURE", "CodearenaError"]

BAD_INPUT: Final = 2
"""Exit status for input, settings or a database the user has to fix."""
FAILURE: Final = 1
"""Exit status for work that was attempted and failed."""


class CodearenaError(Exception):
    """An error whose message says what to do; ``exit_code`` is the CLI's exit status."""

    exit_code: int = BAD_INPUT

    def __init__(self, message: str = "", *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
