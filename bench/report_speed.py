"""The whole HTML report (every figure, PNG and SVG) of a 240-task realistic study beside the
7-task one, each built in a fresh process.

The studies come from ``tests/reports/realistic.py`` (``make_realistic_study(store, tasks=N)``:
seven models, 40 participants, ratings, battles, runs, repair rounds, fixes by hand, the whole
survey), written once into a temporary SQLite file per size. Each round then runs, per size, a
fresh ``python`` process that imports codearena and builds the report into a new directory
(``build_report(..., "html")`` with the default 1000 bootstrap rounds); the sizes alternate
within a round. Reported per size: the median and the spread of the process's wall-clock time,
and of the build alone (imports excluded, measured inside the process).

    python bench/report_speed.py [--rounds 3] [--sizes 7,240] [--src DIR] [--json]

``--src DIR`` builds the reports with another checkout's ``src`` (for instance the code before a
change, unpacked with ``git archive``); the studies are written with this checkout's.

Target: under 10 s for 240 tasks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 10.0
CHILD = """
import sys, time
from pathlib import Path
from codearena.reports import build_report
from codearena.store import Store
url, study_id, out = sys.argv[1:4]
start = time.perf_counter()
report = build_report(Store(url), study_id, Path(out), "html")
print(time.perf_counter() - start, len(report.figures))
"""


def _make(size: int, where: Path) -> tuple[str, str]:
    sys.path.insert(0, str(ROOT))
    from tests.reports.realistic import make_realistic_study

    from codearena.store import Store

    url = f"sqlite:///{where / f'study-{size}.db'}"
    store = Store(url)
    study_id = make_realistic_study(store, tasks=size)
    store.dispose()
    return url, study_id


def _run(url: str, study_id: str, out: Path, src: Path) -> tuple[float, float, int]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, study_id, str(out)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - start
    build, figures = done.stdout.split()
    return wall, float(build), int(figures)


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    build: list[float] = field(default_factory=list)
    figures: int = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="7,240")
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {size: Timings() for size in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        studies = {size: _make(size, where) for size in sizes}
        for round_ in range(args.rounds):
            order = sizes if round_ % 2 == 0 else list(reversed(sizes))
            for size in order:
                url, study_id = studies[size]
                wall, build, figures = _run(
                    url, study_id, where / f"out-{size}-{round_}", args.src.resolve()
                )
                results[size].wall.append(wall)
                results[size].build.append(build)
                results[size].figures = figures
    summary: dict[str, dict[str, float]] = {
        str(size): {
            "figures": r.figures,
            "process_median_s": statistics.median(r.wall),
            "process_min_s": min(r.wall),
            "process_max_s": max(r.wall),
            "build_median_s": statistics.median(r.build),
        }
        for size, r in results.items()
    }
    if args.json:
        print(json.dumps({"target_s": TARGET_S, "rounds": args.rounds, "sizes": summary}))
        return
    print(
        f"{'tasks':>6} {'figures':>8} {'process median':>15} {'(min-max)':>16} {'build median':>13}"
    )
    for name, row in summary.items():
        print(
            f"{name:>6} {row['figures']:>8.0f} {row['process_median_s']:>14.2f}s "
            f"({row['process_min_s']:.2f}-{row['process_max_s']:.2f} s) "
            f"{row['build_median_s']:>12.2f}s"
        )
    largest = summary[str(max(sizes))]
    verdict = "meets" if largest["process_median_s"] < TARGET_S else "misses"
    print(f"{max(sizes)} tasks {verdict} the {TARGET_S:.0f} s target")


if __name__ == "__main__":
    main()
