"""``codearena leaderboard``, ``votes import``, ``ratings import`` and ``analyze``;
``codearena.cli`` mounts them::

app.command("leaderboard")(leaderboard_command)
app.add_typer(votes_app, name="votes")
app.add_typer(ratings_app, name="ratings")
app.command("analyze")(analyze_command)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from codearena.config import ConfigError, load_settings
from codearena.terminal import escape_json, printable

if TYPE_CHECKING:
    from codearena import stats
    from codearena.analysis.csv_import import ImportOutcome
    from codearena.store import Store

# The statistics stack (numpy, scipy) is imported when a command runs, not when the CLI starts.

votes_app = typer.Typer(help="Votes collected elsewhere.", no_args_is_help=True)


ratings_app = typer.Typer(help="Ratings collected elsewhere.", no_args_is_help=True)


@votes_app.callback()
def votes() -> None:
    """Votes collected elsewhere, imported into a study."""


@ratings_app.callback()
def ratings() -> None:
    """Ratings collected elsewhere, imported into a study."""


def _say(line: str, err: bool = False) -> None:
    """One line for people; model names and the rows of imported files may hold anything, so
    control characters are shown escaped (``codearena.terminal``)."""
    typer.echo(printable(line), err=err)


def _fail(*lines: str) -> NoReturn:
    for line in lines:
        _say(f"error: {line}", err=True)
    raise typer.Exit(2)


@contextmanager
def _store() -> Iterator[Store]:
    from codearena.store import Store, StoreError

    try:
        store = Store(load_settings().database_url)
    except (ConfigError, StoreError) as exc:
        _fail(str(exc))
    try:
        yield store
    finally:
        store.dispose()


def _format_table(rows: list[stats.LeaderboardRow]) -> str:
    from codearena.analysis.display import board_interval, board_rating

    grouped = len({r.group for r in rows}) > 1
    header: tuple[str, ...] = ("rank", "model", "rating", "95% CI", "battles", "wins", "losses")
    header = (*header, "ties", *(("group",) if grouped else ()))
    body = [
        (
            str(r.rank),
            printable(r.model) + (" (!)" if r.warnings else ""),
            board_rating(r.to_dict()),
            board_interval(r.to_dict()),
            str(r.battles),
            str(r.wins),
            str(r.losses),
            str(r.ties),
            *((str(r.group),) if grouped else ()),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = []
    for line in [header, *body]:
        cells = [
            cell.ljust(width) if i == 1 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def leaderboard_command(
    study: Annotated[str, typer.Option("--study", help="the study's id (or its unique name)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    rounds: Annotated[
        int, typer.Option("--rounds", min=1, max=100_000, help="bootstrap resamples")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="bootstrap seed")] = 0,
    include_flagged: Annotated[
        bool,
        typer.Option(
            "--include-flagged",
            help="count votes whose answer named its own model (self-revealing)",
        ),
    ] = False,
    tie_weight: Annotated[
        float,
        typer.Option("--tie-weight", min=0.0, max=1.0, help="share of a win a tie gives each side"),
    ] = 0.5,
    both_bad: Annotated[
        str, typer.Option("--both-bad", help="tie (half a win each, default) or drop")
    ] = "tie",
    imported: Annotated[
        bool, typer.Option("--imported/--no-imported", help="count the study's imported votes")
    ] = True,
) -> None:
    """The study's arena leaderboard: Bradley-Terry ratings with 95% bootstrap intervals."""
    from codearena import stats
    from codearena.analysis.load import StudyNotFound, find_study, study_votes

    if both_bad not in ("tie", "drop"):
        _fail(f"--both-bad must be tie or drop, not {both_bad!r}")
    with _store() as store:
        try:
            found = find_study(store, study)
        except StudyNotFound as exc:
            _fail(str(exc))
        votes = [vote for vote, _ in study_votes(store, found.id, include_imported=imported)]
    rows = stats.leaderboard(
        votes,
        rounds=rounds,
        seed=seed,
        include_flagged=include_flagged,
        tie_weight=tie_weight,
        both_bad="tie" if both_bad == "tie" else "drop",
    )
    if as_json:
        dumped = json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False)
        typer.echo(escape_json(dumped))
        return
    counted = sum(1 for v in votes if include_flagged or not v.flagged)
    _say(f"study {found.id} ({found.name}): {counted} votes counted")
    if not rows:
        _say("no votes yet")
        return
    _say(_format_table(rows))
    for sentence in dict.fromkeys(w for r in rows for w in r.warnings):
        _say(f"(!) {sentence}")
    flagged = sum(1 for v in votes if v.flagged)
    if flagged and not include_flagged:
        _say(f"{flagged} self-revealing vote(s) left out (--include-flagged counts them)")


@votes_app.command("import")
def votes_import(
    file: Annotated[Path, typer.Argument(help="CSV with model_a, model_b, winner columns")],
    study: Annotated[str, typer.Option("--study", help="the study's id (or its unique name)")],
    source: Annotated[
        str | None,
        typer.Option("--source", help="name of the import (default: the file's name)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import pairwise votes (winner a, b, tie or both_bad); all rows or none. Importing the
    same source again replaces its earlier rows."""
    from codearena.analysis.votes_import import import_votes, read_votes_file

    outcome = _import_csv(file, study, source, read_votes_file, import_votes)
    if as_json:
        typer.echo(json.dumps({"imported": outcome.imported, "study": outcome.study_id}))
        return
    _say_imported(outcome, "votes")


def _import_csv(
    file: Path,
    study: str,
    source: str | None,
    read: Callable[[Path], str],
    do_import: Callable[[Store, str, str, str], ImportOutcome],
) -> ImportOutcome:
    """Read ``file`` and import it into ``study``, or fail with every problem and
    "nothing was imported" (one door for every CSV import)."""
    from codearena.analysis.csv_import import CsvImportError
    from codearena.analysis.load import StudyNotFound, find_study

    with _store() as store:
        try:
            found = find_study(store, study)
            return do_import(store, found.id, read(file), source or file.name)
        except StudyNotFound as exc:
            _fail(str(exc))
        except CsvImportError as exc:
            _fail(*(f"{file.name}: {p}" for p in exc.problems), "nothing was imported")


def _say_imported(outcome: ImportOutcome, what: str) -> None:
    _say(f"imported {outcome.imported} {what} from {outcome.source} into study {outcome.study_id}")
    if outcome.replaced:
        _say(f"replaced {outcome.replaced} {what} of the earlier import of {outcome.source}")


@ratings_app.command("import")
def ratings_import(
    file: Annotated[
        Path,
        typer.Argument(help="CSV with participant, task, model, dimension, score columns"),
    ],
    study: Annotated[str, typer.Option("--study", help="the study's id (or its unique name)")],
    source: Annotated[
        str | None,
        typer.Option("--source", help="name of the import (default: the file's name)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import 1-5 ratings (one per participant, task, model and dimension); all rows or none.
    Importing the same source again replaces its earlier rows."""
    from codearena.analysis.ratings_import import import_ratings, read_ratings_file

    outcome = _import_csv(file, study, source, read_ratings_file, import_ratings)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "imported": outcome.imported,
                    "replaced": outcome.replaced,
                    "source": outcome.source,
                    "study": outcome.study_id,
                },
                ensure_ascii=True,
            )
        )
        return
    _say_imported(outcome, "ratings")


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _show_analysis(result: dict[str, Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=False, width=120)

    def cell(value: object) -> Text:
        return Text(printable(str(value)))

    console.print(cell(title))
    for dimension, fit in result["ratings"].items():
        table = Table(title=cell(f"{dimension} (n={fit['n']}): mixed model"), title_justify="left")
        for column in ("model", "estimate", "95% CI"):
            table.add_column(column)
        for effect in fit["model_effects"]:
            interval = (
                "-"
                if effect["ci_low"] is None
                else f"{_num(effect['ci_low'])} to {_num(effect['ci_high'])}"
            )
            table.add_row(cell(effect["model"]), _num(effect["estimate"]), interval)
        console.print(table)
        variance, icc = fit["variance"], fit["icc"]
        console.print(
            cell(
                f"variance: participant {_num(variance['participant'], 3)}, task "
                f"{_num(variance['task'], 3)}, residual {_num(variance['residual'], 3)}; "
                f"ICC: participant {_num(icc['participant'], 3)}, task {_num(icc['task'], 3)}"
            )
        )
    passes = result["pass_fail"]
    if passes["models"]:
        table = Table(
            title=f"pass/fail (GEE, {passes['n']} runs, {passes['clusters']} participants)",
            title_justify="left",
        )
        for column in ("model", "runs", "passed", "pass rate", "95% CI"):
            table.add_column(column)
        for row in passes["models"]:
            interval = (
                "-" if row["ci_low"] is None else f"{_num(row['ci_low'])} to {_num(row['ci_high'])}"
            )
            table.add_row(
                cell(row["model"]),
                str(row["n"]),
                str(row["passed"]),
                _num(row["estimate"]),
                interval,
            )
        console.print(table)
    if result["pairwise"]:
        table = Table(
            title="pairwise (Holm within each dimension, and for votes)", title_justify="left"
        )
        for column in (
            "kind",
            "dimension",
            "a",
            "b",
            "n",
            "effect",
            "effect size",
            "p",
            "p (Holm)",
        ):
            table.add_column(column)
        for pair in result["pairwise"]:
            table.add_row(
                pair["kind"],
                cell(pair["dimension"] or "-"),
                cell(pair["a"]),
                cell(pair["b"]),
                str(pair["n"]),
                _num(pair["effect"]),
                _num(pair["effect_size"]),
                _p(pair["p"]),
                _p(pair["p_holm"]),
            )
        console.print(table)
    for sentence in result["warnings"]:
        console.print(cell(f"(!) {sentence}"))


def analyze_command(
    study: Annotated[str, typer.Option("--study", help="the study's id (or its unique name)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Mixed models of the study's ratings, pass/fail by model (GEE) and pairwise tests."""
    from codearena.analysis.inference import analyze
    from codearena.analysis.load import StudyNotFound, find_study

    with _store() as store:
        try:
            found = find_study(store, study)
        except StudyNotFound as exc:
            _fail(str(exc))
        result = analyze(store, found.id)
    if as_json:
        dumped = json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False)
        typer.echo(escape_json(dumped))
        return
    _show_analysis(result, f"study {found.id} ({found.name})")
