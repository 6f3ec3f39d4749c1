"""``codearena coding codebook export|import``: the Typer sub-app ``coding_app``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from codearena.coding.csvio import export_codebook, import_codebook
from codearena.coding.errors import CodebookError, CodingError
from codearena.config import load_settings
from codearena.store import Store
from codearena.store.repo import StudyNotFound, find_study

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


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _store() -> Store:
    return Store(load_settings().database_url)


def _study_id(store: Store, ref: str) -> str:
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
    store = _store()
    try:
        text = export_codebook(store, _study_id(store, study))
    except CodingError as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    if str(out) == "-":
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror}")
    typer.echo(f"wrote {text.count(chr(10)) - 1} codes to {out}")


@codebook_app.command("import")
def codebook_import(
    file: Annotated[Path, typer.Argument(help="a CSV with question,code,concept,category")],
    study: StudyOption,
) -> None:
    """Create and update codes, concepts and categories from a CSV (all or nothing)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
    store = _store()
    try:
        report = import_codebook(store, _study_id(store, study), data)
    except CodebookError as exc:
        typer.echo(f"error: {file}: nothing was imported", err=True)
        for problem in exc.problems:
            typer.echo(f"  {file}: {problem}", err=True)
        raise typer.Exit(2) from None
    except CodingError as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    typer.echo(
        f"imported {report.rows} rows: {report.codes_created} new codes, "
        f"{report.concepts_created} new concepts, {report.categories_created} new categories, "
        f"{report.codes_updated} codes moved to another concept"
    )
