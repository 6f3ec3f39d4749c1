"""Pairwise votes collected elsewhere, imported from CSV into a study (``imported_votes``).

Columns: ``model_a``, ``model_b``, ``winner`` (``a``, ``b``, ``tie`` or ``both_bad``, any case;
the older spellings ``bothbad``, ``both-bad`` and ``both bad`` are stored as ``both_bad``), and
optionally ``participant``, ``language``, ``category``. Every row is checked first; if any row
is bad nothing is imported, and each problem is reported with its line number. A file is
identified by its *source* name (by default the file's base name): importing a source again
replaces the rows of the earlier import in the same transaction, so re-importing never
duplicates votes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete

from codearena.store import Store
from codearena.store.research_models import ImportedVote
from codearena.store.vocabulary import VOTE_VALUES, VoteValue, vote_value

REQUIRED = ("model_a", "model_b", "winner")
OPTIONAL = ("participant", "language", "category")
WINNERS: tuple[VoteValue, ...] = VOTE_VALUES
LIMITS = {"model_a": 200, "model_b": 200, "participant": 200, "language": 64, "category": 64}
MAX_SOURCE = 300


@dataclass(frozen=True)
class ImportRow:
    line: int
    model_a: str
    model_b: str
    winner: VoteValue
    participant: str | None = None
    language: str | None = None
    category: str | None = None


@dataclass
class ParsedVotes:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class VotesImportError(ValueError):
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


def parse_votes(text: str) -> ParsedVotes:
    """Rows and problems of a CSV text ("line N: ..."; the header is line 1)."""
    parsed = ParsedVotes()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        parsed.errors.append(f"line 1: not a CSV header ({exc})")
        return parsed
    if not header:
        parsed.errors.append(
            "line 1: the file is empty; expected the columns model_a,model_b,winner"
        )
        return parsed
    columns = [(c or "").strip() for c in header]
    reader.fieldnames = columns
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        parsed.errors.append(f"line 1: missing column(s) {', '.join(missing)}")
        return parsed
    try:
        for record in reader:
            line = reader.line_num  # the record's (last) physical line; blank lines are skipped
            problem = _check(record)
            if problem:
                parsed.errors.append(f"line {line}: {problem}")
                continue
            parsed.rows.append(
                ImportRow(
                    line=line,
                    model_a=str(_clean(record["model_a"])),
                    model_b=str(_clean(record["model_b"])),
                    winner=_winner(record.get("winner")),
                    **{c: _clean(record.get(c)) for c in OPTIONAL},
                )
            )
    except csv.Error as exc:
        parsed.errors.append(f"line {reader.line_num}: {exc}")
    if not parsed.rows and not parsed.errors:
        parsed.errors.append("the file has a header but no votes")
    return parsed


def _winner(value: str | None) -> VoteValue:
    winner = vote_value(value)
    assert winner is not None  # _check has refused the row otherwise
    return winner


def _check(record: dict[str | None, str | None]) -> str | None:
    if record.get(None):
        return "more fields than columns"
    model_a, model_b = _clean(record.get("model_a")), _clean(record.get("model_b"))
    if model_a is None or model_b is None:
        blank = [c for c, v in (("model_a", model_a), ("model_b", model_b)) if v is None]
        return f"blank {' and '.join(blank)}"
    if model_a == model_b:
        return f"the same model twice ({model_a!r})"
    if vote_value(_clean(record.get("winner"))) is None:
        given = _clean(record.get("winner"))
        return f"winner must be one of {', '.join(WINNERS)}, got {given!r}"
    for column, limit in LIMITS.items():
        value = _clean(record.get(column))
        if value is not None and len(value) > limit:
            return f"{column} is longer than {limit} characters"
    return None


def read_votes_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VotesImportError([f"{path.name}: not UTF-8 text ({exc.reason})"]) from exc
    except OSError as exc:
        raise VotesImportError([f"cannot read {path}: {exc.strerror}"]) from exc


def import_votes(store: Store, study_id: str, text: str, source: str) -> ImportOutcome:
    """Check every row, then replace the rows of ``source`` in the study with the file's rows in
    one transaction. Raises ``VotesImportError`` (nothing imported) if any row is bad."""
    source = source.strip()
    if not source or len(source) > MAX_SOURCE:
        raise VotesImportError([f"the source name must have 1 to {MAX_SOURCE} characters"])
    parsed = parse_votes(text)
    if parsed.errors:
        raise VotesImportError(parsed.errors)
    with store.session() as session:
        removed = session.execute(
            delete(ImportedVote).where(
                ImportedVote.study_id == study_id, ImportedVote.source == source
            )
        )
        replaced = int(getattr(removed, "rowcount", 0) or 0)
        session.add_all(
            ImportedVote(
                study_id=study_id,
                source=source,
                line=row.line,
                model_a=row.model_a,
                model_b=row.model_b,
                winner=row.winner,
                participant=row.participant,
                language=row.language,
                category=row.category,
            )
            for row in parsed.rows
        )
    return ImportOutcome(study_id, source, len(parsed.rows), replaced)
