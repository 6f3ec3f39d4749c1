"""Reading an export back with the standard library (CSV, JSONL) and pyarrow (Parquet)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from codearena.exports import TABLES


def read_rows(directory: Path, table: str) -> list[dict[str, Any]]:
    """One file's rows as dicts (CSV cells are strings, as a CSV reader sees them)."""
    fmt = json.loads((directory / "manifest.json").read_text())["format"]
    path = directory / f"{table}.{fmt}"
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def header(directory: Path, table: str) -> list[str]:
    fmt = json.loads((directory / "manifest.json").read_text())["format"]
    path = directory / f"{table}.{fmt}"
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle))
    if fmt == "jsonl":
        return list(json.loads(path.read_text(encoding="utf-8").splitlines()[0]))
    names: list[str] = pq.read_schema(path).names
    return names


def all_text(directory: Path) -> str:
    """Every file's content as text (Parquet decoded first: its pages are compressed)."""
    parts = [(directory / "manifest.json").read_text(encoding="utf-8")]
    for spec in TABLES:
        rows = read_rows(directory, spec.name)
        parts.append(json.dumps(rows, ensure_ascii=False, default=str))
        for path in directory.glob(f"{spec.name}.*"):
            if path.suffix != ".parquet":
                parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)
