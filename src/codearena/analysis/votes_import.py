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
from codearena.store.research_models import ImportedVote
from codearena.store.vocabulary import VOTE_VALUES, VoteValue, vote_value

__all__ = ["ImportOutcome", "VotesImportError", "import_votes", "parse_votes", "read_votes_file"]

REQUIRED = ("model_a", "model_b", "winner")
OPTIONAL = ("participant", "language", "category")
WINNERS: tuple[VoteValue, ...] = VOTE_VALUES
LIMITS = {"model_a": 200, "model_b": 200, "participant": 200, "language": 64, "category": 64}


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


class VotesImportError(CsvImportError):
    """The votes file cannot be imported; ``problems`` lists every bad line."""


def parse_votes(text: str) -> ParsedVotes:
    """Rows and problems of a CSV text ("line N: ..."; the header is line 1)."""
    parsed = ParsedVotes()
    for line, record in records(text, REQUIRED, parsed.errors, "votes"):
        problem = _check(record)
        if problem:
            parsed.errors.append(f"line {line}: {problem}")
            continue
        parsed.rows.append(
            ImportRow(
                line=line,
                model_a=str(clean(record["model_a"])),
                model_b=str(clean(record["model_b"])),
                winner=_winner(record.get("winner")),
                **{c: clean(record.get(c)) for c in OPTIONAL},
            )
        )
    return parsed


def _winner(value: str | None) -> VoteValue:
    winner = vote_value(value)
    assert winner is not None  # _check has refused the row otherwise
    return winner


def _check(record: Record) -> str | None:
    model_a, model_b = clean(record.get("model_a")), clean(record.get("model_b"))
    if model_a is None or model_b is None:
        blank = [c for c, v in (("model_a", model_a), ("model_b", model_b)) if v is None]
        return f"blank {' and '.join(blank)}"
    if model_a == model_b:
        return f"the same model twice ({model_a!r})"
    if vote_value(clean(record.get("winner"))) is None:
        given = clean(record.get("winner"))
        return f"winner must be one of {', '.join(WINNERS)}, got {given!r}"
    return too_long(record, LIMITS)


def read_votes_file(path: Path) -> str:
    return read_file(path, VotesImportError)


def import_votes(store: Store, study_id: str, text: str, source: str) -> ImportOutcome:
    """Check every row, then replace the rows of ``source`` in the study with the file's rows in
    one transaction. Raises ``VotesImportError`` (nothing imported) if any row is bad."""
    source = checked_source(source, VotesImportError)
    parsed = parse_votes(text)
    if parsed.errors:
        raise VotesImportError(parsed.errors)
    added, replaced = replace_source(
        store,
        ImportedVote,
        study_id,
        source,
        (
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
        ),
    )
    return ImportOutcome(study_id, source, added, replaced)
