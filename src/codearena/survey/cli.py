"""``codearena survey``: import online-form exports and summarise a study's survey.

``survey_app`` is a Typer sub-app; ``codearena.cli`` mounts it as ``survey``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from codearena.config import ConfigError, load_settings
from codearena.terminal import escape_json, printable

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported when a command runs
    from codearena.store import Store
    from codearena.survey.importer import ImportReport
    from codearena.survey.summary import SurveySummary

survey_app = typer.Typer(
    help="Import survey answers exported from online forms; summarise a study's survey.",
    no_args_is_help=True,
)

StudyOption = Annotated[str, typer.Option("--study", help="the study's id or its (unique) name")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@survey_app.callback()
def survey() -> None:
    """Survey answers: imports of form exports and per-question summaries."""


def _say(line: str, err: bool = False) -> None:
    """One line for people; answers, headers and question texts come from participants and
    imported files, so control characters are shown escaped (``codearena.terminal``)."""
    typer.echo(printable(line), err=err)


def _fail(message: str) -> NoReturn:
    _say(f"error: {message}", err=True)
    raise typer.Exit(2)


def _store() -> Store:
    from codearena.store import Store, StoreError

    try:
        return Store(load_settings().database_url)
    except (ConfigError, StoreError) as exc:
        _fail(str(exc))


def _print_json(value: Any) -> None:
    typer.echo(escape_json(json.dumps(value, indent=2, ensure_ascii=False)))


def _print_report(report: ImportReport) -> None:
    _say(f"imported {report.respondents} respondents into study {report.study_id}")
    if report.replaced:
        _say(f"replaced the previous import ({report.replaced} respondents)")
    if report.blank_rows:
        _say(f"skipped {report.blank_rows} row(s) without an answer to a matched question")
    _say(f"matched columns: {len(report.matched_columns)}")
    for header, number in report.matched_columns.items():
        _say(f"  Q{number:<3} {header}")
    if report.mapped_columns:
        _say(f"of them through [columns]: {len(report.mapped_columns)}")
    if report.unmatched_columns:
        _say(f"unmatched columns (not imported): {len(report.unmatched_columns)}")
        for header in report.unmatched_columns:
            _say(f"  {header}")
    if report.unmatched_questions:
        _say(f"questions that got no column: {len(report.unmatched_questions)}")
        for number, text in report.unmatched_questions:
            _say(f"  Q{number:<3} {text}")
    for number, header, score in report.suggestions:
        _say(
            f"  suggestion (not applied): the column {header!r} looks like Q{number} "
            f"(similarity {score:.2f}); to use it, add under [columns] in the alias file: "
            f'"{header}" = {number}'
        )
    if report.linked or report.unlinked:
        _say(f"linked to platform participants: {report.linked}")
        if report.kept_platform_answers:
            _say(
                f"  kept {report.kept_platform_answers} answer(s) given on the platform "
                "(the platform's answer wins)"
            )
        for row, value in report.unlinked:
            _say(f"  row {row}: {value!r} names no participant of the study (imported unlinked)")
    if report.unknown_answers:
        _say("answers matching no option (counted as Other; map them in an alias file):")
        for number, seen in report.unknown_answers.items():
            for text, count in seen.items():
                _say(f"  Q{number:<3} {count:>4} x {text!r}")


def _print_summary(summary: SurveySummary) -> None:
    sources = ", ".join(f"{n} {source}" for source, n in summary.by_source.items())
    _say(f"study {summary.study_id}: {summary.respondents} respondents ({sources})")
    for q in summary.questions:
        _say("")
        _say(f"Q{q.number} [{q.question.kind}] {q.question.text}  ({q.answered} answered)")
        data = q.to_dict()
        for option, count in q.counts.items():
            _say(f"  {count:>5}  {data['percentages'][option]:>5.1f}%  {option}")
        if q.mean is not None:
            _say(f"  mean {q.mean:.2f}  median {q.median:g}")
        for text in q.answers or []:
            _say(f"  - {' '.join(text.split())}")


@survey_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="the form export: a .csv or .xlsx file")],
    study: StudyOption,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="the .xlsx sheet to read (default: the first)")
    ] = None,
    aliases: Annotated[
        Path | None,
        typer.Option(
            "--aliases",
            help='a TOML file: [aliases] "text seen" = "option", [columns] "header" = '
            'question number, [link] column = "header naming platform participants"',
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import a form export (one row per respondent), replacing the study's previous import."""
    from codearena.store.repo import StudyNotFound as UnknownStudy
    from codearena.survey.aliases import AliasError, Aliases, load_aliases
    from codearena.survey.importer import ImportFailure, import_survey

    try:
        table = load_aliases(aliases) if aliases is not None else Aliases()
    except AliasError as exc:
        _fail(str(exc))
    store = _store()
    try:
        report = import_survey(store, study, file, sheet=sheet, aliases=table)
    except (UnknownStudy, ImportFailure, AliasError) as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    if as_json:
        _print_json(report.to_dict())
    else:
        _print_report(report)


@survey_app.command("summary")
def summary_command(study: StudyOption, as_json: JsonOption = False) -> None:
    """Counts and percentages per option, rating means and medians, free-text answers."""
    from codearena.store.repo import StudyNotFound as UnknownStudy
    from codearena.store.repo import find_study
    from codearena.survey.summary import summarize_survey

    store = _store()
    try:
        summary = summarize_survey(store, find_study(store, study).id)
    except UnknownStudy as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    if as_json:
        _print_json(summary.to_dict())
    else:
        _print_summary(summary)
