"""Ratings collected elsewhere, imported from CSV into a study (``imported_ratings``).

Columns: ``participant``, ``task``, ``model``, ``dimension`` (any text, stored lower case, e.g.
``correctness``), ``score`` (a whole number from 1 to 5), and optionally ``minutes_to_fix`` (a
number of minutes, 0 or more), ``language`` and ``category``. One row is one participant's score
of one model's answer to one task on one dimension; the same four twice in a file is an error.
Every row is checked first; if any row is bad nothing is imported, and each problem is reported
with its line number. A file is identified by its *source* name (by default the file's base
name): importing a source again replaces the rows of the earlier import in the same transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from codearena.analysis.csv_import import (
    CsvImportError,
    ImportOutcome,
    Record,
    checked_source,
    clean,
    read_file,
    records,
    replace_source,
    too_long,
)
from codearena.store import Store
from codearena.store.research_models import ImportedRating

__all__ = [
    "ImportOutcome",
    "RatingsImportError",
    "import_ratings",
    "parse_ratings",
    "read_ratings_file",
]

REQUIRED = ("participant", "task", "model", "dimension", "score")
OPTIONAL = ("language", "category")
LIMITS = {
    "participant": 200,
    "task": 200,
    "model": 200,
    "dimension": 64,
    "language": 64,
    "category": 64,
}
SCORES = range(1, 6)


@dataclass(frozen=True)
class RatingRow:
    line: int
    participant: str
    task: str
    model: str
    dimension: str
    score: int
    minutes_to_fix: float | None = None
    language: str | None = None
    category: str | None = None


@dataclass
class ParsedRatings:
    rows: list[RatingRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class RatingsImportError(CsvImportError):
    """The ratings file cannot be imported; ``problems`` lists every bad line."""


def _score(value: str | None) -> int | None:
    text = clean(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if not number.is_integer() or int(number) not in SCORES:
        return None
    return int(number)


def _minutes(value: str | None) -> float | str | None:
    """The minutes, None when blank, or a problem sentence."""
    text = clean(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return f"minutes_to_fix must be a number, got {text!r}"
    if not math.isfinite(number) or number < 0:
        return f"minutes_to_fix must be 0 or more, got {text!r}"
    return number


def parse_ratings(text: str) -> ParsedRatings:
    """Rows and problems of a CSV text ("line N: ..."; the header is line 1)."""
    parsed = ParsedRatings()
    seen: dict[tuple[str, str, str, str], int] = {}
    for line, record in records(text, REQUIRED, parsed.errors, "ratings"):
        problem = _check(record)
        minutes = _minutes(record.get("minutes_to_fix"))
        if problem is None and isinstance(minutes, str):
            problem = minutes
        if problem is None:
            key = (
                str(clean(record["participant"])),
                str(clean(record["task"])),
                str(clean(record["model"])),
                str(clean(record["dimension"])).lower(),
            )
            if key in seen:
                problem = f"the same participant, task, model and dimension as line {seen[key]}"
            else:
                seen[key] = line
        if problem is not None:
            parsed.errors.append(f"line {line}: {problem}")
            continue
        score = _score(record.get("score"))
        assert score is not None and not isinstance(minutes, str)  # _check refused it
        parsed.rows.append(
            RatingRow(
                line,
                *key,
                score=score,
                minutes_to_fix=minutes,
                language=clean(record.get("language")),
                category=clean(record.get("category")),
            )
        )
    return parsed


def _check(record: Record) -> str | None:
    blank = [c for c in REQUIRED if clean(record.get(c)) is None]
    if blank:
        return f"blank {' and '.join(blank)}"
    if _score(record.get("score")) is None:
        return f"score must be a whole number from 1 to 5, got {clean(record.get('score'))!r}"
    return too_long(record, LIMITS)


def read_ratings_file(path: Path) -> str:
    return read_file(path, RatingsImportError)


def import_ratings(store: Store, study_id: str, text: str, source: str) -> ImportOutcome:
    """Check every row, then replace the rows of ``source`` in the study with the file's rows in
    one transaction. Raises ``RatingsImportError`` (nothing imported) if any row is bad."""
    source = checked_source(source, RatingsImportError)
    parsed = parse_ratings(text)
    if parsed.errors:
        raise RatingsImportError(parsed.errors)
    added, replaced = replace_source(
        store,
        ImportedRating,
        study_id,
        source,
        (
            ImportedRating(
                study_id=study_id,
                source=source,
                line=row.line,
                participant=row.participant,
                task=row.task,
                model=row.model,
                dimension=row.dimension,
                score=row.score,
                minutes_to_fix=row.minutes_to_fix,
                language=row.language,
                category=row.category,
            )
            for row in parsed.rows
        ),
    )
    return ImportOutcome(study_id, source, added, replaced)
