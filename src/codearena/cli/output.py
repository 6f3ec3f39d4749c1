"""Printing shared by the commands: JSON on stdout, untrusted text for Rich, the two consoles.

Rich is imported on the first call, not when a command module is imported, so ``--json``
output and ``--help`` do not pay for what they do not use.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from codearena.terminal import escape_json, printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


def print_json(value: Any, *, ensure_ascii: bool = False) -> None:
    """``value`` as indented JSON on stdout; unsafe characters inside strings as ``\\uXXXX``
    escapes (``codearena.terminal.escape_json``), so it decodes to the same value."""
    dumped = json.dumps(value, indent=2, ensure_ascii=ensure_ascii, default=str)
    sys.stdout.write(escape_json(dumped) + "\n")


def shown(value: object, style: str = "") -> Text:
    """Text from outside (a store, a model listing, an answer) for Rich: control characters
    escaped (``codearena.terminal``), never read as markup or emoji codes."""
    from rich.text import Text

    return Text(printable(str(value)), style=style)


def fmt(value: object) -> str:
    """A table cell: ``-`` for nothing."""
    return "-" if value is None else str(value)


@cache
def out() -> Console:
    """The console for results (stdout)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@cache
def err() -> Console:
    """The console for progress and notes (stderr)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)
