"""``check_code``: static findings for one snippet, dispatched by language."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from codearena.sandbox.languages import normalize_language
from codearena.sandbox.types import UnsupportedLanguage

from .javascript import check_javascript
from .python import check_python_many
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
    return check_many([(source, language)])[0]


def check_many(snippets: Sequence[tuple[str, str | None]]) -> list[CheckReport]:
    """``check_code`` of each ``(source, language)``, in order; the Python snippets share one
    ruff process and one bandit manager (a ruff start costs more than checking a snippet)."""
    languages = [canonical_language(language) for _, language in snippets]
    python = [i for i, lang in enumerate(languages) if lang == "python"]
    reports: dict[int, CheckReport] = dict(
        zip(python, check_python_many([snippets[i][0] for i in python]), strict=True)
    )
    for i, ((source, _), lang) in enumerate(zip(snippets, languages, strict=True)):
        if lang == "javascript":
            reports[i] = check_javascript(source)
        elif lang != "python":
            reports[i] = CheckReport(lang, count_lines(source), [], None, None, None)
    return [reports[i] for i in range(len(snippets))]


async def acheck_code(source: str, language: str | None) -> CheckReport:
    """``check_code`` in a worker thread, for async callers."""
    return await asyncio.to_thread(check_code, source, language)


async def acheck_many(snippets: Sequence[tuple[str, str | None]]) -> list[CheckReport]:
    """``check_many`` in a worker thread, for async callers."""
    return await asyncio.to_thread(check_many, snippets)
