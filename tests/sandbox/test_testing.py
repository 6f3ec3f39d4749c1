from __future__ import annotations

import pytest

from codearena.sandbox import Limits, Sandbox, SandboxError, TestSpec, run_tests

ADD = "def add(a, b):\n    return a + b\n"


def test_python_test_functions_counted(sandbox: Sandbox) -> None:
    tests = (
        "from solution import add\nimport pytest\n"
        "def test_ok():\n    assert add(1, 2) == 3\n"
        "def test_bad():\n    assert add(1, 1) == 3\n"
        "@pytest.mark.parametrize('x', [1, 2, 3])\ndef test_param(x):\n    assert add(x, 0) == x\n"
        "def test_raises():\n    with pytest.raises(TypeError):\n        add(1, None)\n"
    )
    result = run_tests(sandbox, ADD, "python", TestSpec("python", tests))
    assert (result.verdict, result.tests_passed, result.tests_total) == ("failed", 5, 6)
    assert "FAILED test_bad" in result.stderr


def test_python_plain_asserts(sandbox: Sandbox) -> None:
    ok = run_tests(sandbox, ADD, "py", TestSpec("python", "assert add(2, 2) == 4"))
    assert (ok.verdict, ok.tests_passed, ok.tests_total) == ("passed", 1, 1)
    bad = run_tests(sandbox, ADD, "py", TestSpec("python", "assert add(2, 2) == 5"))
    assert (bad.verdict, bad.tests_passed, bad.tests_total) == ("failed", 0, 1)


def test_python_solution_import_error(sandbox: Sandbox) -> None:
    result = run_tests(sandbox, "def broken(:\n", "python", TestSpec("python", "assert True"))
    assert result.verdict == "error" and "SyntaxError" in result.stderr


def test_python_solution_exiting_early_is_not_a_pass(sandbox: Sandbox) -> None:
    result = run_tests(
        sandbox, "import sys\nsys.exit(0)", "python", TestSpec("python", "assert False")
    )
    assert result.verdict == "error"


def test_io_examples_any_language(sandbox: Sandbox) -> None:
    spec = TestSpec("io", examples=[("2\n", "4\n"), ("3\n", "6   \n\n"), ("5\n", "11\n")])
    py = run_tests(sandbox, "print(int(input()) * 2)", "python", spec)
    assert (py.verdict, py.tests_passed, py.tests_total) == ("failed", 2, 3)
    sh = run_tests(
        sandbox, "read n; echo $((n * 2))", "bash", TestSpec("io", examples=spec.examples[:2])
    )
    assert (sh.verdict, sh.tests_passed, sh.tests_total) == ("passed", 2, 2)


def test_io_compile_error_and_timeout(sandbox: Sandbox) -> None:
    spec = TestSpec("io", examples=[("", "x\n"), ("", "x\n")])
    broken = run_tests(sandbox, "int main( {", "c", spec)
    assert broken.verdict == "compile_error" and broken.tests_passed == 0
    slow = run_tests(sandbox, "while True: pass", "python", spec, Limits(timeout_s=1))
    assert slow.verdict == "timeout" and slow.tests_total == 2


def test_humaneval_kind(sandbox: Sandbox) -> None:
    check = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 6\n"
    spec = TestSpec("humaneval", check, entry_point="inc")
    assert run_tests(sandbox, "def inc(x):\n    return x + 1\n", "python", spec).verdict == "passed"
    wrong = run_tests(sandbox, "def inc(x):\n    return x\n", "python", spec)
    assert (wrong.verdict, wrong.tests_passed, wrong.tests_total) == ("failed", 0, 1)
    raising = run_tests(sandbox, "def inc(x):\n    raise KeyError(x)\n", "python", spec)
    assert raising.verdict == "error"


def test_bad_specs(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError):
        run_tests(sandbox, "x", "c", TestSpec("python", "assert True"))
    with pytest.raises(SandboxError):
        run_tests(sandbox, "x", "python", TestSpec("io"))
    with pytest.raises(SandboxError):
        run_tests(sandbox, "x", "python", TestSpec("humaneval", "def check(c): pass"))


def test_each_plain_assert_is_one_test(sandbox: Sandbox) -> None:
    """Plain-assert tests: one test per assert run; asserts a failure kept from running fail."""
    tests = (
        "assert add(1, 1) == 2\n"
        "for x in range(3):\n    assert add(x, 0) == x\n"
        "def helper(v):\n    assert v\n    return v\n"
        "assert helper(add(1, 2)) == 3\n"
    )
    ok = run_tests(sandbox, ADD, "python", TestSpec("python", tests))
    assert (ok.verdict, ok.tests_passed, ok.tests_total) == ("passed", 5, 5)
    broken = run_tests(
        sandbox, "def add(a, b):\n    return 2\n", "python", TestSpec("python", tests)
    )
    assert (broken.verdict, broken.tests_passed, broken.tests_total) == ("failed", 1, 3)
    names = [(d["name"], d["ok"], d["reason"]) for d in broken.details]
    assert names[1] == ("assert (line 3)", False, "assertion")
    assert names[-1] == ("assert (line 7)", False, "not reached")


def test_plain_asserts_never_run_are_not_a_pass(sandbox: Sandbox) -> None:
    tests = "if __name__ == '__main__':\n    assert add(1, 1) == 2\n"
    result = run_tests(sandbox, ADD, "python", TestSpec("python", tests))
    assert (result.verdict, result.tests_passed, result.tests_total) == ("failed", 0, 1)
