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

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete

from codearena.store import Store
from codearena.store.research_models import ImportedRating

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
MAX_SOURCE = 300


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


class RatingsImportError(ValueError):
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


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _score(value: str | None) -> int | None:
    text = _clean(value)
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
    text = _clean(value)
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
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        parsed.errors.append(f"line 1: not a CSV header ({exc})")
        return parsed
    if not header:
        parsed.errors.append(
            f"line 1: the file is empty; expected the columns {','.join(REQUIRED)}"
        )
        return parsed
    columns = [(c or "").strip() for c in header]
    reader.fieldnames = columns
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        parsed.errors.append(f"line 1: missing column(s) {', '.join(missing)}")
        return parsed
    seen: dict[tuple[str, str, str, str], int] = {}
    try:
        for record in reader:
            line = reader.line_num
            problem = _check(record)
            minutes = _minutes(record.get("minutes_to_fix"))
            if problem is None and isinstance(minutes, str):
                problem = minutes
            if problem is None:
                key = (
                    str(_clean(record["participant"])),
                    str(_clean(record["task"])),
                    str(_clean(record["model"])),
                    str(_clean(record["dimension"])).lower(),
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
                    language=_clean(record.get("language")),
                    category=_clean(record.get("category")),
                )
            )
    except csv.Error as exc:
        parsed.errors.append(f"line {reader.line_num}: {exc}")
    if not parsed.rows and not parsed.errors:
        parsed.errors.append("the file has a header but no ratings")
    return parsed


def _check(record: dict[str | None, str | None]) -> str | None:
    if record.get(None):
        return "more fields than columns"
    blank = [c for c in REQUIRED if _clean(record.get(c)) is None]
    if blank:
        return f"blank {' and '.join(blank)}"
    if _score(record.get("score")) is None:
        return f"score must be a whole number from 1 to 5, got {_clean(record.get('score'))!r}"
    for column, limit in LIMITS.items():
        value = _clean(record.get(column))
        if value is not None and len(value) > limit:
            return f"{column} is longer than {limit} characters"
    return None


def read_ratings_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RatingsImportError([f"{path.name}: not UTF-8 text ({exc.reason})"]) from exc
    except OSError as exc:
        raise RatingsImportError([f"cannot read {path}: {exc.strerror}"]) from exc


def import_ratings(store: Store, study_id: str, text: str, source: str) -> ImportOutcome:
    """Check every row, then replace the rows of ``source`` in the study with the file's rows in
    one transaction. Raises ``RatingsImportError`` (nothing imported) if any row is bad."""
    source = source.strip()
    if not source or len(source) > MAX_SOURCE:
        raise RatingsImportError([f"the source name must have 1 to {MAX_SOURCE} characters"])
    parsed = parse_ratings(text)
    if parsed.errors:
        raise RatingsImportError(parsed.errors)
    with store.session() as session:
        removed = session.execute(
            delete(ImportedRating).where(
                ImportedRating.study_id == study_id, ImportedRating.source == source
            )
        )
        replaced = int(getattr(removed, "rowcount", 0) or 0)
        session.add_all(
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
        )
    return ImportOutcome(study_id, source, len(parsed.rows), replaced)
