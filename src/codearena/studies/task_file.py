"""The task file of a controlled study (``codearena study create --tasks FILE.jsonl``).

JSONL, one task per line, in the suite format (:mod:`codearena.suites.loader`, read by its
``read_items``): ``id`` and ``prompt`` (required, ids unique), optional ``category``, ``language``
(the output language asked for; none: the participant's prompt options decide nothing, the
model picks), and optional tests as in a suite: ``tests`` (Python), ``examples`` (input/output)
or ``check`` with ``entry_point`` (HumanEval style). A task without tests is answered and rated
like any other; its runs have no verdict.
"""

from __future__ import annotations

from pathlib import Path

from codearena.studies.errors import StudyError
from codearena.studies.study import TaskFileItem
from codearena.suites.loader import SuiteError, item_language, read_items
from codearena.testspecs import TestsError, spec_from_item, spec_to_json

MAX_CATEGORY = 64
MAX_TASKS = 500


def load_task_file(path: Path) -> list[TaskFileItem]:
    """The tasks of ``path`` in the file's order; a :class:`StudyError` names the line."""
    tasks: list[TaskFileItem] = []
    try:
        for where, item in read_items(path, "task file"):
            if len(item["id"]) > 200:
                raise StudyError(f"{where}: 'id' has at most 200 characters")
            category = item.get("category")
            if category is not None and (
                not isinstance(category, str) or len(category.strip()) > MAX_CATEGORY
            ):
                raise StudyError(f"{where}: 'category' must be a string of at most 64 characters")
            has_tests = any(key in item for key in ("tests", "examples", "check"))
            try:
                tests = spec_to_json(spec_from_item(item, where)) if has_tests else None
            except TestsError as exc:
                raise StudyError(str(exc)) from exc
            tasks.append(
                TaskFileItem(
                    key=item["id"],
                    prompt=item["prompt"],
                    category=(category or "").strip() or None,
                    language=item_language(item, where, default=None),
                    tests=tests,
                )
            )
    except SuiteError as exc:
        raise StudyError(str(exc)) from exc
    if not tasks:
        raise StudyError(f"{path}: the task file has no tasks")
    if len(tasks) > MAX_TASKS:
        raise StudyError(f"{path}: at most {MAX_TASKS} tasks in a study's task file")
    return tasks
