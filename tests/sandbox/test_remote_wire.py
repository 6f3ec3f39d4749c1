"""The plain-data wire of the test harness (``sandbox/_remote.py``), checked on the host."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from codearena.sandbox import _remote

PLAIN: list[Any] = [
    None,
    True,
    0,
    -(10**40),
    1.5,
    float("inf"),
    "text\x1b",
    b"\x00\xff",
    1 - 2j,
    [1, [2, (3,)]],
    (1, "a"),
    {"k": [1], 2: "two", (1, 2): None},
    {1, 2},
    frozenset({"a"}),
]


def _no_handles(handle: int, kind: str, name: str = "") -> Any:
    raise AssertionError("no handle expected")


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_values_round_trip_with_their_types(value: Any) -> None:
    wire = json.loads(json.dumps(_remote.encode(value)))
    back = _remote.decode(wire, _no_handles)
    assert back == value and type(back) is type(value)


def test_nan_round_trips() -> None:
    back = _remote.decode(_remote.encode(float("nan")), _no_handles)
    assert back != back


class _Int(int):
    pass


@pytest.mark.parametrize("value", [object(), len, [object()], {"a": len}])
def test_anything_else_is_not_plain(value: Any) -> None:
    with pytest.raises(_remote.NotPlainData):
        _remote.encode(value)


class _Yes(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


def test_subclasses_of_plain_types_cross_as_their_plain_value() -> None:
    for value, plain in ((_Int(1), 1), (_Yes(0), 0), ({"a": _Yes(2)}, {"a": 2})):
        back = _remote.decode(_remote.encode(value), _no_handles)
        assert back == plain and type(back) is type(plain)
    assert type(_remote.decode(_remote.encode(_Yes(0)), _no_handles)) is int  # its __eq__ stays


def test_standard_types_cross_as_themselves() -> None:
    import collections
    import datetime
    import decimal
    import fractions

    point = collections.namedtuple("Point", "x y")
    values: list[Any] = [
        collections.Counter("aab"),
        collections.OrderedDict([(1, 2)]),
        collections.defaultdict(list, {"k": [1]}),
        collections.deque([1, 2]),
        point(1, 2),
        decimal.Decimal("1.10"),
        fractions.Fraction(1, 3),
        datetime.date(2026, 12, 1),
        datetime.datetime(2026, 12, 1, 12, 30),
        datetime.timedelta(days=1, seconds=5),
        2**10000,
        -(2**70),
    ]
    for value in values:
        back = _remote.decode(json.loads(json.dumps(_remote.encode(value))), _no_handles)
        assert back == value and type(back).__name__ == type(value).__name__, value
    assert _remote.decode(_remote.encode(point(1, 2)), _no_handles).y == 2


def test_non_plain_values_become_handles_only_when_asked() -> None:
    kept: list[Any] = []

    def keep(value: Any) -> Any:
        kept.append(value)
        return {"$h": len(kept) - 1, "$type": type(value).__name__}

    marker = object()
    wire = _remote.encode([1, marker], keep)
    assert kept == [marker]
    assert _remote.decode(wire, lambda h, kind, name: ("handle", h, kind)) == [
        1,
        ("handle", 0, "object"),
    ]


@pytest.mark.parametrize(
    "wire",
    [
        {"$t": 5},
        {"$x": []},
        {"$d": [[1]]},
        {"$b": "!!"},
        {"$f": "1e999"},
        {"$h": "0"},
        {"$h": 0, "$type": 1},
        {"a": 1, "b": 2},
        {"$c": ["a", 1]},
    ],
)
def test_malformed_wire_data_is_rejected(wire: Any) -> None:
    with pytest.raises((_remote.NotPlainData, ValueError)):
        _remote.decode(wire, lambda h, kind, name: None)


def test_nesting_is_bounded() -> None:
    deep: Any = []
    for _ in range(_remote.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(_remote.NotPlainData):
        _remote.encode(deep)
    wire: Any = []
    for _ in range(_remote.MAX_DEPTH + 5):
        wire = [wire]
    with pytest.raises(_remote.NotPlainData):
        _remote.decode(wire, lambda h, kind, name: None)


def test_framing_rejects_bad_headers_and_sizes() -> None:
    a, b = socket.socketpair()
    with a, b:
        _remote.send(a, {"ok": 1})
        assert _remote.receive(b) == {"ok": 1}
        a.sendall(b"zzzzzzzz")
        with pytest.raises(_remote.NotPlainData):
            _remote.receive(b)
        a.sendall(b"%08x" % (_remote.MAX_MESSAGE + 1))
        with pytest.raises(_remote.NotPlainData):
            _remote.receive(b)
        a.sendall(b"00000003{no")
        with pytest.raises(_remote.NotPlainData):
            _remote.receive(b)
        a.close()
        with pytest.raises(EOFError):
            _remote.receive(b)
