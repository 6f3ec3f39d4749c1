"""What a study export holds: its files, their columns and column types.

Every file of an export is one ``TableSpec``; the column types are the small vocabulary the
writers, the readers and ``docs/exports.md`` share: ``string``, ``integer``, ``float``,
``boolean``, ``timestamp`` (ISO 8601, UTC) and ``json`` (any JSON value; a string in CSV and
Parquet, a native value in JSONL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

ColumnType = Literal["string", "integer", "float", "boolean", "timestamp", "json"]
COLUMN_TYPES: tuple[ColumnType, ...] = (
    "string",
    "integer",
    "float",
    "boolean",
    "timestamp",
    "json",
)


def utc(value: datetime | None) -> datetime | None:
    """A ``timestamp`` value: aware and in UTC (a naive one is taken to be UTC already)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, ColumnType], ...]
    sort_key: tuple[str, ...]  # rows are written in this order (after pseudonymisation)
    participant_columns: tuple[str, ...] = ()  # platform participant ids, pseudonymised

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def type_of(self, column: str) -> ColumnType:
        return dict(self.columns)[column]


def _cols(spec: str) -> tuple[tuple[str, ColumnType], ...]:
    """``"id:string n:integer"`` -> ((id, string), (n, integer))."""
    columns: list[tuple[str, ColumnType]] = []
    for item in spec.split():
        name, kind = item.split(":")
        if kind not in COLUMN_TYPES:
            raise ValueError(f"unknown column type {kind!r}")
        columns.append((name, kind))
    return tuple(columns)


STUDY = TableSpec(
    "study",
    _cols(
        "id:string name:string description:string consent_text:string models:json mode:string "
        "prompt_options:json survey_name:string survey:json budget_tasks:integer "
        "budget_usd:float status:string created_at:timestamp pairing:string design:string "
        "design_seed:integer tasks_per_participant:integer"
    ),
    ("id",),
)
PARTICIPANTS = TableSpec(
    "participants",
    _cols(
        "id:string source:string consented_at:timestamp survey_completed_at:timestamp "
        "created_at:timestamp"
    ),
    ("id",),
    ("id",),
)
TASKS = TableSpec(
    "tasks",
    _cols(
        "id:string participant_id:string mode:string models:json prompt:string tests:json "
        "status:string revealed:boolean created_at:timestamp task_id:string "
        "task_created_at:timestamp task_prompt:string task_mode:string task_prompt_style:string requirement:string "
        "tone:string output_language:string temperature:float messages:json "
        "task_source:string category:string task_tests:json design_item:string"
    ),
    ("created_at", "id"),
    ("participant_id",),
)
GENERATIONS = TableSpec(
    "generations",
    _cols(
        "id:string task_id:string position:integer model:string label:string provider:string "
        "served_model:string upstream_id:string status:string text:string code:json "
        "finish_reason:string error:string error_kind:string ttft_ms:float latency_ms:float "
        "prompt_tokens:integer completion_tokens:integer tokens_estimated:boolean "
        "cost_usd:float cost_source:string attempts:integer created_at:timestamp "
        "finished_at:timestamp turn:integer parent_id:string kind:string prompt:string "
        "tool_calls:json"
    ),
    ("task_id", "position", "turn", "id"),
)
EXECUTIONS = TableSpec(
    "executions",
    _cols(
        "id:string generation_id:string task_id:string block_index:integer language:string "
        "test_kind:string verdict:string exit_code:integer signal:integer stdout:string "
        "stderr:string duration_ms:float tests_passed:integer tests_total:integer "
        "backend:string isolated:boolean source:string created_at:timestamp "
        "study_task_id:string participant_id:string position:integer"
    ),
    ("created_at", "id"),
    ("participant_id",),
)
EXECUTION_ARTIFACTS = TableSpec(
    "execution_artifacts",
    _cols(
        "id:string execution_id:string position:integer name:string media_type:string "
        "size_bytes:integer sha256:string data_base64:string note:string created_at:timestamp"
    ),
    ("execution_id", "position"),
)
API_CALLS = TableSpec(
    "api_calls",
    _cols(
        "generation_id:string task_id:string token_id:string model:string provider:string "
        "status:string error_kind:string finish_reason:string ttft_ms:float latency_ms:float "
        "prompt_tokens:integer completion_tokens:integer tokens_estimated:boolean "
        "cost_usd:float created_at:timestamp finished_at:timestamp"
    ),
    ("created_at", "generation_id"),
)
CODE_METRICS = TableSpec(
    "code_metrics",
    _cols(
        "id:string generation_id:string language:string lines:integer lint_count:integer "
        "security_count:integer syntax_ok:boolean complexity_max:float complexity_mean:float "
        "findings_per_100_lines:float lint_by_rule:json created_at:timestamp"
    ),
    ("generation_id", "id"),
)
FINDINGS = TableSpec(
    "findings",
    _cols(
        "id:string generation_id:string tool:string kind:string rule:string severity:string "
        "confidence:string cwe:integer line:integer message:string"
    ),
    ("generation_id", "tool", "line", "id"),
)
RATINGS = TableSpec(
    "ratings",
    _cols(
        "id:string study_task_id:string position:integer generation_id:string "
        "participant_id:string model:string correctness:integer quality:integer "
        "usefulness:integer minutes_to_usable:float comment:string updated_at:timestamp "
        "turn:integer"
    ),
    ("study_task_id", "position", "turn", "id"),
    ("participant_id",),
)
VOTES = TableSpec(
    "votes",
    _cols(
        "id:string study_task_id:string study_id:string participant_id:string kind:string "
        "position:integer choice:string model_a:string model_b:string model:string "
        "self_identified:boolean created_at:timestamp turn:integer turns_seen:integer"
    ),
    ("created_at", "id"),
    ("participant_id",),
)
IMPORTED_VOTES = TableSpec(
    "imported_votes",
    _cols(
        "id:string study_id:string source:string line:integer model_a:string model_b:string "
        "winner:string participant:string language:string category:string "
        "imported_at:timestamp"
    ),
    ("source", "line", "id"),
)
IMPORTED_RATINGS = TableSpec(
    "imported_ratings",
    _cols(
        "id:string study_id:string source:string line:integer participant:string task:string "
        "model:string dimension:string score:integer minutes_to_fix:float language:string "
        "category:string imported_at:timestamp"
    ),
    ("source", "line", "id"),
)
SURVEY_ANSWERS = TableSpec(
    "survey_answers",
    _cols(
        "id:string study_id:string participant_id:string question_id:string value:json "
        "raw:string updated_at:timestamp"
    ),
    ("participant_id", "question_id", "id"),
    ("participant_id",),
)
FIXES = TableSpec(
    "fixes",
    _cols(
        "id:string generation_id:string participant:string started_at:timestamp "
        "ended_at:timestamp active_seconds:float runs:integer verdict:string outcome:string "
        "lines_added:integer lines_removed:integer final_code:string"
    ),
    ("started_at", "id"),
    ("participant",),
)
DESIGN_TASKS = TableSpec(
    "design_tasks",
    _cols(
        "id:string study_id:string key:string position:integer prompt:string category:string "
        "language:string tests:json"
    ),
    ("position", "id"),
)
DESIGN_ASSIGNMENTS = TableSpec(
    "design_assignments",
    _cols(
        "participant_id:string study_id:string slot:integer condition:json items:json created_at:timestamp"
    ),
    ("slot",),
    ("participant_id",),
)
CODING_CATEGORIES = TableSpec(
    "coding_categories", _cols("id:string study_id:string name:string"), ("name", "id")
)
CODING_CONCEPTS = TableSpec(
    "coding_concepts",
    _cols("id:string study_id:string name:string category_id:string"),
    ("name", "id"),
)
CODING_CODES = TableSpec(
    "coding_codes",
    _cols("id:string study_id:string question:string name:string concept_id:string"),
    ("question", "name", "id"),
)
CODE_ASSIGNMENTS = TableSpec(
    "code_assignments",
    _cols(
        "id:string code_id:string answer_kind:string answer_id:string note:string "
        "created_at:timestamp"
    ),
    ("code_id", "answer_kind", "answer_id", "id"),
)

TABLES: tuple[TableSpec, ...] = (
    STUDY,
    PARTICIPANTS,
    TASKS,
    GENERATIONS,
    EXECUTIONS,
    EXECUTION_ARTIFACTS,
    CODE_METRICS,
    FINDINGS,
    RATINGS,
    VOTES,
    IMPORTED_VOTES,
    IMPORTED_RATINGS,
    SURVEY_ANSWERS,
    CODING_CATEGORIES,
    CODING_CONCEPTS,
    CODING_CODES,
    CODE_ASSIGNMENTS,
    FIXES,
    DESIGN_TASKS,
    DESIGN_ASSIGNMENTS,
    API_CALLS,
)
BY_NAME = {spec.name: spec for spec in TABLES}

ADDED_TABLES = frozenset(
    {
        "imported_ratings",
        "fixes",
        "design_tasks",
        "design_assignments",
        "execution_artifacts",
        "api_calls",
    }
)
"""Tables added within export layout 2: an export written before them has none, read as empty."""
ADDED_COLUMNS: dict[str, tuple[tuple[str, object], ...]] = {
    "study": (
        ("pairing", "uniform"),
        ("design", "open"),
        ("design_seed", None),
        ("tasks_per_participant", None),
    ),
    "tasks": (("design_item", None),),
    "generations": (("tool_calls", None),),
    "ratings": (("turn", 1),),
    "votes": (("turn", 1), ("turns_seen", None)),
}
"""Columns added at the end of a table within export layout 2, with the value a row of an
export written before them gets."""


def without_added(spec: TableSpec) -> TableSpec:
    """The table as an export written before its added columns has it."""
    added = {name for name, _ in ADDED_COLUMNS.get(spec.name, ())}
    columns = tuple((n, t) for n, t in spec.columns if n not in added)
    return TableSpec(spec.name, columns, spec.sort_key, spec.participant_columns)
