"""``codearena report --study S --out DIR [--format html|md]``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from codearena.config import load_settings
from codearena.terminal import printable

FORMATS = ("html", "md")  # the plotting stack is imported only when a report is written


def report_command(
    study: Annotated[str, typer.Option("--study", help="Study id or unique name.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the report and its figures.")],
    fmt: Annotated[str, typer.Option("--format", help="html (self-contained) or md.")] = "html",
    rounds: Annotated[int, typer.Option("--rounds", min=10, help="Bootstrap rounds.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
) -> None:
    """Write a study's report: tables, figures (PNG and SVG) and a methods paragraph."""
    from codearena.analysis import StudyNotFound, find_study
    from codearena.reports.build import build_report
    from codearena.store import Store

    if fmt not in FORMATS:
        sys.stderr.write(f"error: unknown format {fmt!r}; use html or md\n")
        raise typer.Exit(2)
    store = Store(load_settings().database_url)
    try:
        study_id = find_study(store, study).id
    except StudyNotFound as exc:
        sys.stderr.write(printable(f"error: {exc}") + "\n")
        raise typer.Exit(2) from exc
    try:
        report = build_report(store, study_id, out, fmt, rounds=rounds, seed=seed)
    except OSError as exc:
        sys.stderr.write(
            printable(f"error: cannot write the report to {out}: {exc.strerror}") + "\n"
        )
        raise typer.Exit(2) from exc
    shown = printable(f"{report.path} ({len(report.figures)} figures as PNG and SVG beside it)")
    sys.stdout.write(shown + "\n")
