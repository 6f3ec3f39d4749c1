"""Replacing participant ids consistently across every file of one export.

Two methods (see docs/exports.md):

* ``sequential`` (the default): ``R001``, ``R002``, ... in the order participants joined the
  study (``created_at``, then id). It is stable for a study, so an export imported elsewhere and
  exported again carries the same ids; it reveals the order of joining and nothing else.
* ``hmac``: ``H-`` and the first 14 hex digits of HMAC-SHA256(salt, id), with a random salt per
  export (never written anywhere) unless one is given, so that two exports made with the same
  salt can be linked and nobody without the salt can link them to the platform's ids.

Participant labels of votes and ratings imported from elsewhere (``imported_votes.participant``,
``imported_ratings.participant``) are another population: they become ``E001``, ... (or ``E-`` and a HMAC) the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from codearena.exports.tables import IMPORTED_RATINGS, IMPORTED_VOTES, PARTICIPANTS, TABLES

if TYPE_CHECKING:
    from codearena.exports.collect import Rows

Method = Literal["sequential", "hmac"]
METHODS: tuple[Method, ...] = ("sequential", "hmac")
HASH_DIGITS = 14  # "H-" + 14 hex digits fits the 16 characters of a participant id


def _order(value: Any) -> tuple[bool, Any]:
    """A sort key tolerating None (None sorts last)."""
    if isinstance(value, datetime):
        return (False, value.timestamp())
    return (value is None, "" if value is None else value)


def sort_rows(rows: list[dict[str, Any]], key: Iterable[str]) -> None:
    names = list(key)
    rows.sort(key=lambda row: tuple(_order(row.get(name)) for name in names))


@dataclass
class Pseudonymiser:
    method: Method = "sequential"
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    salt_given: bool = False

    @classmethod
    def create(cls, method: str = "sequential", salt: str | None = None) -> Pseudonymiser:
        if method not in METHODS:
            raise ValueError(
                f"unknown pseudonymisation {method!r}: use one of {', '.join(METHODS)}"
            )
        if salt is not None and method != "hmac":
            raise ValueError("--salt only applies to --pseudonyms hmac")
        if salt is not None and not salt:
            raise ValueError("the salt is empty")
        checked = method
        if salt is None:
            return cls(checked)
        return cls(checked, salt.encode("utf-8"), True)

    def describe(self) -> dict[str, Any]:
        """What the manifest says about it (never the salt)."""
        if self.method == "sequential":
            return {"method": "sequential", "participants": "R###", "imported": "E###"}
        return {
            "method": "hmac-sha256",
            "salt": "given" if self.salt_given else "random, not kept",
            "participants": "H-" + "x" * HASH_DIGITS,
            "imported": "E-" + "x" * HASH_DIGITS,
        }

    def _hash(self, prefix: str, value: str) -> str:
        digest = hmac.new(self.salt, f"{prefix}\0{value}".encode(), hashlib.sha256).hexdigest()
        return f"{prefix}-{digest[:HASH_DIGITS]}"

    def _mapping(self, prefix: str, ordered: list[str]) -> dict[str, str]:
        mapping: dict[str, str] = {}
        if self.method == "sequential":
            width = max(3, len(str(len(ordered))))
            mapping = {raw: f"{prefix}{n:0{width}d}" for n, raw in enumerate(ordered, 1)}
        else:
            mapping = {raw: self._hash(prefix, raw) for raw in ordered}
        if len(set(mapping.values())) != len(mapping):
            raise RuntimeError("two participants got the same pseudonym: export again")
        return mapping

    def apply(self, rows: Rows) -> Rows:
        """A copy of ``rows`` with every participant id replaced."""
        participants = list(rows.get(PARTICIPANTS.name, []))
        sort_rows(participants, ("created_at", "id"))
        ordered = [str(p["id"]) for p in participants]
        known = set(ordered)
        extra: set[str] = set()  # ids in other tables without a participant row (kept apart)
        for spec in TABLES:
            for row in rows.get(spec.name, []):
                for column in spec.participant_columns:
                    value = row.get(column)
                    if value is not None and value not in known:
                        extra.add(str(value))
        platform = self._mapping(
            "R" if self.method == "sequential" else "H", ordered + sorted(extra)
        )

        labels: dict[str, None] = {}
        for table in (IMPORTED_VOTES, IMPORTED_RATINGS):  # one population: people from elsewhere
            imported = list(rows.get(table.name, []))
            sort_rows(imported, ("imported_at", "source", "line", "id"))
            labels |= {
                str(r["participant"]): None for r in imported if r.get("participant") is not None
            }
        others = self._mapping("E", list(labels))

        def replace(columns: Iterable[str], mapping: dict[str, str]) -> Callable[[Any], Any]:
            names = set(columns)
            return lambda row: {
                k: (mapping[str(v)] if k in names and v is not None else v) for k, v in row.items()
            }

        result: Rows = {}
        for spec in TABLES:
            change = replace(spec.participant_columns, platform)
            if spec is IMPORTED_VOTES or spec is IMPORTED_RATINGS:
                change = replace(("participant",), others)
            result[spec.name] = [change(row) for row in rows.get(spec.name, [])]
        return result
