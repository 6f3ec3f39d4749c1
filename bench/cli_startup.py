"""CLI start-up: ``codearena --help`` against ``python -c "import typer"``, side by side.

Each command runs as a fresh process (stdout discarded), in interleaved rounds: every round runs
each command once, in an order that rotates from round to round, so machine load hits all of
them alike. Reported: the median and the spread (min to max) of the wall-clock times, and each
median as a multiple of the baseline's.

    python bench/cli_startup.py [--rounds 21] [--src DIR] [--json]

``--src DIR`` measures another checkout's ``src`` (for instance the code before a change,
unpacked with ``git archive``) with the same interpreter. Target: ``codearena --help`` within
3x ``python -c "import typer"``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATIO = 3.0
BASELINE = "python -c 'import typer'"
# Typer's own floor for comparison: a two-command app with Rich help, no codearena in it.
MINIMAL_APP = """
import sys, typer
app = typer.Typer(add_completion=False)
@app.command()
def run(path: str, timeout: float = 10.0, as_json: bool = False) -> None:
    \"\"\"Run one thing.\"\"\"
@app.command()
def show() -> None:
    \"\"\"Show it.\"\"\"
sys.argv[0] = "app"
app()
"""


def commands(src: Path | None) -> dict[str, list[str]]:
    """The commands to time. ``codearena`` is the console script next to this interpreter
    when there is one (as a user runs it), else ``python -m codearena``."""
    script = Path(sys.executable).parent / "codearena"
    entry = (
        [str(script)] if script.exists() and src is None else [sys.executable, "-m", "codearena"]
    )
    return {
        BASELINE: [sys.executable, "-c", "import typer"],
        "codearena --help": [*entry, "--help"],
        "codearena sandbox --help": [*entry, "sandbox", "--help"],
        "codearena generate --help": [*entry, "generate", "--help"],
        "minimal Typer app --help": [sys.executable, "-c", MINIMAL_APP, "--help"],
        "minimal Typer app run --help": [sys.executable, "-c", MINIMAL_APP, "run", "--help"],
    }


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(rounds: int, src: Path | None) -> dict[str, list[float]]:
    env = {**os.environ, "COLUMNS": "100"}
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    todo = commands(src)
    names = list(todo)
    for name in names:  # warm the file cache and the bytecode caches; not counted
        run_once(todo[name], env)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            times[name].append(run_once(todo[name], env))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--src", type=Path, help="measure this src directory instead")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    times = measure(args.rounds, args.src)
    base = statistics.median(times[BASELINE])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(
            {
                "command": name,
                "median_ms": round(median * 1000, 1),
                "min_ms": round(min(values) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1),
                "ratio": round(median / base, 2),
            }
        )
    if args.json:
        print(json.dumps({"rounds": args.rounds, "src": str(args.src), "results": rows}, indent=2))
        return
    entry = " ".join(Path(a).name for a in commands(args.src)["codearena --help"][:-1])
    print(f"{args.rounds} interleaved rounds, fresh processes, medians; codearena = {entry}")
    print("| command | median | min to max | ratio to baseline |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| `{r['command']}` | {r['median_ms']:.1f} ms | {r['min_ms']:.1f} to "
            f"{r['max_ms']:.1f} ms | {r['ratio']:.2f}x |"
        )
    help_ratio = next(r["ratio"] for r in rows if r["command"] == "codearena --help")
    verdict = "met" if help_ratio <= TARGET_RATIO else "NOT met"
    print(f"target `codearena --help` <= {TARGET_RATIO:g}x the baseline: {verdict}")


if __name__ == "__main__":
    main()
