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


def _no_handles(handle: int, kind: str) -> Any:
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


@pytest.mark.parametrize("value", [_Int(1), object(), len, [object()], {"a": _Int(2)}])
def test_anything_else_is_not_plain(value: Any) -> None:
    with pytest.raises(_remote.NotPlainData):
        _remote.encode(value)


def test_non_plain_values_become_handles_only_when_asked() -> None:
    kept: list[Any] = []

    def keep(value: Any) -> Any:
        kept.append(value)
        return {"$h": len(kept) - 1, "$type": type(value).__name__}

    marker = object()
    wire = _remote.encode([1, marker], keep)
    assert kept == [marker]
    assert _remote.decode(wire, lambda h, kind: ("handle", h, kind)) == [
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
        _remote.decode(wire, lambda h, kind: None)


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
        _remote.decode(wire, lambda h, kind: None)


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
