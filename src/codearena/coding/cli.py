"""``codearena coding codebook export|import``: the Typer sub-app ``coding_app``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from codearena.coding.errors import CodebookError, CodingError
from codearena.terminal import printable

if TYPE_CHECKING:
    from codearena.store import Store

coding_app = typer.Typer(help="Open coding of free-text answers.", no_args_is_help=True)
codebook_app = typer.Typer(help="The codebook as CSV: question,code,concept,category.")
coding_app.add_typer(codebook_app, name="codebook")
StudyOption = Annotated[str, typer.Option("--study", help="the study's id or unique name")]


@coding_app.callback()
def coding() -> None:
    """Open coding of free-text answers (survey questions and rating comments)."""


@codebook_app.callback()
def codebook() -> None:
    """The codebook as CSV: question,code,concept,category."""


def _say(line: str, err: bool = False) -> None:
    """One line for people; codes and the rows of imported files may hold anything, so control
    characters are shown escaped (``codearena.terminal``)."""
    typer.echo(printable(line), err=err)


def _fail(message: str) -> NoReturn:
    _say(f"error: {message}", err=True)
    raise typer.Exit(2)


def _store() -> Store:
    from codearena.config import load_settings
    from codearena.store import Store

    return Store(load_settings().database_url)


def _study_id(store: Store, ref: str) -> str:
    from codearena.store.repo import StudyNotFound, find_study

    try:
        return find_study(store, ref).id
    except StudyNotFound as exc:
        store.dispose()
        _fail(str(exc))


@codebook_app.command("export")
def codebook_export(
    study: StudyOption,
    out: Annotated[Path, typer.Option("--out", help="the CSV file to write ('-': stdout)")],
) -> None:
    """Write the study's codebook as CSV."""
    from codearena.coding.csvio import export_codebook

    store = _store()
    try:
        text = export_codebook(store, _study_id(store, study))
    except CodingError as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    if str(out) == "-":
        # Exact CSV into a pipe or a file; on a terminal, control characters are shown escaped.
        typer.echo(printable(text) if sys.stdout.isatty() else text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror}")
    _say(f"wrote {text.count(chr(10)) - 1} codes to {out}")


@codebook_app.command("import")
def codebook_import(
    file: Annotated[Path, typer.Argument(help="a CSV with question,code,concept,category")],
    study: StudyOption,
) -> None:
    """Create and update codes, concepts and categories from a CSV (all or nothing)."""
    from codearena.coding.csvio import import_codebook

    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
    store = _store()
    try:
        report = import_codebook(store, _study_id(store, study), data)
    except CodebookError as exc:
        _say(f"error: {file}: nothing was imported", err=True)
        for problem in exc.problems:
            _say(f"  {file}: {problem}", err=True)
        raise typer.Exit(2) from None
    except CodingError as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    _say(
        f"imported {report.rows} rows: {report.codes_created} new codes, "
        f"{report.concepts_created} new concepts, {report.categories_created} new categories, "
        f"{report.codes_updated} codes moved to another concept"
    )
