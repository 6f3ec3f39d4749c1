"""Static checks of Python snippets: syntax (``compile``), ruff lint, bandit security, complexity.

The snippet is parsed and compiled to bytecode but never executed or imported: ruff and bandit
read a temporary copy (one process and one manager for a batch of snippets), and the complexity walk only reads the ``ast``.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .complexity import complexity_summary
from .types import CheckReport, ChecksUnavailable, Finding, count_lines

#: The fixed ruff rule selection: pycodestyle errors and warnings, pyflakes, bugbear,
#: comprehensions, simplify, pyupgrade. Security rules (S) are left to bandit and complexity
#: (C90) to ``complexity.py``, so nothing is counted twice. Changing this changes every count.
RUFF_RULES: tuple[str, ...] = ("E", "W", "F", "B", "C4", "SIM", "UP")
RUFF_TARGET_VERSION = "py311"
RUFF_LINE_LENGTH = 100
#: bandit tests not run: B101 (assert_used) would penalise answers that ship assert-based tests.
BANDIT_SKIPPED_TESTS: tuple[str, ...] = ("B101",)
TOOL_TIMEOUT_S = 60.0

# compile() and bandit emit SyntaxWarnings that we silence; ``warnings.catch_warnings`` swaps
# process-wide state, so silenced sections run one at a time (they hold the GIL anyway).
_WARNINGS_LOCK = threading.Lock()


def ruff_executable() -> str:
    """The ruff binary of this environment; raises ChecksUnavailable when ruff is missing."""
    beside = Path(sys.executable).parent / ("ruff.exe" if os.name == "nt" else "ruff")
    if beside.is_file():
        return str(beside)
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped,import-not-found,unused-ignore]

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("ruff")
    if found is None:
        raise ChecksUnavailable("ruff is not installed: pip install ruff")
    return found


@functools.cache
def _ruff_version(executable: str) -> str:
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.strip().removeprefix("ruff ").strip() or "unknown"


def _bandit_modules() -> tuple[Any, Any, str]:
    try:
        # bandit's plugin loader passes stevedore a deprecated argument at import time.
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import bandit  # type: ignore[import-untyped]
            from bandit.core import config, manager  # type: ignore[import-untyped]
    except ImportError:
        raise ChecksUnavailable("bandit is not installed: pip install bandit") from None
    return config, manager, str(getattr(bandit, "__version__", "unknown"))


def tool_versions() -> dict[str, str]:
    """Versions of ruff and bandit (raises ChecksUnavailable if either is missing)."""
    return {"ruff": _ruff_version(ruff_executable()), "bandit": _bandit_modules()[2]}


def syntax_finding(source: str) -> Finding | None:
    """None if ``source`` compiles; else one syntax Finding. Compiles only, never runs."""
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "snippet.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        message = f"{type(exc).__name__}: {exc.msg}"
        return Finding("python", "syntax", "syntax", None, None, None, exc.lineno, message)
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        message = f"{type(exc).__name__}: {exc}"
        return Finding("python", "syntax", "syntax", None, None, None, None, message)
    return None


def ruff_findings(source: str) -> list[Finding]:
    """Lint findings of the pinned ``RUFF_RULES``; ``# noqa`` comments are not honoured."""
    return ruff_findings_many([source])[0]


def ruff_findings_many(sources: Sequence[str]) -> list[list[Finding]]:
    """Lint findings of each snippet, from one ruff process over one file per snippet (a ruff
    start costs more than checking a snippet). A failure of the tool gives every snippet one
    ``tool_error`` finding."""
    if not sources:
        return []
    command = [
        ruff_executable(),
        "check",
        "--output-format",
        "json",
        "--no-cache",
        "--isolated",
        "--ignore-noqa",
        "--no-fix",
        "--no-preview",
        "--target-version",
        RUFF_TARGET_VERSION,
        "--line-length",
        str(RUFF_LINE_LENGTH),
        "--select",
        ",".join(RUFF_RULES),
        "--",
    ]
    found: list[list[Finding]] = [[] for _ in sources]
    try:
        with tempfile.TemporaryDirectory(prefix="codearena-ruff-") as tmp:
            paths = [_snippet_file(Path(tmp), i, source) for i, source in enumerate(sources)]
            index_of = {str(path): i for i, path in enumerate(paths)}
            proc = subprocess.run(
                [*command, *map(str, paths)],
                capture_output=True,
                timeout=TOOL_TIMEOUT_S * max(1, len(sources) // 50 + 1),
                cwd=tmp,
            )
        if proc.returncode not in (0, 1):
            raise ValueError(proc.stderr.decode("utf-8", "replace").strip()[:500])
        for item in json.loads(proc.stdout):
            code = item.get("code")
            if not code or code in ("invalid-syntax", "E999"):  # syntax: reported by compile()
                continue
            where = index_of.get(str(item.get("filename")))
            if where is None:
                raise ValueError(f"ruff reported an unknown file {item.get('filename')!r}")
            line = (item.get("location") or {}).get("row")
            found[where].append(
                Finding("ruff", "lint", code, None, None, None, line, item["message"])
            )
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return [[_tool_error("ruff", exc)] for _ in sources]
    return [sorted(findings, key=lambda f: (f.line or 0, f.rule)) for findings in found]


def _snippet_file(folder: Path, index: int, source: str) -> Path:
    """``snippet.py`` in a folder of its own, so that every snippet has the name one alone
    would have (rules may look at the file name)."""
    path = folder / str(index) / "snippet.py"
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8", errors="surrogateescape")
    return path


def bandit_findings(source: str) -> list[Finding]:
    """Security findings of bandit's default tests (minus ``BANDIT_SKIPPED_TESTS``).

    ``# nosec`` comments are not honoured: a model cannot hide its own findings.
    """
    return bandit_findings_many([source])[0]


def bandit_findings_many(sources: Sequence[str]) -> list[list[Finding]]:
    """``bandit_findings`` of each snippet, from one bandit manager over one file per snippet."""
    if not sources:
        return []
    config, manager, _ = _bandit_modules()
    try:
        with tempfile.TemporaryDirectory(prefix="codearena-checks-") as tmp:
            paths = [str(_snippet_file(Path(tmp), i, source)) for i, source in enumerate(sources)]
            with _WARNINGS_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mgr = manager.BanditManager(
                    config.BanditConfig(),
                    "file",
                    quiet=True,
                    profile={"exclude": list(BANDIT_SKIPPED_TESTS)},
                    ignore_nosec=True,
                )
                mgr.discover_files(paths)
                mgr.run_tests()
            issues = list(mgr.get_issue_list())
            skipped = list(mgr.skipped)
    except Exception as exc:  # bandit must never take the caller down
        return [[_tool_error("bandit", exc)] for _ in sources]
    results: dict[str, list[Finding]] = {path: [] for path in paths}
    for name, reason in skipped:
        results[str(name)] = [_tool_error("bandit", RuntimeError(str(reason)))]
    failed = {str(name) for name, _ in skipped}
    for issue in issues:
        if str(issue.fname) in failed:
            continue
        if str(issue.fname) not in results:
            unknown = RuntimeError(f"bandit reported an unknown file {issue.fname!r}")
            return [[_tool_error("bandit", unknown)] for _ in sources]
        cwe = getattr(getattr(issue, "cwe", None), "id", None)
        results[str(issue.fname)].append(
            Finding(
                "bandit",
                "security",
                str(issue.test_id),
                str(issue.severity),
                str(issue.confidence),
                int(cwe) if cwe else None,
                int(issue.lineno) if issue.lineno else None,
                str(issue.text),
            )
        )
    return [sorted(results[path], key=lambda f: (f.line or 0, f.rule)) for path in paths]


def _tool_error(tool: str, exc: BaseException) -> Finding:
    message = f"{tool} failed on this snippet: {type(exc).__name__}: {exc}"
    return Finding(tool, "tool_error", "tool_error", None, None, None, None, message)


def check_python(source: str) -> CheckReport:
    """Syntax, lint, security and complexity of one Python snippet.

    A snippet that does not compile gets only its syntax finding: lint and security counts of
    code that cannot run would not be comparable.
    """
    return check_python_many([source])[0]


def check_python_many(sources: Sequence[str]) -> list[CheckReport]:
    """``check_python`` of each snippet, with one ruff process and one bandit manager for all
    the snippets that compile (the same findings as one by one; ``tests/checks`` compares)."""
    versions = tool_versions()  # fail early and clearly if a checker is missing
    errors = [syntax_finding(source) for source in sources]
    compiled = [i for i, error in enumerate(errors) if error is None]
    lint = ruff_findings_many([sources[i] for i in compiled])
    security = bandit_findings_many([sources[i] for i in compiled])
    found = {i: lint[n] + security[n] for n, i in enumerate(compiled)}
    reports = []
    for i, source in enumerate(sources):
        lines = count_lines(source)
        error = errors[i]
        if error is not None:
            reports.append(CheckReport("python", lines, [error], False, None, None, versions))
            continue
        findings = found[i]
        complexity_max: float | None = None
        complexity_mean: float | None = None
        try:
            with _WARNINGS_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source, "snippet.py")
            complexity_max, complexity_mean = complexity_summary(tree)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            findings.append(_tool_error("complexity", exc))
        reports.append(
            CheckReport("python", lines, findings, True, complexity_max, complexity_mean, versions)
        )
    return reports
