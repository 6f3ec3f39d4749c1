"""The task file of a controlled study: the suite format, tests optional, errors by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codearena.studies.errors import StudyError
from codearena.studies.task_file import load_task_file
from codearena.testspecs import spec_from_json


def _write(tmp_path: Path, *items: object) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n\n", encoding="utf-8")
    return path


def test_tasks_keep_order_category_language_and_every_test_form(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"id": "t1", "prompt": "Parse a CSV", "category": " parsing ", "language": "py"},
        {"id": "t2", "prompt": "Sum", "examples": [{"stdin": "1 2\n", "stdout": "3\n"}]},
        {
            "id": "t3",
            "prompt": "add",
            "check": "def check(c):\n    assert c(1, 2) == 3\n",
            "entry_point": "add",
        },
        {"id": "t4", "prompt": "tests", "tests": "assert True\n", "language": "Python"},
    )
    tasks = load_task_file(path)
    assert [t.key for t in tasks] == ["t1", "t2", "t3", "t4"]
    assert (tasks[0].category, tasks[0].language, tasks[0].tests) == ("parsing", "python", None)
    assert tasks[1].language is None
    io = spec_from_json(tasks[1].tests)
    assert io is not None and io.kind == "io" and io.examples == [("1 2\n", "3\n")]
    humaneval = spec_from_json(tasks[2].tests)
    assert humaneval is not None and humaneval.entry_point == "add"
    assert tasks[3].tests is not None and tasks[3].tests["kind"] == "python"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"prompt": "x"}, "line 2: 'id' is required"),
        ({"id": "t1", "prompt": "again"}, "line 2: duplicate id 't1'"),
        ({"id": "t2", "prompt": "x", "language": "cobol"}, "line 2"),
        ({"id": "t2", "prompt": "x", "category": 5}, "line 2: 'category' must be a string"),
        ({"id": "t2", "prompt": "x", "tests": "a", "examples": []}, "exactly one of"),
        ({"id": "t2", "prompt": "x", "check": "def check(c): pass"}, "entry_point"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, line: object, message: str) -> None:
    path = _write(tmp_path, {"id": "t1", "prompt": "ok"}, line)
    with pytest.raises(StudyError, match=message):
        load_task_file(path)


def test_empty_missing_and_not_json(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(StudyError, match="no tasks"):
        load_task_file(empty)
    with pytest.raises(StudyError, match="cannot read the task file"):
        load_task_file(tmp_path / "missing.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "t1", "prompt": "x"}\nnot json\n', encoding="utf-8")
    with pytest.raises(StudyError, match="line 2: invalid JSON"):
        load_task_file(broken)
