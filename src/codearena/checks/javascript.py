"""JavaScript syntax check with ``node --check``, which parses the file and never runs it.

``node --check`` is a parser, not an execution, so it runs directly (not in the sandbox), with
a timeout, an environment holding only PATH (no NODE_OPTIONS, no preloads), a V8 heap cap and
a private temporary working directory holding nothing but the snippet.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .types import CheckReport, ChecksUnavailable, Finding, count_lines

NODE_TIMEOUT_S = 30.0
NODE_HEAP_MB = 512
# Errors that mean "this is an ES module", for node versions that do not detect modules.
_ESM_HINTS = ("Cannot use import statement outside a module", "Unexpected token 'export'")
_LOCATION = re.compile(r"^.*snippet\.[cm]?js:(\d+)\s*$", re.M)
_ERROR = re.compile(r"^(\w*Error\b.*)$", re.M)


def node_executable() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise ChecksUnavailable("node is not installed: install Node.js (apt install nodejs)")
    return node


def node_version() -> str:
    try:
        out = subprocess.run(
            [node_executable(), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.strip().removeprefix("v") or "unknown"


def _node_check(node: str, source: str, file_name: str) -> tuple[int | None, str]:
    """(exit code, stderr) of ``node --check`` on ``source``; exit code None on timeout."""
    with tempfile.TemporaryDirectory(prefix="codearena-checks-") as tmp:
        path = Path(tmp) / file_name
        path.write_text(source, encoding="utf-8", errors="surrogateescape")
        env = {"PATH": os.environ.get("PATH", os.defpath)}
        try:
            proc = subprocess.run(
                [node, f"--max-old-space-size={NODE_HEAP_MB}", "--check", file_name],
                capture_output=True,
                timeout=NODE_TIMEOUT_S,
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return None, f"node --check timed out after {NODE_TIMEOUT_S:g} s"
        return proc.returncode, proc.stderr.decode("utf-8", "replace")


def _syntax_error(stderr: str) -> Finding:
    location = _LOCATION.search(stderr)
    error = _ERROR.search(stderr)
    message = error.group(1).strip() if error else (stderr.strip().splitlines() or ["?"])[0]
    line = int(location.group(1)) if location else None
    return Finding("node", "syntax", "syntax", None, None, None, line, message)


def syntax_findings(source: str) -> tuple[bool | None, list[Finding]]:
    """(syntax_ok, findings): checked as a script, and as an ES module if that is what it is."""
    node = node_executable()
    try:
        code, stderr = _node_check(node, source, "snippet.js")
        if code not in (None, 0) and any(hint in stderr for hint in _ESM_HINTS):
            code, stderr = _node_check(node, source, "snippet.mjs")
    except OSError as exc:
        code, stderr = None, f"{type(exc).__name__}: {exc}"
    if code == 0:
        return True, []
    if code is None or "SyntaxError" not in stderr:
        message = f"node failed on this snippet: {stderr.strip()[:500]}"
        return None, [Finding("node", "tool_error", "tool_error", None, None, None, None, message)]
    return False, [_syntax_error(stderr)]


def check_javascript(source: str) -> CheckReport:
    """Syntax check and line count of one JavaScript snippet (no lint, no complexity yet)."""
    syntax_ok, findings = syntax_findings(source)
    versions = {"node": node_version()}
    return CheckReport("javascript", count_lines(source), findings, syntax_ok, None, None, versions)
