"""Writing and reading one table in each export format.

* CSV: UTF-8, a header row, RFC 4180 quoting; an empty cell is null; timestamps ISO 8601 (UTC);
  booleans ``true``/``false``; JSON columns as JSON text.
* JSONL: one JSON object per line with native JSON types; timestamps ISO 8601 strings.
* Parquet: typed columns (string, int64, double, bool, timestamp[us, UTC]); JSON columns as
  JSON text in string columns. Needs pyarrow.
"""

from __future__ import annotations

import csv
import importlib
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codearena.exports.tables import ColumnType, TableSpec, utc

if TYPE_CHECKING:
    from codearena.exports.collect import Row

FORMATS = ("csv", "jsonl", "parquet")
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


class FormatError(Exception):
    """A file cannot be written or read in the requested format."""


def file_name(spec: TableSpec, fmt: str) -> str:
    return f"{spec.name}.{EXTENSIONS[fmt]}"


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _iso(value: datetime) -> str:
    aware = utc(value)
    assert aware is not None
    return aware.isoformat(timespec="microseconds")


def pyarrow() -> Any:
    """The pyarrow module (imported on demand: only Parquet needs it)."""
    try:
        return importlib.import_module("pyarrow")
    except ModuleNotFoundError as exc:
        raise FormatError("Parquet needs pyarrow: pip install pyarrow") from exc


def _csv_cell(value: Any, kind: ColumnType) -> str:
    if value is None:
        return ""
    if kind == "json":
        return _json_text(value)
    if kind == "timestamp":
        return _iso(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "float":
        return repr(float(value))
    return str(value)


def _jsonl_value(value: Any, kind: ColumnType) -> Any:
    if value is None:
        return None
    if kind == "timestamp":
        return _iso(value)
    if kind == "float":
        return float(value)
    if kind == "boolean":
        return bool(value)
    return value


def write_table(path: Path, spec: TableSpec, rows: list[Row], fmt: str) -> None:
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(spec.column_names)
            for row in rows:
                writer.writerow([_csv_cell(row[name], kind) for name, kind in spec.columns])
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            for row in rows:
                record = {name: _jsonl_value(row[name], kind) for name, kind in spec.columns}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif fmt == "parquet":
        _write_parquet(path, spec, rows)
    else:
        raise FormatError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def _arrow_type(pa: Any, kind: ColumnType) -> Any:
    return {
        "string": pa.string(),
        "json": pa.string(),
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[kind]


def _write_parquet(path: Path, spec: TableSpec, rows: list[Row]) -> None:
    pa = pyarrow()
    parquet = importlib.import_module("pyarrow.parquet")
    schema = pa.schema([(name, _arrow_type(pa, kind)) for name, kind in spec.columns])
    columns: dict[str, list[Any]] = {}
    for name, kind in spec.columns:
        values = [row[name] for row in rows]
        if kind == "json":
            values = [None if v is None else _json_text(v) for v in values]
        elif kind == "timestamp":
            values = [utc(v) for v in values]
        elif kind == "float":
            values = [None if v is None else float(v) for v in values]
        columns[name] = values
    parquet.write_table(pa.table(columns, schema=schema), str(path))


def _decode(value: Any, kind: ColumnType) -> Any:
    if value is None:
        return None
    if kind == "timestamp":
        return utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
    if kind == "float":
        return float(value)
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value


def read_table(path: Path, spec: TableSpec, fmt: str) -> list[Row]:
    """The rows of one lossless file (JSONL or Parquet), with canonical values."""
    if fmt == "jsonl":
        rows = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FormatError(f"{path.name} line {number}: invalid JSON ({exc})") from exc
                rows.append(_checked(path, number, record, spec))
        return rows
    if fmt == "parquet":
        pa = pyarrow()
        parquet = importlib.import_module("pyarrow.parquet")
        try:
            records = parquet.read_table(str(path)).to_pylist()
        except pa.ArrowException as exc:
            raise FormatError(f"{path.name}: not a readable Parquet file ({exc})") from exc
        rows = []
        for number, record in enumerate(records, 1):
            for name, kind in spec.columns:
                if kind == "json" and record.get(name) is not None:
                    record[name] = json.loads(record[name])
            rows.append(_checked(path, number, record, spec))
        return rows
    raise FormatError(
        f"a {fmt} export cannot be imported: only jsonl and parquet keep nulls and types exactly"
    )


def _checked(path: Path, number: int, record: Any, spec: TableSpec) -> Row:
    if not isinstance(record, dict) or set(record) != set(spec.column_names):
        raise FormatError(
            f"{path.name} row {number}: expected the columns {', '.join(spec.column_names)}"
        )
    try:
        return {name: _decode(record[name], kind) for name, kind in spec.columns}
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{path.name} row {number}: {exc}") from exc
