"""``codearena export`` and ``codearena import``: plain functions ``codearena.cli`` registers.

Both print ``error: ...`` on stderr and exit 2 on bad input (unknown study or format, a directory
that cannot be written, an export that cannot be imported, a study that already exists).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from codearena.config import ConfigError, load_settings
from codearena.exports.formats import FORMATS
from codearena.exports.pseudonyms import METHODS
from codearena.terminal import escape_json, printable

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported when a command runs
    from codearena.store.db import Store


def _say(line: str, err: bool = False) -> None:
    """One line for people; study names and the contents of an export being imported may hold
    anything, so control characters are shown escaped (``codearena.terminal``)."""
    typer.echo(printable(line), err=err)


def _fail(message: str) -> NoReturn:
    _say(f"error: {message}", err=True)
    raise typer.Exit(2)


def _open_store() -> tuple[Store, list[str]]:
    """The configured store, and the keys the settings resolve (to redact them)."""
    from codearena.store.db import Store, StoreError

    try:
        settings = load_settings()
        keys = [k for p in settings.providers.values() if (k := p.api_key())]
        return Store(settings.database_url), keys
    except (ConfigError, StoreError) as exc:
        _fail(str(exc))


def export_command(
    study: Annotated[str, typer.Option("--study", help="The study's id or (unique) name.")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to create (new or empty).")],
    pseudonyms: Annotated[
        str,
        typer.Option(
            "--pseudonyms",
            help="sequential (R001, R002, ... in order of joining) or hmac (keyed hash).",
        ),
    ] = "sequential",
    salt: Annotated[
        str | None,
        typer.Option("--salt", help="HMAC salt (implies --pseudonyms hmac; default: random)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier export in --out.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest.")] = False,
) -> None:
    """Export one study's tables (participants pseudonymised) and a manifest.json."""
    from codearena.exports.export import ExportError, export_study

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if pseudonyms not in METHODS:
        _fail(f"unknown --pseudonyms {pseudonyms!r}: use one of {', '.join(METHODS)}")
    if salt is not None:
        pseudonyms = "hmac"
    store, keys = _open_store()
    try:
        manifest = export_study(
            store,
            study,
            out,
            fmt,
            pseudonyms=pseudonyms,
            salt=salt,
            secrets=keys,
            overwrite=overwrite,
        )
    except ExportError as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    if as_json:
        typer.echo(escape_json(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False)))
        return
    rows = sum(t.rows for t in manifest.tables)
    _say(
        f"exported study {manifest.study_id} ({manifest.study_name}): "
        f"{len(manifest.tables)} {fmt} files, {rows} rows, to {Path(out).expanduser()}"
    )
    if manifest.redactions:
        _say(f"redacted {manifest.redactions} key-like strings", err=True)


def import_command(
    directory: Annotated[Path, typer.Argument(help="A directory written by codearena export.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="jsonl or parquet (default: the manifest's format)."),
    ] = None,
) -> None:
    """Recreate an exported study in the configured database (one transaction)."""
    from codearena.exports.importer import ImportFailure, import_export

    if fmt is not None and fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not directory.is_dir():
        _fail(f"{directory} is not a directory")
    store, _ = _open_store()
    try:
        study_id = import_export(store, directory, fmt)
    except ImportFailure as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    _say(f"imported study {study_id}")
