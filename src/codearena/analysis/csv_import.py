"""Rows collected elsewhere, imported from a CSV file into a study: the part every such import
shares (``votes import``, ``ratings import``).

The file is read as UTF-8 (a byte-order mark is allowed); its header is line 1 and must hold the
required columns; every record is checked by the caller and each problem is reported as
``line N: ...`` (a record's last physical line; blank lines are skipped). If any line is bad
nothing is imported. A file is identified by its *source* name (by default the file's base
name): importing a source again replaces that source's rows in the same transaction, so a
re-import never duplicates rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from codearena.store import Store

MAX_SOURCE = 300
Record = dict[str | None, str | None]


class CsvImportError(ValueError):
    """The file cannot be imported; ``problems`` lists every bad line (nothing was imported)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportOutcome:
    study_id: str
    source: str
    imported: int
    replaced: int


def clean(value: str | None) -> str | None:
    """A field's text without surrounding spaces; None when blank."""
    value = (value or "").strip()
    return value or None


def too_long(record: Record, limits: Mapping[str, int]) -> str | None:
    """The first column longer than its limit, as a problem sentence, or None."""
    for column, limit in limits.items():
        value = clean(record.get(column))
        if value is not None and len(value) > limit:
            return f"{column} is longer than {limit} characters"
    return None


def read_file(path: Path, error: type[CsvImportError]) -> str:
    """The file's text, or ``error`` saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error([f"{path.name}: not UTF-8 text ({exc.reason})"]) from exc
    except OSError as exc:
        raise error([f"cannot read {path}: {exc.strerror}"]) from exc


def records(
    text: str, required: tuple[str, ...], errors: list[str], what: str
) -> Iterator[tuple[int, Record]]:
    """Each record with its line number; problems of the file itself (no header, a missing
    column, broken quoting, no record at all: "the file has a header but no ``what``") go to
    ``errors``."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        errors.append(f"line 1: not a CSV header ({exc})")
        return
    if not header:
        errors.append(f"line 1: the file is empty; expected the columns {','.join(required)}")
        return
    columns = [(c or "").strip() for c in header]
    reader.fieldnames = columns
    missing = [c for c in required if c not in columns]
    if missing:
        errors.append(f"line 1: missing column(s) {', '.join(missing)}")
        return
    seen = 0
    try:
        for record in reader:
            seen += 1
            if record.get(None):
                errors.append(f"line {reader.line_num}: more fields than columns")
                continue
            yield reader.line_num, record
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: {exc}")
    if not seen and not errors:
        errors.append(f"the file has a header but no {what}")


def checked_source(source: str, error: type[CsvImportError]) -> str:
    source = source.strip()
    if not source or len(source) > MAX_SOURCE:
        raise error([f"the source name must have 1 to {MAX_SOURCE} characters"])
    return source


def replace_source(
    store: Store, model: Any, study_id: str, source: str, rows: Iterable[Any]
) -> tuple[int, int]:
    """In one transaction: delete ``model``'s rows of ``source`` in the study, add ``rows``;
    returns (added, replaced)."""
    added = list(rows)
    with store.session() as session:
        removed = session.execute(
            delete(model).where(model.study_id == study_id, model.source == source)
        )
        session.add_all(added)
    return len(added), int(getattr(removed, "rowcount", 0) or 0)
