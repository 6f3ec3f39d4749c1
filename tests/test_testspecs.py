"""Tests as data: one serialisation every door reads back, one parser of examples."""

from __future__ import annotations

import json

import pytest

from codearena.sandbox import TestSpec
from codearena.suites.loader import load_humaneval
from codearena.testspecs import (
    TestsError,
    examples_from_json,
    examples_from_text,
    spec_from_item,
    spec_from_json,
    spec_to_json,
)

SPECS = [
    TestSpec("python", "def test_one():\n    assert solution.f() == 1\n"),
    TestSpec("io", examples=[("1 2\n", "3\n"), ("", "hello\n")]),
    TestSpec(
        "humaneval", "def check(c):\n    assert c(1)\n", entry_point="f", prelude="import m\n"
    ),
    TestSpec("python", "assert f() == 2\n", call_timeout_s=1.5),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_every_field_survives_the_stored_form(spec: TestSpec) -> None:
    stored = json.loads(json.dumps(spec_to_json(spec, problem_id="HumanEval/0")))
    assert stored["problem_id"] == "HumanEval/0"
    assert spec_from_json(stored) == spec


def test_a_humaneval_task_reads_back_with_its_entry_point_and_prelude() -> None:
    """What a bench task stores is what the web's Run button runs (it once lost both)."""
    problem = load_humaneval()[32]
    back = spec_from_json(json.loads(json.dumps(spec_to_json(problem.tests))))
    assert back == problem.tests
    assert back is not None and back.entry_point and back.prelude == problem.prompt


def test_no_tests_and_bad_kinds() -> None:
    assert spec_from_json(None) is None and spec_from_json({}) is None
    with pytest.raises(TestsError, match="unknown kind 'unit'"):
        spec_from_json({"kind": "unit"})


def test_examples_from_json() -> None:
    data = [{"stdin": "2\n", "stdout": "4\n"}, {"stdout": "x"}]
    assert examples_from_json(data, "ex.json") == [("2\n", "4\n"), ("", "x")]
    for bad, message in [
        ([], "non-empty JSON list"),
        ({"stdout": "x"}, "non-empty JSON list"),
        ([{"stdin": "1"}], "example 1 needs 'stdout'"),
        ([{"stdout": "1"}, {"stdout": 2}], "example 2 needs 'stdout'"),
        ([{"stdin": 3, "stdout": "1"}], "example 1: 'stdin' must be a string"),
    ]:
        with pytest.raises(TestsError, match=message) as caught:
            examples_from_json(bad, "ex.json")
        assert str(caught.value).startswith("ex.json: ")


def test_examples_from_text() -> None:
    raw = "1 2\r\n=>\r\n3\r\n---\r\n\n---\n5\n=>\n5\n"
    assert examples_from_text(raw) == [("1 2\n", "3"), ("5\n", "5\n")]
    with pytest.raises(TestsError, match="a line `=>`"):
        examples_from_text("no arrow here")


def test_the_suite_format() -> None:
    assert spec_from_item({"tests": "assert 1"}, "s:1").kind == "python"
    spec = spec_from_item({"check": "def check(c): pass", "entry_point": "f"}, "s:1")
    assert (spec.kind, spec.entry_point) == ("humaneval", "f")
    assert spec_from_item({"examples": [{"stdout": "1"}]}, "s:1").examples == [("", "1")]
    for item, message in [
        ({}, "exactly one of"),
        ({"tests": "x", "check": "y"}, "exactly one of"),
        ({"tests": 1}, "'tests' must be a string"),
        ({"check": "x"}, "needs a string and an 'entry_point'"),
        ({"check": "x", "entry_point": "f", "prelude": 2}, "'prelude' must be a string"),
        ({"examples": []}, "s:3: 'examples': expected a non-empty JSON list"),
    ]:
        with pytest.raises(TestsError, match=message):
            spec_from_item(item, "s:3")
