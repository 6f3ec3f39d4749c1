"""Result types of the static checks: one ``Finding`` per problem, one ``CheckReport`` per snippet."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


class ChecksUnavailable(RuntimeError):
    """A checker (ruff, bandit, node) is not installed; the message names what to install."""


@dataclass(frozen=True)
class Finding:
    """One lint, security, syntax or tool-failure finding on a snippet.

    ``kind`` is ``"lint"`` (ruff), ``"security"`` (bandit), ``"syntax"`` (the parser rejected
    the code) or ``"tool_error"`` (a checker failed on this snippet; the snippet may be fine).
    """

    tool: str
    kind: str
    rule: str
    severity: str | None
    confidence: str | None
    cwe: int | None
    line: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CheckReport:
    """Static findings on one generated snippet, comparable across models.

    ``lines`` counts non-blank lines (comments included). ``complexity_max`` and
    ``complexity_mean`` are McCabe cyclomatic complexities over the code's units (functions,
    methods and, when it has code of its own, the module); None when not computed.
    ``tool_versions`` records which checker versions produced the findings.
    """

    language: str | None
    lines: int
    findings: list[Finding]
    syntax_ok: bool | None
    complexity_max: float | None
    complexity_mean: float | None
    tool_versions: dict[str, str] = field(default_factory=dict)

    def lint_by_rule(self) -> dict[str, int]:
        """Lint findings counted by rule code, most frequent first."""
        counts = Counter(f.rule for f in self.findings if f.kind == "lint")
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def security_by_rule(self) -> dict[str, int]:
        """Security findings counted by bandit test id, most frequent first."""
        counts = Counter(f.rule for f in self.findings if f.kind == "security")
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def lint_count(self) -> int:
        return sum(1 for f in self.findings if f.kind == "lint")

    @property
    def security_count(self) -> int:
        return sum(1 for f in self.findings if f.kind == "security")

    @property
    def cwe_ids(self) -> list[int]:
        """Distinct CWE ids of the security findings, ascending."""
        return sorted({f.cwe for f in self.findings if f.cwe is not None})

    @property
    def findings_per_100_lines(self) -> float | None:
        """(lint + security findings) * 100 / non-blank lines; None for an empty snippet."""
        if self.lines == 0:
            return None
        return (self.lint_count + self.security_count) * 100 / self.lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the fields plus the derived counts."""
        return {
            "language": self.language,
            "lines": self.lines,
            "syntax_ok": self.syntax_ok,
            "complexity_max": self.complexity_max,
            "complexity_mean": self.complexity_mean,
            "lint_count": self.lint_count,
            "security_count": self.security_count,
            "findings_per_100_lines": self.findings_per_100_lines,
            "lint_by_rule": self.lint_by_rule(),
            "security_by_rule": self.security_by_rule(),
            "cwe_ids": self.cwe_ids,
            "findings": [f.to_dict() for f in self.findings],
            "tool_versions": dict(self.tool_versions),
        }


def count_lines(source: str) -> int:
    """Non-blank lines of ``source`` (comment lines count; whitespace-only lines do not)."""
    return sum(1 for line in source.splitlines() if line.strip())
