"""``codearena report --study S --out DIR [--format html|md] [--bootstrap participants|votes]
[--control style|style+objective] [--no-imported] [--both-bad tie|drop] [--include-flagged]``:
the leaderboard's options, said in the report's methods paragraph and on the terminal."""

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
    bootstrap: Annotated[
        str,
        typer.Option("--bootstrap", help="Resample participants (default) or votes."),
    ] = "participants",
    control: Annotated[
        str | None,
        typer.Option(
            "--control", help="Add the style-controlled leaderboard: style or style+objective."
        ),
    ] = None,
    imported: Annotated[
        bool, typer.Option("--imported/--no-imported", help="Count the study's imported votes.")
    ] = True,
    both_bad: Annotated[
        str, typer.Option("--both-bad", help="tie (half a win each, default) or drop")
    ] = "tie",
    include_flagged: Annotated[
        bool,
        typer.Option(
            "--include-flagged", help="Count votes on answers that named their own model."
        ),
    ] = False,
) -> None:
    """Write a study's report: tables, figures (PNG and SVG) and a methods paragraph."""
    from codearena.analysis import StudyNotFound, find_study
    from codearena.reports.build import build_report
    from codearena.store import Store

    if fmt not in FORMATS:
        sys.stderr.write(f"error: unknown format {fmt!r}; use html or md\n")
        raise typer.Exit(2)
    if bootstrap not in ("participants", "votes"):
        sys.stderr.write(
            printable(f"error: --bootstrap must be participants or votes, not {bootstrap!r}") + "\n"
        )
        raise typer.Exit(2)
    if control not in (None, "style", "style+objective"):
        sys.stderr.write(
            printable(f"error: --control must be style or style+objective, not {control!r}") + "\n"
        )
        raise typer.Exit(2)
    if both_bad not in ("tie", "drop"):
        sys.stderr.write(
            printable(f"error: --both-bad must be tie or drop, not {both_bad!r}") + "\n"
        )
        raise typer.Exit(2)
    store = Store(load_settings().database_url)
    try:
        study_id = find_study(store, study).id
    except StudyNotFound as exc:
        sys.stderr.write(printable(f"error: {exc}") + "\n")
        raise typer.Exit(2) from exc
    try:
        report = build_report(
            store,
            study_id,
            out,
            fmt,
            rounds=rounds,
            seed=seed,
            bootstrap="votes" if bootstrap == "votes" else "participants",
            control=None
            if control is None
            else ("style" if control == "style" else "style+objective"),
            include_imported=imported,
            both_bad="drop" if both_bad == "drop" else "tie",
            include_flagged=include_flagged,
        )
    except OSError as exc:
        sys.stderr.write(
            printable(f"error: cannot write the report to {out}: {exc.strerror}") + "\n"
        )
        raise typer.Exit(2) from exc
    used = (
        f"intervals resample {bootstrap}"
        + (f", style control {control}" if control else "")
        + ("" if imported else ", imported votes left out")
        + (", both-bad votes dropped" if both_bad == "drop" else "")
        + (", self-identified votes counted" if include_flagged else "")
    )
    shown = printable(
        f"{report.path} ({len(report.figures)} figures as PNG and SVG beside it; {used})"
    )
    sys.stdout.write(shown + "\n")
