"""``export_study``: one study's tables written to a directory, the manifest last.

The files are written into a hidden sibling directory and moved into place only once the
manifest is written, so a failed export leaves no directory behind, let alone a manifest that
describes files which are not there.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codearena import __version__
from codearena.errors import CodearenaError
from codearena.exports.collect import Rows, collect
from codearena.exports.formats import FORMATS, FormatError, file_name, write_table
from codearena.exports.pseudonyms import Pseudonymiser, sort_rows
from codearena.exports.redact import Redactor, environment_secrets
from codearena.exports.tables import TABLES
from codearena.store.db import Store, current_revision
from codearena.store.repo import StudyNotFound
from codearena.store.repo import find_study_in as find_study

MANIFEST = "manifest.json"
EXPORT_VERSION = 2  # the layout of an export; bumped when files or columns change


class ExportError(CodearenaError):
    """The export cannot be made; the message says why (the CLI exits 2)."""


@dataclass
class TableInfo:
    name: str
    file: str
    rows: int
    columns: list[dict[str, str]]


@dataclass
class Manifest:
    codearena_version: str
    export_version: int
    study_id: str
    study_name: str
    exported_at: str
    format: str
    schema_revision: str | None
    pseudonymisation: dict[str, Any]
    redactions: int
    tables: list[TableInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        values = dict(data)
        values["tables"] = [TableInfo(**t) for t in data["tables"]]
        return cls(**values)

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except FileNotFoundError as exc:
            raise ExportError(f"{directory} is not a codearena export: no {MANIFEST}") from exc
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ExportError(f"{path} is not a valid export manifest: {exc}") from exc

    def table(self, name: str) -> TableInfo:
        for info in self.tables:
            if info.name == name:
                return info
        raise KeyError(name)


def prepare_rows(rows: Rows, pseudonymiser: Pseudonymiser, redactor: Redactor) -> Rows:
    """Pseudonymised, redacted and sorted: exactly what is written."""
    result = redactor.rows(pseudonymiser.apply(rows))
    for spec in TABLES:
        sort_rows(result[spec.name], spec.sort_key)
    return result


def _check_target(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise ExportError(f"{out_dir} is not empty: choose a new directory (or --overwrite)")
        if not (out_dir / MANIFEST).is_file():
            raise ExportError(f"{out_dir} is not empty and not an earlier export: not replacing it")


def _make_staging(out_dir: Path) -> Path:
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=parent))
    except OSError as exc:
        raise ExportError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc


def _move_into_place(staging: Path, out_dir: Path) -> None:
    old: Path | None = None
    if out_dir.is_dir():
        if any(out_dir.iterdir()):  # an earlier export, checked by _check_target
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
        else:
            out_dir.rmdir()
    staging.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_study(
    store: Store,
    study: str,
    out_dir: Path | str,
    fmt: str,
    *,
    pseudonyms: str = "sequential",
    salt: str | None = None,
    secrets: Iterable[str] = (),
    overwrite: bool = False,
) -> Manifest:
    """Write one file per table of ``study`` (an id or a unique name) and ``manifest.json``.

    ``secrets`` are extra values to redact, besides key-like environment variables.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    try:
        pseudonymiser = Pseudonymiser.create(pseudonyms, salt)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    out_dir = Path(out_dir).expanduser().absolute()
    _check_target(out_dir, overwrite)
    with store.session() as session:
        try:
            found = find_study(session, study)
        except StudyNotFound as exc:
            raise ExportError(str(exc)) from exc
        study_id, study_name = found.id, found.name
        raw = collect(session, found)
    redactor = Redactor({*environment_secrets(), *secrets})
    rows = prepare_rows(raw, pseudonymiser, redactor)

    staging = _make_staging(out_dir)
    try:
        manifest = Manifest(
            codearena_version=__version__,
            export_version=EXPORT_VERSION,
            study_id=study_id,
            study_name=study_name,
            exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
            format=fmt,
            schema_revision=current_revision(store.engine),
            pseudonymisation=pseudonymiser.describe(),
            redactions=redactor.count,
        )
        for spec in TABLES:
            name = file_name(spec, fmt)
            write_table(staging / name, spec, rows[spec.name], fmt)
            columns = [{"name": n, "type": t} for n, t in spec.columns]
            manifest.tables.append(TableInfo(spec.name, name, len(rows[spec.name]), columns))
        text = json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n"
        (staging / MANIFEST).write_text(text, encoding="utf-8")
        _move_into_place(staging, out_dir)
    except FormatError as exc:
        raise ExportError(str(exc)) from exc
    except OSError as exc:
        raise ExportError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return manifest
