"""What a test run copies into its processes: the runner's source (``_remote``) and the pytest
stand-in."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def remote_source() -> str:
    """The source of ``_remote.py``, the runner on both sides of a test run: copied into a run as
    ``codearena_remote.py``, or loaded once by the fork server. Read on first use only."""
    return Path(__file__).with_name("_remote.py").read_text(encoding="utf-8")


PYTEST_SHIM = r'''
"""Minimal stand-in for pytest inside the sandbox: raises, approx, param, mark.parametrize."""
import math


def _matches(error, expected):
    """``expected`` is a class (or a tuple of them), or a handle to one of the candidate's
    classes: the candidate's exceptions carry their class names along the MRO."""
    if isinstance(expected, tuple):
        return any(_matches(error, e) for e in expected)
    if isinstance(expected, type):
        return isinstance(error, expected)
    name = getattr(expected, "_name", "")
    return bool(name) and name in getattr(error, "_codearena_names", ())


class _Raises:
    def __init__(self, exc, match=None):
        self.exc, self.match, self.value = exc, match, None

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            raise AssertionError("DID NOT RAISE %r" % (self.exc,))
        if not isinstance(ev, Exception) or not _matches(ev, self.exc):
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
    def __init__(self, expected, rel=None, abs=None):
        self.expected = expected
        self.rel = 1e-6 if rel is None else rel
        self.abs = 1e-12 if abs is None else abs

    def _close(self, expected, other):
        if isinstance(expected, dict):
            return (
                isinstance(other, dict)
                and set(expected) == set(other)
                and all(self._close(expected[k], other[k]) for k in expected)
            )
        if isinstance(expected, (list, tuple)):
            return (
                isinstance(other, (list, tuple))
                and len(expected) == len(other)
                and all(self._close(e, o) for e, o in zip(expected, other))
            )
        if isinstance(expected, (int, float)) and isinstance(other, (int, float)):
            if math.isinf(expected) or math.isinf(other):
                return expected == other
            return math.isclose(other, expected, rel_tol=self.rel, abs_tol=self.abs)
        return expected == other

    def __eq__(self, other):
        return self._close(self.expected, other)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "approx(%r)" % (self.expected,)


class _Param:
    def __init__(self, values, id=None):
        self.values, self.id = tuple(values), id


def param(*values, id=None, marks=()):
    return _Param(values, id)


class _Mark:
    def parametrize(self, names, values, ids=None, **_):
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        single = len(names) == 1
        rows = []
        for index, value in enumerate(values):
            label = None
            if isinstance(value, _Param):
                label, value = value.id, value.values
                value = value if not single or len(value) != 1 else value
            else:
                value = (value,) if single else tuple(value)
            if label is None and ids is not None:
                label = ids(value[0] if single else value) if callable(ids) else list(ids)[index]
            rows.append((str(label) if label is not None else "-".join(map(repr, value)), value))

        def deco(fn):
            earlier = getattr(fn, "_codearena_params", None)
            if earlier is None:
                fn._codearena_params = rows
            else:  # stacked: every combination, the outer decorator's values last
                fn._codearena_params = [
                    ("%s-%s" % (inner_label, label), inner + value)
                    for label, value in rows
                    for inner_label, inner in earlier
                ]
            return fn

        return deco

    def __getattr__(self, name):
        return lambda *a, **k: (a[0] if a and callable(a[0]) and not k else (lambda fn: fn))


mark = _Mark()
'''
