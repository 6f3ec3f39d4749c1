"""Static findings on generated code: ``check_code(source, "python")`` -> ``CheckReport``.

Python: syntax (``compile``), ruff lint by rule, bandit security findings with severity,
confidence and CWE id, McCabe complexity. JavaScript: a ``node --check`` syntax check. Other
languages: the line count only. Code is parsed, never executed. See docs/checks.md.
"""

from .complexity import UnitComplexity, complexity_summary, unit_complexities
from .python import BANDIT_SKIPPED_TESTS, RUFF_RULES
from .runner import acheck_code, acheck_many, canonical_language, check_code, check_many
from .types import CheckReport, ChecksUnavailable, Finding, count_lines

__all__ = [
    "BANDIT_SKIPPED_TESTS",
    "RUFF_RULES",
    "CheckReport",
    "ChecksUnavailable",
    "Finding",
    "UnitComplexity",
    "acheck_code",
    "acheck_many",
    "canonical_language",
    "check_code",
    "check_many",
    "complexity_summary",
    "count_lines",
    "unit_complexities",
]
