"""The pytest stand-in copied into the tests' process (see ``_remote`` for the runner)."""

from __future__ import annotations

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
