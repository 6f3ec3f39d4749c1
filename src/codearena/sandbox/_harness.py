"""The Python test runner and pytest shim copied into the sandbox next to the solution."""

from __future__ import annotations

RUNNER = r"""
import os, sys, traceback
sys.path.insert(0, os.getcwd())
sys.dont_write_bytecode = True
NONCE = __NONCE__

def _report(passed, total, code):
    sys.stdout.flush()
    sys.stdout.write("\n%s %d %d\n" % (NONCE, passed, total))
    sys.stdout.flush()
    os._exit(code)

try:
    import solution
except BaseException:
    traceback.print_exc()
    print("codearena: importing the solution failed", file=sys.stderr)
    os._exit(2)

ns = {"__name__": "test_solution", "__file__": "test_solution.py"}
ns.update({k: v for k, v in vars(solution).items() if not k.startswith("__")})
with open("test_solution.py", encoding="utf-8") as fh:
    source = fh.read()
module_failed = False
try:
    exec(compile(source, "test_solution.py", "exec"), ns)
except AssertionError:
    traceback.print_exc()
    module_failed = True
except BaseException:
    traceback.print_exc()
    print("codearena: loading the tests failed", file=sys.stderr)
    _report(0, 1, 2)

cases = []
for name, fn in list(ns.items()):
    if name.startswith("test") and callable(fn) and getattr(fn, "__module__", None) == "test_solution":
        params = getattr(fn, "_codearena_params", None)
        if params is None:
            cases.append((name, fn, ()))
        else:
            for args in params:
                cases.append(("%s%r" % (name, tuple(args)), fn, tuple(args)))
passed = 0
total = len(cases) + (1 if module_failed or not cases else 0)
if not cases and not module_failed:
    passed = 1
for name, fn, args in cases:
    try:
        fn(*args)
        passed += 1
    except BaseException:
        print("FAILED %s" % name, file=sys.stderr)
        traceback.print_exc()
_report(passed, total, 0 if passed == total else 1)
"""

PYTEST_SHIM = r'''
"""Minimal stand-in for pytest inside the sandbox: raises, approx, mark.parametrize."""
import math


class _Raises:
    def __init__(self, exc, match=None):
        self.exc, self.match, self.value = exc, match, None

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            raise AssertionError("DID NOT RAISE %r" % (self.exc,))
        if not issubclass(et, self.exc):
            return False
        if self.match is not None:
            import re
            assert re.search(self.match, str(ev)), "pattern %r not found in %r" % (self.match, str(ev))
        self.value = ev
        return True


def raises(exc, *args, match=None, **kwargs):
    if args:
        with _Raises(exc, match):
            args[0](*args[1:], **kwargs)
        return None
    return _Raises(exc, match)


class approx:
    def __init__(self, expected, rel=1e-6, abs=1e-12):
        self.expected, self.rel, self.abs = expected, rel, abs

    def __eq__(self, other):
        exp = self.expected
        if isinstance(exp, (list, tuple)):
            return len(exp) == len(other) and all(approx(e, self.rel, self.abs) == o for e, o in zip(exp, other))
        return math.isclose(other, exp, rel_tol=self.rel, abs_tol=self.abs)

    def __repr__(self):
        return "approx(%r)" % (self.expected,)


class _Mark:
    def parametrize(self, names, values):
        single = isinstance(names, str) and "," not in names

        def deco(fn):
            fn._codearena_params = [(v,) if single else tuple(v) for v in values]
            return fn

        return deco

    def __getattr__(self, name):
        return lambda *a, **k: (a[0] if a and callable(a[0]) and not k else (lambda fn: fn))


mark = _Mark()
'''
