"""Tests as data: the one serialisation of a ``TestSpec`` (what ``tasks.tests`` and
``study_tasks.tests`` store, and what every door reads back), the suite format's test fields,
and the one parser of input/output examples (the JSON list of ``generate --examples`` and of a
suite's ``examples``; the text form of the web's task form).

Imports the sandbox's ``TestSpec`` and the error base only, so any front door can use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, get_args

from codearena.errors import CodearenaError
from codearena.sandbox.testing import TestKind, TestSpec

KINDS: tuple[str, ...] = get_args(TestKind)
EXAMPLES_FORMAT = "each example needs its input, a line `=>`, then the output"


class TestsError(CodearenaError, ValueError):
    """Tests that cannot be read; the message says where and what to change."""

    __test__ = False  # not a pytest test class


def spec_to_json(spec: TestSpec, **extra: Any) -> dict[str, Any]:
    """The stored form: every field of the spec (examples as ``[stdin, stdout]`` lists), plus
    ``extra`` keys (a bench task keeps its ``problem_id``), which :func:`spec_from_json`
    ignores."""
    data = dataclasses.asdict(spec)
    data["examples"] = [[given, expected] for given, expected in spec.examples]
    return {**extra, **data}


def spec_from_json(data: Mapping[str, Any] | None) -> TestSpec | None:
    """The spec a stored ``tests`` value describes (None for none); every field survives, so a
    HumanEval task run from the web gets its entry point and prelude as the CLI does."""
    if not data:
        return None
    kind = data.get("kind")
    if kind not in KINDS:
        raise TestsError(f"stored tests have an unknown kind {kind!r} (expected one of {KINDS})")
    timeout = data.get("call_timeout_s")
    return TestSpec(
        kind,
        code=str(data.get("code") or ""),
        examples=[(str(given), str(expected)) for given, expected in data.get("examples") or []],
        entry_point=data.get("entry_point"),
        prelude=str(data.get("prelude") or ""),
        call_timeout_s=float(timeout) if timeout is not None else None,
    )


def examples_from_json(data: Any, where: str) -> list[tuple[str, str]]:
    """A non-empty JSON list of ``{"stdin": ..., "stdout": ...}`` objects (``stdin`` optional)
    as (stdin, expected stdout) pairs; ``where`` names the source in the error."""
    if not isinstance(data, list) or not data:
        raise TestsError(
            f'{where}: expected a non-empty JSON list of {{"stdin": ..., "stdout": ...}} objects'
        )
    pairs = []
    for number, example in enumerate(data, 1):
        if not isinstance(example, dict) or not isinstance(example.get("stdout"), str):
            raise TestsError(
                f"{where}: example {number} needs 'stdout' as a string (and optionally 'stdin')"
            )
        stdin = example.get("stdin", "")
        if not isinstance(stdin, str):
            raise TestsError(f"{where}: example {number}: 'stdin' must be a string")
        pairs.append((stdin, example["stdout"]))
    return pairs


def examples_from_text(raw: str) -> list[tuple[str, str]]:
    """The web form's examples: blocks of ``input``, a line ``=>``, then the expected output,
    separated by ``---`` lines. The input gets its final newline back."""
    examples = []
    for block in raw.replace("\r\n", "\n").split("\n---\n"):
        if not block.strip():
            continue
        given, sep, expected = block.partition("\n=>\n")
        if not sep:
            raise TestsError(EXAMPLES_FORMAT)
        examples.append((given + "\n", expected))
    return examples


def spec_from_item(item: Mapping[str, Any], where: str) -> TestSpec:
    """The tests of one item in the suite format: exactly one of ``tests`` (Python test code),
    ``examples`` (see :func:`examples_from_json`) or ``check`` with ``entry_point`` (HumanEval
    style, with an optional trusted ``prelude``)."""
    forms = [key for key in ("tests", "examples", "check") if key in item]
    if len(forms) != 1:
        raise TestsError(f"{where}: give exactly one of 'tests', 'examples' or 'check'")
    if "tests" in item:
        if not isinstance(item["tests"], str):
            raise TestsError(f"{where}: 'tests' must be a string of Python test code")
        return TestSpec("python", item["tests"])
    if "check" in item:
        if not isinstance(item["check"], str) or not isinstance(item.get("entry_point"), str):
            raise TestsError(f"{where}: 'check' needs a string and an 'entry_point'")
        prelude = item.get("prelude", "")
        if not isinstance(prelude, str):
            raise TestsError(f"{where}: 'prelude' must be a string of Python code")
        return TestSpec(
            "humaneval", item["check"], entry_point=item["entry_point"], prelude=prelude
        )
    return TestSpec("io", examples=examples_from_json(item["examples"], f"{where}: 'examples'"))
