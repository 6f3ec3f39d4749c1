"""``check_code``: static findings for one snippet, dispatched by language."""

from __future__ import annotations

import asyncio

from codearena.sandbox.languages import normalize_language
from codearena.sandbox.types import UnsupportedLanguage

from .javascript import check_javascript
from .python import check_python
from .types import CheckReport, count_lines


def canonical_language(language: str | None) -> str | None:
    """``py`` -> ``python``, ``js`` -> ``javascript``; unknown tags are kept, lower-cased."""
    if language is None or not language.strip():
        return None
    try:
        return normalize_language(language)
    except UnsupportedLanguage:
        return language.strip().lower()


def check_code(source: str, language: str | None) -> CheckReport:
    """Lint, security findings and complexity (Python), a syntax check (JavaScript), or only
    the line count (other languages). The code is parsed, never executed.

    Raises ChecksUnavailable when a needed checker is not installed; a checker failing on this
    particular snippet becomes a ``tool_error`` finding instead.
    """
    lang = canonical_language(language)
    if lang == "python":
        return check_python(source)
    if lang == "javascript":
        return check_javascript(source)
    return CheckReport(lang, count_lines(source), [], None, None, None)


async def acheck_code(source: str, language: str | None) -> CheckReport:
    """``check_code`` in a worker thread, for async callers."""
    return await asyncio.to_thread(check_code, source, language)
