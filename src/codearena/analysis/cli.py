"""``codearena leaderboard``, ``votes import``, ``ratings import``, ``analyze`` and ``plan``;
``codearena.cli`` mounts them::

app.command("leaderboard")(leaderboard_command)
app.command("plan")(plan_command)
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
    from codearena.analysis.load import StudyData
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
    bootstrap: Annotated[
        str,
        typer.Option(
            "--bootstrap",
            help="resample participants (default: a person's votes are not independent) or votes",
        ),
    ] = "participants",
    control: Annotated[
        str | None,
        typer.Option(
            "--control",
            help="style or style+objective: Bradley-Terry with the answers' features as covariates",
        ),
    ] = None,
) -> None:
    """The study's arena leaderboard: Bradley-Terry ratings with 95% bootstrap intervals."""
    from codearena import stats
    from codearena.analysis.load import StudyNotFound, battle_votes, find_study, load_study

    if both_bad not in ("tie", "drop"):
        _fail(f"--both-bad must be tie or drop, not {both_bad!r}")
    if bootstrap not in ("votes", "participants"):
        _fail(f"--bootstrap must be votes or participants, not {bootstrap!r}")
    if control is not None and control not in ("style", "style+objective"):
        _fail(f"--control must be style or style+objective, not {control!r}")
    options: dict[str, Any] = {
        "rounds": rounds,
        "seed": seed,
        "include_flagged": include_flagged,
        "tie_weight": tie_weight,
        "both_bad": "tie" if both_bad == "tie" else "drop",
        "bootstrap": "votes" if bootstrap == "votes" else "participants",
    }
    with _store() as store:
        try:
            found = find_study(store, study)
            data = load_study(store, found.id)
        except StudyNotFound as exc:
            _fail(str(exc))
    if control is not None:
        _controlled(data, control, options, as_json, f"study {found.id} ({found.name})")
        return
    votes = [vote for vote, _ in battle_votes(data, include_imported=imported)]
    rows = stats.leaderboard(votes, **options)
    if as_json:
        dumped = json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False)
        typer.echo(escape_json(dumped))
        return
    counted = sum(1 for v in votes if include_flagged or not v.flagged)
    _say(
        f"study {found.id} ({found.name}): {counted} votes counted; "
        f"intervals resample {options['bootstrap']}"
    )
    if not rows:
        _say("no votes yet")
        return
    _say(_format_table(rows))
    for sentence in dict.fromkeys(w for r in rows for w in r.warnings):
        _say(f"(!) {sentence}")
    flagged = sum(1 for v in votes if v.flagged)
    if flagged and not include_flagged:
        _say(f"{flagged} self-revealing vote(s) left out (--include-flagged counts them)")


def _controlled(
    data: StudyData, control: str, options: dict[str, Any], as_json: bool, title: str
) -> None:
    """``leaderboard --control``: the controlled board, its coefficients and what was left out."""
    from codearena.analysis.style import controlled_board

    board = controlled_board(data, "style" if control == "style" else "style+objective", **options)
    if as_json:
        dumped = json.dumps(board, indent=2, ensure_ascii=False, allow_nan=False)
        typer.echo(escape_json(dumped))
        return
    from codearena import stats

    _say(
        f"{title}: {board['votes']} battles with both answers stored, controlled for "
        f"{control} ({', '.join(board['features'])}); intervals resample {board['bootstrap']}"
    )
    left = board["left_out"]
    if left["imported"] or left["without_answers"]:
        _say(
            f"left out: {left['imported']} imported vote(s) (no answers to measure), "
            f"{left['without_answers']} battle(s) without both answers"
        )
    if not board["leaderboard"]:
        _say("no votes yet")
        return
    _say(_format_table([stats.LeaderboardRow(**_row_args(r)) for r in board["leaderboard"]]))
    _say("coefficients (log-odds per rms of the normalised difference, 95% interval):")
    for name, c in board["coefficients"].items():
        if c["value"] is None:
            _say(f"  {name}: - ({c['note']})")
        else:
            _say(f"  {name}: {c['value']:+.3f} ({c['ci_low']:+.3f} to {c['ci_high']:+.3f})")
    for sentence in dict.fromkeys(w for r in board["leaderboard"] for w in r["warnings"]):
        _say(f"(!) {sentence}")


def _row_args(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "warnings": tuple(row["warnings"])}


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


def plan_command(
    models: Annotated[int, typer.Option("--models", min=2, max=50, help="models on the board")],
    target_ci_width: Annotated[
        float,
        typer.Option("--target-ci-width", help="95% interval width, rating points (> 0)"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    rating_sd: Annotated[
        float,
        typer.Option("--rating-sd", min=0.0, help="spread (sd) of the true ratings, points"),
    ] = 100.0,
    tie_share: Annotated[
        float, typer.Option("--tie-share", min=0.0, max=0.95, help="share of votes that are ties")
    ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="simulation seed")] = 0,
) -> None:
    """Votes needed for a target leaderboard interval width, by simulation."""
    from codearena.stats.planning import plan_votes

    try:
        plan = plan_votes(
            models, target_ci_width, rating_sd=rating_sd, tie_share=tie_share, seed=seed
        )
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2, allow_nan=False))
        return
    _say(
        f"{models} models, median 95% interval of {target_ci_width:g} rating points: "
        f"about {plan.votes_needed:,} votes"
    )
    _say(
        f"assumes uniform pairing, true ratings with sd {rating_sd:g} points, {tie_share:.0%} "
        "ties, independent votes (clustered votes need more)"
    )
    for point in plan.simulated:
        _say(f"  {point.votes:>10,} votes: {point.median_ci_width:6.1f} points")
