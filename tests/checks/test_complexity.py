"""McCabe complexity computed from the ast, on functions whose complexity is known by hand."""

from __future__ import annotations

import ast

import pytest

from codearena.checks import check_code, complexity_summary, unit_complexities

BRANCHY = """
def g(items, flag):
    total = 0
    for x in items:            # +1
        if x > 0 and flag:     # +1 (if) +1 (and)
            total += x
        elif x < 0:            # +1
            total -= x
        else:
            total += 1
    return total
"""


def _complexities(source: str) -> dict[str, int]:
    return {u.name: u.complexity for u in unit_complexities(ast.parse(source))}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("    return x\n", 1),
        ("    if x:\n        return 1\n    return 2\n", 2),
        ("    while x:\n        x -= 1\n    else:\n        pass\n", 3),
        ("    try:\n        pass\n    except A:\n        pass\n    except B:\n        pass\n", 3),
        ("    try:\n        pass\n    finally:\n        pass\n", 1),
        ("    with x:\n        assert x\n", 1),
        ("    return x and y or z\n", 3),
        ("    return 1 if x else 2\n", 2),
        ("    return [a for a in x if a if a > 1]\n", 4),
        ("    return {a: b for a in x for b in a}\n", 3),
        (
            "    match x:\n        case 1:\n            pass\n        case [y] if y:\n"
            "            pass\n        case _:\n            pass\n",
            3,
        ),
        ("    f = lambda v: v or x\n    return f\n", 2),
    ],
)
def test_one_function(body: str, expected: int) -> None:
    assert _complexities("def f(x, y=None, z=None):\n" + body) == {"f": expected}


def test_if_elif_else_for_and() -> None:
    assert _complexities(BRANCHY) == {"g": 5}


def test_nested_functions_and_methods_are_separate_units() -> None:
    source = """
class C:
    def m(self, x):
        def inner(y):
            return y if y else x
        return inner
"""
    assert _complexities(source) == {"C.m": 1, "C.m.<locals>.inner": 2}


def test_module_unit_only_when_the_module_has_code() -> None:
    assert _complexities("import os\n" + BRANCHY) == {"g": 5}
    with_main = BRANCHY + "\nif __name__ == '__main__':\n    g([], True)\n"
    assert _complexities(with_main) == {"<module>": 2, "g": 5}
    assert _complexities("print(1)\n") == {"<module>": 1}


def test_max_and_mean_over_several_functions() -> None:
    source = BRANCHY + "\n\ndef h():\n    return 0\n\n\ndef k(a):\n    if a:\n        return 1\n"
    highest, mean = complexity_summary(ast.parse(source))
    assert highest == 5.0
    assert mean == pytest.approx(8 / 3)
    report = check_code(source, "python")
    assert report.complexity_max == 5.0
    assert report.complexity_mean == pytest.approx(8 / 3)


def test_deep_nesting_does_not_exhaust_the_stack() -> None:
    tree = ast.parse("x = " + " or ".join(["a"] * 5000))
    assert complexity_summary(tree) == (5000.0, 5000.0)


def test_other_languages_have_no_complexity() -> None:
    report = check_code("int main() { return 0; }", "c")
    assert report.complexity_max is None and report.complexity_mean is None
