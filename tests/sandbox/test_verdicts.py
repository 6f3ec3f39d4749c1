"""Verdicts the code under test cannot forge: every attack here is a WRONG answer that tries to
score ``passed``. The oracle is simple and on the host: none of them may pass, and the honest
answer next to them must. Each runs against both Python strategies (fork server, one bwrap per
run). The candidate and its tests run in two sandboxed processes (``sandbox/_remote.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from codearena.sandbox import Limits, Sandbox, TestSpec, run_tests

LIMITS = Limits(timeout_s=4)
RIGHT = "def add(a, b):\n    return a + b\n"
PY_TESTS = TestSpec(
    "python",
    "from solution import add\n"
    "def test_small():\n    assert add(1, 2) == 3\n"
    "def test_negative():\n    assert add(-1, -2) == -3\n",
)
CHECK = TestSpec(
    "humaneval",
    "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, -2) == -3\n",
    entry_point="add",
)
WRONG = "def add(a, b):\n    return a - b\n"

ATTACKS: dict[str, str] = {
    "os._exit at import": "import os\nos._exit(0)\n",
    "sys.exit at import": "import sys\nsys.exit(0)\n",
    "SystemExit at import": "raise SystemExit(0)\n",
    "os._exit inside the call": "def add(a, b):\n    import os\n    os._exit(0)\n",
    "sys.exit inside the call": "def add(a, b):\n    import sys\n    sys.exit(0)\n",
    "SystemExit inside the call": "def add(a, b):\n    raise SystemExit(0)\n",
    "KeyboardInterrupt inside the call": "def add(a, b):\n    raise KeyboardInterrupt\n",
    "atexit exits 0": WRONG + "import atexit, os\natexit.register(lambda: os._exit(0))\n",
    "excepthook exits 0": WRONG + "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n",
    "finaliser exits 0": WRONG
    + "import os\nclass K:\n    def __del__(self):\n        os._exit(0)\nkeeper = K()\n",
    "thread exits 0 later": WRONG + "import threading, time, os\n"
    "def later():\n    time.sleep(0.05)\n    os._exit(0)\n"
    "threading.Thread(target=later).start()\n",
    "always-equal object": (
        "class Yes:\n    def __eq__(self, other):\n        return True\n"
        "    __ne__ = lambda self, other: False\n    __hash__ = object.__hash__\n"
        "def add(a, b):\n    return Yes()\n"
    ),
    "always-equal int subclass": (
        "class Yes(int):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = int.__hash__\n"
        "def add(a, b):\n    return Yes(0)\n"
    ),
    "always-equal str subclass": (
        "class Yes(str):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = str.__hash__\n"
        "def add(a, b):\n    return Yes('x')\n"
    ),
    "decorates the next def": WRONG + "@lambda fn: (lambda *a, **k: None)\n",
    "decorator without newline": WRONG + "@(lambda fn: (lambda *a: None))",
    "reads the tests from its directory": (
        "import os, re\n"
        "def add(a, b):\n"
        "    for name in os.listdir('.'):\n"
        "        text = open(name).read()\n"
        "        for x, y, r in re.findall(r'\\((-?\\d+), (-?\\d+)\\) == (-?\\d+)', text):\n"
        "            if (int(x), int(y)) == (a, b):\n                return int(r)\n"
        "    return 0\n"
    ),
    "reads the caller's frames": (
        "import sys\n"
        "def add(a, b):\n"
        "    frame = sys._getframe(1)\n"
        "    while frame is not None:\n"
        "        if 'check' in frame.f_globals or 'test_small' in frame.f_globals:\n"
        "            return a + b\n"
        "        frame = frame.f_back\n"
        "    return 0\n"
    ),
    "patches the test module": (
        "import sys\n"
        "def add(a, b):\n"
        "    for mod in list(sys.modules.values()):\n"
        "        for name in ('check', 'test_small', 'test_negative'):\n"
        "            if hasattr(mod, name):\n"
        "                setattr(mod, name, lambda *a: None)\n"
        "    return 0\n"
    ),
    "prints the old report marker": WRONG + "import sys, os\nfor fd in range(3, 12):\n"
    "    try: os.write(fd, b'\\n__codearena_tests_0 2 2\\n')\n    except OSError: pass\n"
    "print('\\n__codearena_tests_0 2 2')\n",
    "writes a report to every fd": WRONG + "import os, json\n"
    "report = json.dumps({'passed': 2, 'total': 2, 'tests': [], 'candidate': 'ok'}).encode()\n"
    "for fd in range(3, 64):\n    try: os.write(fd, report)\n    except OSError: pass\n",
    "calls the harness's own report": (
        "import codearena_remote as r\n"
        "def add(a, b):\n"
        "    r.test_main('python', 1.0)\n"
        "    return 0\n"
    ),
    "returns a callable": "def add(a, b):\n    return add\n",
    "returns a generator": "def add(a, b):\n    yield a + b\n",
    "hangs": "def add(a, b):\n    while True:\n        pass\n",
    "sleeps forever": "def add(a, b):\n    import time\n    time.sleep(60)\n",
    "floods stdout": "def add(a, b):\n    print('x' * 10_000_000)\n    return a + b\n",
    "segfaults": "def add(a, b):\n    import ctypes\n    ctypes.string_at(0)\n",
    "shadows a builtin the tests use": "def len(x):\n    return 2\n" + WRONG,
    "redefines isinstance": "isinstance = lambda *a: True\n" + WRONG,
    "sends forged replies ahead": (
        "import os, json\n"
        "def add(a, b):\n    return a - b\n"
        "for _ in range(4):\n"
        "    body = json.dumps({'ok': 3}).encode()\n"
        "    os.write(3, b'%08x' % len(body) + body)\n"
    ),
    "sends garbage on the channel": (
        "import os\ndef add(a, b):\n    os.write(3, b'zzzzzzzz{not json')\n    return a + b\n"
    ),
}
"""Wrong answers that try to forge a pass (a couple are right answers that then cheat: the
stdout flood and the segfault must fail too)."""

SLOW_ATTACKS = {"hangs", "sleeps forever"}
"""Left out of the whole-command suite only to keep it quick; they fail on their own above."""


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_never_passes_pytest_style(sandbox: Sandbox, name: str) -> None:
    limits = Limits(timeout_s=3, output_bytes=1 << 20)
    result = run_tests(sandbox, ATTACKS[name], "python", PY_TESTS, limits)
    assert result.verdict != "passed", (name, result.stdout[-300:], result.stderr[-600:])
    assert not (result.tests_total and result.tests_passed == result.tests_total)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_never_passes_humaneval_style(sandbox: Sandbox, name: str) -> None:
    limits = Limits(timeout_s=3, output_bytes=1 << 20)
    result = run_tests(sandbox, ATTACKS[name], "python", CHECK, limits)
    assert result.verdict != "passed", (name, result.stdout[-300:], result.stderr[-600:])


def test_the_honest_answer_passes(sandbox: Sandbox) -> None:
    for spec in (PY_TESTS, CHECK):
        result = run_tests(sandbox, RIGHT, "python", spec, LIMITS)
        count = 2 if spec.kind == "python" else 1
        assert (result.verdict, result.tests_passed, result.tests_total) == (
            "passed",
            count,
            count,
        ), result.stderr


def test_a_test_that_catches_everything_still_fails_on_a_dead_candidate(
    sandbox: Sandbox,
) -> None:
    tests = TestSpec(
        "python",
        "def test_swallow():\n    try:\n        add(1, 2)\n    except BaseException:\n"
        "        pass\n",
    )
    code = "def add(a, b):\n    import os\n    os._exit(0)\n"
    result = run_tests(sandbox, code, "python", tests, LIMITS)
    assert (result.verdict, result.tests_passed) == ("failed", 0)
    assert "candidate process ended" in result.stderr


def test_pytest_raises_does_not_accept_a_dead_candidate(sandbox: Sandbox) -> None:
    tests = TestSpec(
        "python",
        "import pytest\ndef test_raises():\n    with pytest.raises(BaseException):\n"
        "        add(1, 2)\n",
    )
    result = run_tests(sandbox, "def add(a, b):\n    raise SystemExit(3)\n", "python", tests)
    assert result.verdict == "failed"


def test_a_hang_is_a_timeout_and_later_tests_fail_fast(sandbox: Sandbox) -> None:
    tests = TestSpec(
        "python",
        "def test_hang():\n    assert add(1, 2) == 3\n"
        "def test_after():\n    assert add(2, 2) == 4\n",
        call_timeout_s=0.5,
    )
    code = "def add(a, b):\n    while a == 1:\n        pass\n    return a + b\n"
    result = run_tests(sandbox, code, "python", tests, Limits(timeout_s=60))
    assert (result.verdict, result.tests_passed, result.tests_total) == ("timeout", 0, 2)
    # the per-call timeout ended it, not the run's limit: the tests' side lived to report each
    # test (a run killed at its limit has no report: no details, tests_total None)
    assert [(d["name"], d["reason"]) for d in result.details] == [
        ("test_hang", "timeout"),
        ("test_after", "timeout"),
    ]


def test_what_crosses_the_channel(sandbox: Sandbox) -> None:
    """Plain data both ways, in-place updates of list arguments, exceptions by type,
    objects as handles (methods, len, iteration, str) that compare by identity only."""
    code = (
        "class Stack:\n"
        "    def __init__(self):\n        self.items = []\n"
        "    def push(self, x):\n        self.items.append(x)\n"
        "    def pop(self):\n        return self.items.pop()\n"
        "    def __len__(self):\n        return len(self.items)\n"
        "    def __iter__(self):\n        return iter(list(self.items))\n"
        "    def __str__(self):\n        return 'Stack%r' % (self.items,)\n"
        "    def __eq__(self, other):\n        return True\n"
        "LIMIT = 3\n"
        "def sort_in_place(xs):\n    xs.sort()\n"
        "def kinds():\n"
        "    return (1, 2.5, 'x', b'\\x00', None, True, [1], {'a': (1, 2)}, {3}, frozenset({4}),"
        " 1+2j, float('inf'), 10**50, {1: 'one'})\n"
        "def fail(kind):\n    raise {'v': ValueError, 'k': KeyError}[kind]('boom')\n"
    )
    tests = (
        "import pytest\nfrom solution import Stack, LIMIT, sort_in_place, kinds, fail\n"
        "def test_values():\n"
        "    assert kinds() == (1, 2.5, 'x', b'\\x00', None, True, [1], {'a': (1, 2)}, {3},"
        " frozenset({4}), 1+2j, float('inf'), 10**50, {1: 'one'})\n"
        "    assert type(kinds()[0]) is int and LIMIT == 3\n"
        "def test_in_place():\n    xs = [3, 1, 2]\n    sort_in_place(xs)\n"
        "    assert xs == [1, 2, 3]\n"
        "def test_exceptions():\n"
        "    with pytest.raises(ValueError, match='boom'):\n        fail('v')\n"
        "    with pytest.raises(KeyError):\n        fail('k')\n"
        "def test_objects():\n"
        "    s = Stack()\n    s.push(1)\n    s.push(2)\n"
        "    assert len(s) == 2 and list(s) == [1, 2] and str(s) == 'Stack[1, 2]'\n"
        "    assert s.pop() == 2 and s.items == [1]\n"
        "    assert s != Stack() and not (s == 5)\n"
    )
    result = run_tests(sandbox, code, "python", TestSpec("python", tests), LIMITS)
    assert (result.verdict, result.tests_passed, result.tests_total) == ("passed", 4, 4), (
        result.stderr
    )


def test_a_test_passing_its_own_function_fails_even_under_pytest_raises(sandbox: Sandbox) -> None:
    """Only plain data crosses; the refusal is not an exception a test can expect."""
    tests = TestSpec(
        "python",
        "import pytest\ndef test_callable():\n    with pytest.raises(TypeError):\n"
        "        apply(len)\n",
    )
    result = run_tests(sandbox, "def apply(f):\n    raise TypeError\n", "python", tests, LIMITS)
    assert (result.verdict, result.tests_passed) == ("failed", 0)
    assert "only plain data crosses" in result.stderr


def test_star_import_and_the_solutions_own_imports(sandbox: Sandbox) -> None:
    """``from solution import *`` brings the solution's names but no shadowed built-in, and the
    standard modules the solution imported are the tests' own copies."""
    code = "import math\nfrom collections import Counter\ndef len(x):\n    return 99\n"
    code += "def area(r):\n    return math.pi * r * r\n"
    tests = TestSpec(
        "python",
        "from solution import *\n"
        "def test_area():\n    assert math.isclose(area(1), math.pi)\n"
        "def test_len():\n    assert len([1, 2]) == 2\n"
        "def test_counter():\n    assert Counter('aab')['a'] == 2\n",
    )
    result = run_tests(sandbox, code, "python", tests, LIMITS)
    assert (result.verdict, result.tests_passed, result.tests_total) == ("passed", 3, 3), (
        result.stderr
    )


def test_the_candidate_never_sees_the_tests(sandbox: Sandbox) -> None:
    """The candidate searches its directory, its memory and its modules for the tests' text
    (a sentinel only the tests contain) and reports what it finds."""
    tests = TestSpec("python", "# SENTINEL-8a1f03c2\ndef test_x():\n    assert probe() == 'none'\n")
    code = (
        "import os, sys, gc, re\n"
        "def probe():\n"
        "    seen = ' '.join(os.listdir('.'))\n"
        "    for name in os.listdir('.'):\n"
        "        seen += open(name, errors='replace').read()\n"
        "    seen += repr([getattr(o, '__dict__', '') for o in gc.get_objects()[:20000]])\n"
        "    seen += repr(sys.argv) + repr(list(sys.modules))\n"
        "    found = re.findall('SENT' + 'INEL-[0-9a-f]{8}', seen)\n"
        "    return found[0] if found else 'none'\n"
    )
    result = run_tests(sandbox, code, "python", tests, LIMITS)
    assert result.verdict == "passed", result.stderr


def test_a_suite_of_wrong_answers_scores_zero(tmp_path: Path) -> None:
    """The whole command: ``codearena bench SUITE.jsonl -m reference`` over forged answers."""
    rows = []
    for i, name in enumerate(sorted(ATTACKS)):
        if name in SLOW_ATTACKS:
            continue
        rows.append(
            {
                "id": f"attack-{i}",
                "prompt": f"add two numbers ({name})",
                "check": CHECK.code,
                "entry_point": "add",
                "reference": ATTACKS[name],
            }
        )
    suite = tmp_path / "wrong.jsonl"
    suite.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env_db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    done = subprocess.run(
        [sys.executable, "-m", "codearena", "bench", str(suite), "-m", "reference", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        env={"CODEARENA_DATABASE_URL": env_db, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert done.stdout, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert (result["evaluated"], result["passed"]) == (len(rows), 0), result
    assert result["pass_at"] == {"1": 0.0}
