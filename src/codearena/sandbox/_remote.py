"""The two sides of a test run, each in its own sandboxed process; see docs/sandbox.md.

The *candidate* process imports the program under test as ``solution`` and serves calls on it.
The *test* process runs the tests; ``solution`` and ``candidate`` there are proxies whose calls
travel to the candidate over a socket (fd 3) as length-prefixed JSON. Only plain data crosses:
``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``complex``, and ``list``,
``tuple``, ``dict``, ``set``, ``frozenset`` of those (exact types, not subclasses). Anything else
the candidate returns stays in the candidate process and is seen by the test as a
``RemoteObject`` handle: its attributes, methods, iteration, ``len``, indexing, ``in``, ``str``
and ``bool`` are further remote calls, while ``==``, ``hash`` and ordering are those of the handle
(identity), so no object of the candidate's can decide a comparison. Lists, dicts and sets passed
as arguments are updated in place with the candidate's copy after each call.

The test process alone writes the report (JSON on fd 4, which the candidate never holds). A
candidate that exits, crashes, hangs past the per-call timeout or sends anything malformed fails
the test that was calling it, however the test handles exceptions, and every test after it.

This file runs inside the sandbox (standard library only): the fork server imports it once as
``codearena_remote``; otherwise it is copied into the run as ``codearena_remote.py``.
"""

from __future__ import annotations

import base64
import builtins
import json
import os
import socket
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

MAX_MESSAGE = 64 * 1024 * 1024
MAX_DEPTH = 400
MAX_INT_BITS = 1 << 22
MAX_ITEMS = 1_000_000
CHANNEL_FD = 3
REPORT_FD = 4
_HEADER = 8
_BASES: tuple[type, ...] = (int, float, complex, str, bytes, list, tuple, dict, set, frozenset)


class NotPlainData(TypeError):
    """A value that cannot cross between the processes."""


# -- plain data <-> JSON ------------------------------------------------------------------------
def encode(value: Any, other: Callable[[Any], Any] | None = None, depth: int = 0) -> Any:
    """``value`` as JSON-ready data; values that are not plain go to ``other`` (or raise).

    A few standard types cross as themselves (``Counter``, ``OrderedDict``, ``defaultdict``,
    ``deque``, named tuples, ``Decimal``, ``Fraction``, ``datetime``'s types): the receiver
    builds its own instance from plain data. Any other subclass of a plain type crosses as its
    plain base value (an ``int`` subclass as an ``int``), so its own methods stay behind.
    """
    if depth > MAX_DEPTH:
        raise NotPlainData("data nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        if -(1 << 62) < value < 1 << 62:
            return value
        if value.bit_length() > MAX_INT_BITS:
            raise NotPlainData("integer too large")
        return {"$i": hex(value)}
    if kind is float:
        return value if value == value and abs(value) != float("inf") else {"$f": repr(value)}
    if kind is list:
        return [encode(item, other, depth + 1) for item in value]
    if kind is tuple:
        return {"$t": [encode(item, other, depth + 1) for item in value]}
    if kind is dict:
        return {"$d": [[encode(k, other, depth + 1), encode(v, other, depth + 1)] for k, v in value.items()]}  # fmt: skip
    if kind is set or kind is frozenset:
        tag = "$s" if kind is set else "$fs"
        return {tag: [encode(item, other, depth + 1) for item in value]}
    if kind is bytes:
        return {"$b": base64.b64encode(value).decode()}
    if kind is complex:
        return {"$c": [encode(value.real), encode(value.imag)]}
    standard = _encode_standard(value, depth)
    if standard is not None:
        return standard
    for base in _BASES:
        if isinstance(value, base):
            return encode(_as_base(base, value), other, depth + 1)
    if other is not None:
        return other(value)
    raise NotPlainData(f"a {kind.__name__} is not plain data")


def _as_base(base: type, value: Any) -> Any:
    """The plain value of an instance of a subclass of ``base`` (its own methods not used where
    the type's slot can be called directly)."""
    if base is int:
        return int.__int__(value)
    if base is float:
        return float.__float__(value)
    if base is str:
        return str.__str__(value)
    if base is complex:
        return complex(float(value.real), float(value.imag))
    return base(value)


_STANDARD_HOMES = frozenset({"collections", "datetime", "decimal", "_decimal", "_pydecimal", "fractions"})  # fmt: skip


def _encode_standard(value: Any, depth: int) -> Any:
    is_named_tuple = isinstance(value, tuple) and hasattr(type(value), "_fields")
    if type(value).__module__ not in _STANDARD_HOMES and not is_named_tuple:
        return None  # (checked first: the imports below cost milliseconds in a fresh run)
    import collections
    import datetime
    import decimal
    import fractions

    def sub(inner: Any) -> Any:
        return encode(inner, None, depth + 1)

    if isinstance(value, collections.Counter):
        return {"$x": ["Counter", sub(dict(value))]}
    if isinstance(value, collections.OrderedDict):
        return {"$x": ["OrderedDict", sub(list(value.items()))]}
    if isinstance(value, collections.defaultdict):
        return {"$x": ["defaultdict", sub(dict(value))]}
    if isinstance(value, collections.deque):
        return {"$x": ["deque", sub(list(value))]}
    if is_named_tuple and isinstance(getattr(type(value), "_fields", None), tuple):
        fields = [str(f) for f in getattr(type(value), "_fields")]  # noqa: B009
        return {"$x": ["namedtuple", [type(value).__name__, fields, sub(list(value))]]}
    if isinstance(value, decimal.Decimal):
        return {"$x": ["Decimal", str(value)]}
    if isinstance(value, fractions.Fraction):
        return {"$x": ["Fraction", str(value)]}
    if isinstance(value, datetime.timedelta):
        return {"$x": ["timedelta", [value.days, value.seconds, value.microseconds]]}
    for name in ("datetime", "date", "time"):  # datetime before date: it is a subclass
        if isinstance(value, getattr(datetime, name)):
            return {"$x": [name, value.isoformat()]}
    return None


def _decode_standard(name: Any, inner: Any, handle: Callable[..., Any], depth: int) -> Any:
    import collections
    import datetime
    import decimal
    import fractions

    def sub(data: Any) -> Any:
        return decode(data, handle, depth + 1)

    if name == "Counter":
        return collections.Counter(_dict(sub(inner)))
    if name == "OrderedDict":
        return collections.OrderedDict(_list(sub(inner)))
    if name == "defaultdict":
        return collections.defaultdict(None, _dict(sub(inner)))
    if name == "deque":
        return collections.deque(_list(sub(inner)))
    if name == "namedtuple":
        type_name, fields, values = _list(inner)
        if type(type_name) is not str or not type_name.isidentifier():
            raise NotPlainData("malformed named tuple")
        make = collections.namedtuple(type_name, [str(f) for f in _list(fields)])  # type: ignore[misc]
        return make(*_list(sub(values)))
    if type(inner) is str and name in ("Decimal", "Fraction"):
        return decimal.Decimal(inner) if name == "Decimal" else fractions.Fraction(inner)
    if name == "timedelta":
        days, seconds, micro = (int(x) for x in _list(inner))
        return datetime.timedelta(days=days, seconds=seconds, microseconds=micro)
    if name in ("datetime", "date", "time") and type(inner) is str:
        return getattr(datetime, name).fromisoformat(inner)
    raise NotPlainData("malformed data")


def decode(data: Any, handle: Callable[..., Any], depth: int = 0) -> Any:
    """The value that ``encode`` gave ``data`` for; raises ``NotPlainData`` on anything else.
    ``handle(id, kind, name)`` makes the value of a handle."""
    if depth > MAX_DEPTH:
        raise NotPlainData("data nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, int, str):
        return data
    if kind is float:
        return data
    if kind is list:
        return [decode(item, handle, depth + 1) for item in data]
    if kind is not dict:
        raise NotPlainData("malformed data")
    if "$h" in data:
        handle_id, handle_kind = data["$h"], data.get("$type", "object")
        handle_name = data.get("$name", "")
        if set(data) - {"$h", "$type", "$name"} or type(handle_id) is not int:
            raise NotPlainData("malformed handle")
        if type(handle_kind) is not str or type(handle_name) is not str:
            raise NotPlainData("malformed handle")
        return handle(handle_id, handle_kind, handle_name)
    if len(data) != 1:
        raise NotPlainData("malformed data")
    tag, inner = next(iter(data.items()))
    if tag == "$t":
        return tuple(decode(item, handle, depth + 1) for item in _list(inner))
    if tag == "$d":
        pairs = [_list(pair) for pair in _list(inner)]
        if any(len(pair) != 2 for pair in pairs):
            raise NotPlainData("malformed dict")
        return {decode(k, handle, depth + 1): decode(v, handle, depth + 1) for k, v in pairs}
    if tag in ("$s", "$fs"):
        items = [decode(item, handle, depth + 1) for item in _list(inner)]
        return set(items) if tag == "$s" else frozenset(items)
    if tag == "$b" and type(inner) is str:
        return base64.b64decode(inner, validate=True)
    if tag == "$c":
        parts = _list(inner)
        if len(parts) != 2:
            raise NotPlainData("malformed complex")
        return complex(_number(decode(parts[0], handle)), _number(decode(parts[1], handle)))
    if tag == "$f" and inner in ("nan", "inf", "-inf"):
        return float(inner)
    if tag == "$i" and type(inner) is str and len(inner) <= MAX_INT_BITS // 4 + 4:
        return int(inner, 16)
    if tag == "$x":
        name, payload = _list(inner)
        return _decode_standard(name, payload, handle, depth)
    if tag == "$r":
        start, stop, step = (_integer(x) for x in _list(inner))
        return range(start, stop, step)
    if tag == "$it":
        return iter(decode(_list(inner), handle, depth + 1))
    raise NotPlainData("malformed data")


def _dict(value: Any) -> dict[Any, Any]:
    if type(value) is not dict:
        raise NotPlainData("malformed data")
    return value


def _integer(value: Any) -> int:
    if type(value) is not int:
        raise NotPlainData("malformed data")
    return value


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise NotPlainData("malformed data")
    return value


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise NotPlainData("malformed complex")
    return float(value)


# -- framing --------------------------------------------------------------------------------------
def send(sock: socket.socket, message: Any) -> None:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    if len(body) > MAX_MESSAGE:
        raise NotPlainData(f"message of {len(body)} bytes is over the {MAX_MESSAGE} byte limit")
    sock.sendall(b"%08x" % len(body) + body)


def receive(sock: socket.socket) -> Any:
    """The next message; ``EOFError`` when the other side is gone, ``socket.timeout`` on the
    socket's timeout, ``NotPlainData`` when what arrived is not a well-formed message."""
    header = _read(sock, _HEADER)
    try:
        size = int(header, 16)
    except ValueError:
        raise NotPlainData("malformed message header") from None
    if not 0 <= size <= MAX_MESSAGE:
        raise NotPlainData("message too large")
    try:
        return json.loads(_read(sock, size))
    except (ValueError, RecursionError):
        raise NotPlainData("malformed message") from None


def _read(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise EOFError
        chunks += chunk
    return bytes(chunks)


# -- the candidate side ------------------------------------------------------------------------------
def candidate_main() -> None:
    """Import ``solution`` and serve calls on it until the test side closes the channel."""
    sock = socket.socket(fileno=CHANNEL_FD)
    objects: dict[int, Any] = {}
    ids: dict[int, int] = {}  # id(object) -> handle: the same object is always the same handle

    def keep(value: Any) -> Any:
        handle = ids.get(id(value))
        if handle is None:
            handle = ids[id(value)] = len(objects)
            objects[handle] = value
        reply = {"$h": handle, "$type": type(value).__name__}
        if isinstance(value, type):
            reply["$name"] = value.__qualname__
        return reply

    try:
        import solution  # type: ignore[import-not-found]
    except BaseException:
        text = traceback.format_exc()
        sys.stderr.write(text)
        sys.stderr.flush()
        send(sock, {"import_error": text[-4000:]})
        os._exit(1)
    keep(solution)
    names = []
    for name, value in list(vars(solution).items()):
        if name.startswith("__"):
            continue
        if isinstance(value, types.ModuleType):  # the tests' side imports its own copy
            names.append([name, {"$m": value.__name__}])
        else:
            names.append([name, encode(value, keep)])
    send(sock, {"names": names})
    retained: dict[int, list[Any]] = {}  # argument id -> [the candidate's copy, its last JSON]
    while True:
        try:
            request = receive(sock)
        except (EOFError, OSError, NotPlainData):
            break
        reply = _serve(request, objects, keep, retained)
        try:
            send(sock, reply)
        except NotPlainData as exc:
            send(sock, {"bad": str(exc)})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _serve(request: Any, objects: dict[int, Any], keep: Callable[[Any], Any], retained: dict[int, list[Any]]) -> Any:  # fmt: skip
    """One request: the call, its printed output (so tests that capture it see it), its result
    or exception, and the new state of every list, dict or set the tests passed so far that
    changed (so the tests' own objects change as they would in one process, also when the
    candidate kept one and changes it later)."""
    import io

    def lookup(handle: int, kind: str, name: str = "") -> Any:
        return objects[handle]

    try:
        target = objects[request["h"]]
        op = request["op"]
        args = [decode(a, lookup) for a in request.get("args", [])]
        kwargs = {str(k): decode(v, lookup) for k, v in request.get("kwargs", [])}
        raw = dict(request.get("kwargs", []))
        for arg_id, where in request.get("ids", []):
            value = kwargs[where] if type(where) is str else args[where]
            retained[int(arg_id)] = [
                value,
                raw[where] if type(where) is str else request["args"][where],
            ]
    except (KeyError, TypeError, ValueError, IndexError, NotPlainData) as exc:
        return {"bad": f"malformed request: {exc}"}
    while len(retained) > _RETAINED:
        del retained[next(iter(retained))]
    captured = io.StringIO()
    real_stdout, sys.stdout = sys.stdout, captured
    try:
        if op == "getattr":
            result = getattr(target, str(request["name"]))
        elif op == "call":
            result = target(*args, **kwargs)
        elif op == "special":
            result = _SPECIAL[str(request["name"])](target, *args)
        else:
            return {"bad": f"unknown operation {op!r}"}
    except BaseException as exc:  # the candidate's exception becomes the test's
        if isinstance(exc, SystemExit | KeyboardInterrupt):
            raise
        reply: dict[str, Any] = {"raise": _describe(exc), "out": captured.getvalue()}
    else:
        try:
            reply = {"ok": encode(result, keep), "out": captured.getvalue()}
        except NotPlainData as exc:
            reply = {"bad": str(exc)}
    finally:
        if sys.stdout is captured:
            sys.stdout = real_stdout
    changed = []
    for arg_id, entry in list(retained.items()):
        try:
            state = encode(entry[0])
        except NotPlainData:  # it now holds something that cannot cross: stop following it
            del retained[arg_id]
            continue
        if state != entry[1]:
            entry[1] = state
            changed.append([arg_id, state])
    if changed:
        reply["args"] = changed
    return reply


def _describe(exc: BaseException) -> dict[str, Any]:
    """An exception as plain data: its class's names along the MRO, the nearest built-in
    exception, the defining standard module (if any) and its arguments."""
    cls = type(exc)
    builtin = next(
        (k.__name__ for k in cls.__mro__ if getattr(builtins, k.__name__, None) is k), "Exception"
    )
    module = cls.__module__ if cls.__module__.split(".")[0] in sys.stdlib_module_names else ""
    try:
        exc_args = encode(list(exc.args))
    except NotPlainData:
        exc_args = [str(exc)]
    names = [k.__qualname__ for k in cls.__mro__]
    return {"type": cls.__qualname__, "builtin": builtin, "module": module, "args": exc_args, "mro": names}  # fmt: skip


_RETAINED = 256
"""How many of the tests' lists, dicts and sets the candidate follows for changes."""

_OPERATORS = ("setitem", "delitem", "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor", "lshift", "rshift", "neg", "pos", "abs", "invert")  # fmt: skip


def _operator(name: str) -> Callable[..., Any]:
    import operator

    if name not in _OPERATORS:
        raise TypeError(f"unsupported operation {name!r}")
    return getattr(operator, name)  # type: ignore[no-any-return]


def _forwarding(name: str) -> Callable[..., Any]:
    return lambda obj, *args: _operator(name)(obj, *args)


_SPECIAL: dict[str, Callable[..., Any]] = {
    "len": len,
    "iter": iter,
    "next": next,
    "getitem": lambda obj, key: obj[key],
    "setitem": lambda obj, key, value: _operator("setitem")(obj, key, value),
    "delitem": lambda obj, key: _operator("delitem")(obj, key),
    "setattr": setattr,
    "contains": lambda obj, item: item in obj,
    "str": str,
    "repr": repr,
    "bool": bool,
    "isinstance": lambda cls, obj: isinstance(obj, cls),
    "rop": lambda obj, name, other: _operator(name)(other, obj),
    **{name: _forwarding(name) for name in _OPERATORS[2:]},
}  # fmt: skip
"""What a handle may ask of its object. Comparisons are not here, on purpose: they are decided
on the tests' side, by identity."""


# -- the test side -----------------------------------------------------------------------------------
class CandidateFailure(BaseException):
    """The candidate cannot answer: a test that meets this fails, whatever it catches.
    (``BaseException``, so that ``except Exception`` in a test does not swallow it.)"""

    reason = "error"


class CandidateTimeout(CandidateFailure):
    reason = "timeout"


class CandidateGone(CandidateFailure):
    reason = "gone"


class CandidateMisbehaved(CandidateFailure):
    reason = "bad_reply"


class RemoteError(Exception):
    """The candidate raised an exception that is not one of Python's built-in ones."""


class HarnessLimit(BaseException):
    """The test asked for something that cannot cross to the candidate (its own function as an
    argument, ...): the test fails, and ``pytest.raises`` cannot mistake it for the candidate's
    own error."""

    reason = "unsupported"


_ITERATION_ENDS = ("StopIteration", "StopAsyncIteration", "GeneratorExit")


class Channel:
    """The test side's end of the socket to the candidate."""

    def __init__(self, sock: socket.socket, call_timeout_s: float) -> None:
        self.sock = sock
        self.sock.settimeout(call_timeout_s)
        self.failure: CandidateFailure | None = None
        self.calls = 0
        self.objects: dict[int, RemoteObject] = {}
        self.passed: dict[int, Any] = {}  # argument id -> the tests' own list, dict or set

    def receive(self) -> Any:
        if self.failure is not None:
            raise type(self.failure)(*self.failure.args)
        try:
            return receive(self.sock)
        except TimeoutError:
            self.failure = CandidateTimeout("the candidate did not answer within the time limit")
        except (EOFError, OSError):
            self.failure = CandidateGone("the candidate process ended")
        except NotPlainData as exc:
            self.failure = CandidateMisbehaved(f"the candidate sent {exc}")
        raise self.failure

    def request(self, message: dict[str, Any]) -> Any:
        if self.failure is not None:
            raise type(self.failure)(*self.failure.args)
        self.calls += 1
        try:
            send(self.sock, message)
        except OSError:
            self.failure = CandidateGone("the candidate process ended")
            raise self.failure from None
        reply = self.receive()
        if type(reply) is not dict:
            self.failure = CandidateMisbehaved("the candidate sent a malformed reply")
            raise self.failure
        raised: BaseException | None = None
        try:
            out = reply.get("out", "")
            if type(out) is str and out:
                sys.stdout.write(out)  # what the call printed, where the test can capture it
            if "raise" in reply:
                raised = self._exception(_dict(reply["raise"]), message)
            elif "ok" not in reply:
                raise NotPlainData(str(reply.get("bad", "a malformed reply")))
            else:
                result = self.decode(reply["ok"])
            for arg_id, value in reply.get("args", []):
                if arg_id in self.passed:
                    _update(self.passed[arg_id], self.decode(value))
        except (NotPlainData, KeyError, TypeError, ValueError, IndexError) as exc:
            self.failure = CandidateMisbehaved(f"the candidate sent {exc}")
            raise self.failure from None
        if raised is not None:
            raise raised
        return result

    def decode(self, data: Any) -> Any:
        return decode(data, self.handle)

    def handle(self, handle: int, kind: str, name: str = "") -> RemoteObject:
        """One RemoteObject per candidate object, so ``is`` and ``==`` hold for the same one."""
        found = self.objects.get(handle)
        if found is None:
            found = self.objects[handle] = RemoteObject(self, handle, kind, name)
        return found

    def _exception(self, info: dict[str, Any], message: dict[str, Any]) -> BaseException:
        name, builtin, module = str(info["type"]), str(info["builtin"]), str(info["module"])
        values = self.decode(info["args"])
        values = tuple(values) if type(values) is list else (values,)
        if name.split(".")[-1] in _ITERATION_ENDS and message.get("name") != "next":
            # only the end of the candidate's own iterator may end the test's loops
            return RemoteError(f"{name} raised by the candidate")
        exc = _standard_exception(module, name, values) or _builtin_exception(builtin, values)
        exc._codearena_names = [str(n) for n in _list(info.get("mro", []))]  # type: ignore[attr-defined]
        return exc

    def encode_args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        def handle_of(value: Any) -> Any:
            if isinstance(value, RemoteObject):
                return {"$h": value._handle, "$type": value._kind}
            if isinstance(value, range):
                return {"$r": [value.start, value.stop, value.step]}
            if isinstance(value, Iterator):
                items = []
                for item in value:
                    items.append(item)
                    if len(items) > MAX_ITEMS:
                        raise NotPlainData("an iterator argument of over a million items")
                return {"$it": encode(items, handle_of)}
            raise NotPlainData(
                f"a {type(value).__name__} cannot be passed to the candidate: only plain data "
                "crosses (see docs/sandbox.md)"
            )

        try:
            message: dict[str, Any] = {
                "args": [encode(a, handle_of) for a in args],
                "kwargs": [[k, encode(v, handle_of)] for k, v in kwargs.items()],
            }
        except NotPlainData as exc:
            raise HarnessLimit(str(exc)) from None
        ids = []
        for where, value in [*enumerate(args), *kwargs.items()]:
            if type(value) in (list, dict, set):
                arg_id = len(self.passed)
                self.passed[arg_id] = value
                ids.append([arg_id, where])
        if ids:
            message["ids"] = ids
        return message


def _standard_exception(module: str, qualname: str, values: tuple[Any, ...]) -> BaseException | None:  # fmt: skip
    """The tests' own instance of a standard library's exception (``statistics.StatisticsError``)."""
    found = _standard_module(module) if module else None
    for part in qualname.split(".") if found is not None else ():
        found = getattr(found, part, None)
    if isinstance(found, type) and issubclass(found, Exception):
        try:
            return found(*values)
        except Exception:
            return None
    return None


def _builtin_exception(name: str, values: tuple[Any, ...]) -> BaseException:
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and name not in _ITERATION_ENDS:
        try:
            return cls(*values)
        except Exception:
            return cls(str(values))
    return RemoteError(f"{name}: {', '.join(map(str, values))}")


def _update(original: Any, copy: Any) -> None:
    """Make the tests' ``original`` equal to the candidate's ``copy`` in place, keeping the
    identity of the lists, dicts and sets nested in it."""
    if type(original) is list and type(copy) is list:
        for i in range(min(len(original), len(copy))):
            if _same_container(original[i], copy[i]):
                _update(original[i], copy[i])
                copy[i] = original[i]
        original[:] = copy
    elif type(original) is dict and type(copy) is dict:
        for key in copy:
            if key in original and _same_container(original[key], copy[key]):
                _update(original[key], copy[key])
                copy[key] = original[key]
        original.clear()
        original.update(copy)
    elif type(original) is set and type(copy) is set:
        original.clear()
        original.update(copy)


def _same_container(a: Any, b: Any) -> bool:
    return type(a) is type(b) and type(a) in (list, dict, set)


class RemoteObject:
    """A value that lives in the candidate process (a function, a class, an instance, ...)."""

    __slots__ = ("_channel", "_handle", "_kind", "_name")

    def __init__(self, channel: Channel, handle: int, kind: str, name: str = "") -> None:
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_name", name)

    def _op(self, op: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, **extra: Any) -> Any:  # fmt: skip
        message = {"op": op, "h": self._handle, **extra}
        message.update(self._channel.encode_args(args, kwargs or {}))
        return self._channel.request(message)

    def _special(self, name: str, *args: Any) -> Any:
        return self._op("special", args, name=name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._op("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._special("setattr", name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._op("call", args, kwargs)

    def __len__(self) -> int:
        return int(self._special("len"))

    def __iter__(self) -> Iterator[Any]:
        iterator = self._special("iter")
        while True:
            try:
                yield iterator._special("next")
            except StopIteration:
                return

    def __next__(self) -> Any:
        return self._special("next")

    def __getitem__(self, key: Any) -> Any:
        return self._special("getitem", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._special("setitem", key, value)

    def __delitem__(self, key: Any) -> None:
        self._special("delitem", key)

    def __contains__(self, item: Any) -> bool:
        return bool(self._special("contains", item))

    def __str__(self) -> str:
        return str(self._special("str"))

    def __bool__(self) -> bool:
        return bool(self._special("bool"))

    def __instancecheck__(self, instance: Any) -> bool:
        return bool(self._special("isinstance", instance))

    def __repr__(self) -> str:
        try:
            return str(self._special("repr"))
        except BaseException:  # a failure is on the channel already; tracebacks must still print
            return f"<candidate's {self._kind} #{self._handle}>"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return id(self)


def _binary(name: str) -> tuple[Callable[[RemoteObject, Any], Any], Callable[[RemoteObject, Any], Any]]:  # fmt: skip
    def forward(self: RemoteObject, other: Any) -> Any:
        return self._special(name, other)

    def reflected(self: RemoteObject, other: Any) -> Any:
        return self._special("rop", name, other)

    return forward, reflected


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lshift", "rshift"):  # fmt: skip
    _forward, _reflected = _binary(_name)
    setattr(RemoteObject, f"__{_name}__", _forward)
    setattr(RemoteObject, f"__r{_name}__", _reflected)
for _name, _dunder in (("and_", "and"), ("or_", "or"), ("xor", "xor")):
    _forward, _reflected = _binary(_name)
    setattr(RemoteObject, f"__{_dunder}__", _forward)
    setattr(RemoteObject, f"__r{_dunder}__", _reflected)
for _name in ("neg", "pos", "abs", "invert"):
    setattr(RemoteObject, f"__{_name}__", (lambda n: lambda self: self._special(n))(_name))


def _standard_module(name: Any) -> types.ModuleType | None:
    """The tests' own copy of a standard-library module the solution imported (``math``,
    ``collections.abc``, ...), so tests that use the solution's imports keep working; nothing
    else is imported on the candidate's word."""
    if type(name) is not str or name.split(".")[0] not in sys.stdlib_module_names:
        return None
    if any(part in ("__main__", "this", "antigravity") for part in name.split(".")):
        return None
    import importlib

    try:
        module = importlib.import_module(name)
    except BaseException:
        return None
    return module if isinstance(module, types.ModuleType) else None


class RemoteModule(types.ModuleType):
    """``solution`` in the test process: names resolve to the candidate's values.
    ``from solution import *`` leaves out names that would shadow a built-in."""

    def __init__(self, root: RemoteObject, names: dict[str, Any]) -> None:
        super().__init__("solution")
        self.__dict__.update(names)
        self.__all__ = [name for name in names if not hasattr(builtins, name)]
        self.__root = root

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__root, name)


def _usable_name(name: Any, value: Any) -> bool:
    """A name from the candidate that may enter the tests' namespace: an identifier, not a
    dunder, and not a standard module's or pytest's name unless it is that module."""
    if type(name) is not str or not name.isidentifier() or name.startswith("__"):
        return False
    if name in sys.stdlib_module_names or name == "pytest":
        return type(value) is dict and set(value) == {"$m"}
    return True


def test_main(kind: str, call_timeout_s: float, entry_point: str = "") -> None:
    """Run the tests of ``test_solution.py`` (after ``prelude.py``, if any) against the
    candidate; write the report on fd 4 and exit."""
    report = os.fdopen(REPORT_FD, "w", encoding="utf-8")
    channel = Channel(socket.socket(fileno=CHANNEL_FD), call_timeout_s)
    results: list[dict[str, Any]] = []

    def finish(**extra: Any) -> NoReturn:
        sys.stdout.flush()
        sys.stderr.flush()
        passed = sum(1 for r in results if r["ok"])
        state = channel.failure.reason if channel.failure else "ok"
        report.write(json.dumps({"passed": passed, "total": len(results), "tests": results, "candidate": state, **extra}))  # fmt: skip
        report.close()
        os._exit(0)

    try:
        hello = channel.receive()
    except CandidateFailure as exc:
        print(f"codearena: {exc}", file=sys.stderr)
        finish()
    if type(hello) is not dict or "import_error" in hello or "names" not in hello:
        print("codearena: importing the solution failed", file=sys.stderr)
        finish(import_error=True)
    names: dict[str, Any] = {}
    try:
        for name, value in hello["names"]:
            if not _usable_name(name, value):
                continue
            if type(value) is dict and set(value) == {"$m"}:
                module = _standard_module(value["$m"])
                if module is not None:
                    names[name] = module
                continue
            names[name] = channel.decode(value)
    except (NotPlainData, TypeError, ValueError):
        channel.failure = CandidateMisbehaved("the candidate sent malformed names")
        finish()
    module = RemoteModule(channel.handle(0, "module"), names)
    sys.modules["solution"] = module
    namespace: dict[str, Any] = {"__name__": "test_solution", "__file__": "test_solution.py"}
    # A solution's name that shadows a built-in never reaches the tests (``abs``, ``len``, ...)
    namespace.update({k: v for k, v in names.items() if not hasattr(builtins, k)})
    cases = _load(namespace, names, kind, entry_point, results, channel)
    if cases is None:
        finish(load_error=True)
    for name, fn, args in cases:
        _run_case(name, fn, args, results, channel)
    finish()


Case = tuple[str, Callable[..., Any], tuple[Any, ...]]


def _load(namespace: dict[str, Any], names: dict[str, Any], kind: str, entry_point: str, results: list[dict[str, Any]], channel: Channel) -> list[Case] | None:  # fmt: skip
    """Execute the prelude and the tests; the cases to run (None if the tests cannot load or
    hold no test at all)."""
    calls_before = channel.calls
    counter: _AssertCounter | None = None
    for path in ("prelude.py", "test_solution.py"):
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
        failure_before = channel.failure
        try:
            code: Any = compile(source, path, "exec")
            if path == "test_solution.py" and kind == "python":
                counter = _AssertCounter.for_plain_asserts(source, path)
                if counter is not None:
                    code = counter.code
                    namespace["__codearena_asserts__"] = counter
            exec(code, namespace)
            if path == "prelude.py" and entry_point in names:  # the prelude's is a stub
                namespace[entry_point] = names[entry_point]
        except AssertionError:
            traceback.print_exc()
            if counter is None:
                results.append({"name": "<module>", "ok": False, "reason": "assertion"})
        except BaseException as exc:
            traceback.print_exc()
            reason = exc.reason if isinstance(exc, CandidateFailure | HarnessLimit) else None
            if counter is not None and counter.reached:
                counter.fail_current(reason or "exception")
                results += counter.results()
                return []
            if reason is not None:
                results.append({"name": "<module>", "ok": False, "reason": reason})
                return []
            print("codearena: loading the tests failed", file=sys.stderr)
            return None
        if counter is not None:
            if channel.failure is not None and channel.failure is not failure_before:
                counter.fail_current(channel.failure.reason)
            results += counter.results()
        if channel.failure is not None and channel.failure is not failure_before:
            print(f"codearena: {channel.failure} (the tests caught it)", file=sys.stderr)
            results.append({"name": "<module>", "ok": False, "reason": channel.failure.reason})
            return []
    if kind == "humaneval":
        check, candidate = namespace.get("check"), names.get(entry_point)
        if not callable(check) or getattr(check, "__module__", None) != "test_solution":
            print("codearena: the tests define no check(candidate)", file=sys.stderr)
            return None
        if not isinstance(candidate, RemoteObject):
            print(f"codearena: the solution defines no {entry_point}()", file=sys.stderr)
            results.append({"name": "check", "ok": False, "reason": "missing"})
            return []
        return [("check", check, (candidate,))]
    cases = _collect(namespace)
    if counter is not None:
        return cases
    if not cases and not results:
        if channel.calls == calls_before:
            print("codearena: the tests define no test and call nothing of the solution", file=sys.stderr)  # fmt: skip
            return None
        results.append({"name": "<module>", "ok": True, "reason": None})  # its asserts held
    return cases


class _AssertCounter:
    """Plain-assert tests: each ``assert`` statement of the module (outside functions and
    classes) counts as one test each time it runs, and one that a failure before it kept from
    running counts as one failed test. ``tests_total`` is then the asserts reached plus those
    defined but never reached."""

    def __init__(self, code: Any, lines: list[int]) -> None:
        self.code = code
        self.defined = lines
        self.reached: list[list[Any]] = []  # [line, ok, reason]

    @classmethod
    def for_plain_asserts(cls, source: str, path: str) -> _AssertCounter | None:
        """A counter and the rewritten code, for a module with asserts and no test function."""
        import ast

        tree = ast.parse(source, path)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):  # fmt: skip
                return None
            if isinstance(node, ast.ClassDef):
                return None  # Test* classes and unittest cases are collected as tests
        lines: list[int] = []

        class Rewrite(ast.NodeTransformer):
            def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
                return node  # asserts inside helpers belong to the assert that calls them

            def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
                return node

            def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
                return node

            def visit_Assert(self, node: ast.Assert) -> Any:
                lines.append(node.lineno)
                call = ast.parse(f"__codearena_asserts__.begin({node.lineno})").body[0]
                done = ast.parse("__codearena_asserts__.passed()").body[0]
                statements = [call, node, done]
                for statement in statements:
                    ast.copy_location(statement, node)
                return statements

        new = ast.fix_missing_locations(Rewrite().visit(tree))
        if not lines:
            return None
        return cls(compile(new, path, "exec"), lines)

    def begin(self, line: int) -> None:
        self.reached.append([line, False, "assertion"])

    def passed(self) -> None:
        self.reached[-1][1:] = [True, None]

    def fail_current(self, reason: str) -> None:
        if self.reached and not self.reached[-1][1]:
            self.reached[-1][2] = reason

    def results(self) -> list[dict[str, Any]]:
        out = [{"name": f"assert (line {line})", "ok": ok, "reason": reason} for line, ok, reason in self.reached]  # fmt: skip
        seen = {line for line, _, _ in self.reached}
        out += [{"name": f"assert (line {line})", "ok": False, "reason": "not reached"} for line in self.defined if line not in seen]  # fmt: skip
        return out


def _collect(namespace: dict[str, Any]) -> list[Case]:
    """pytest's rules, in short: ``test*`` functions, methods ``test*`` of classes ``Test*``
    (a fresh instance each, ``setup_method``/``teardown_method`` around), and unittest's
    ``TestCase`` classes (each test method through unittest itself)."""
    unittest = sys.modules.get("unittest")  # a TestCase exists only if the tests imported it
    cases: list[Case] = []
    for name, value in list(namespace.items()):
        if getattr(value, "__module__", None) != "test_solution" or isinstance(value, RemoteObject):
            continue
        if unittest is not None and isinstance(value, type) and issubclass(value, unittest.TestCase):  # fmt: skip
            for method in unittest.TestLoader().getTestCaseNames(value):
                cases.append((f"{name}.{method}", _unittest_case(value, method), ()))
        elif isinstance(value, type) and name.startswith("Test"):
            for method in sorted(m for m in dir(value) if m.startswith("test")):
                if callable(getattr(value, method)):
                    cases += _parametrized(f"{name}.{method}", _method_case(value, method), getattr(value, method))  # fmt: skip
        elif name.startswith("test") and callable(value) and not isinstance(value, type):
            cases += _parametrized(name, value, value)
    return cases


def _parametrized(name: str, fn: Callable[..., Any], marked: Any) -> list[Case]:
    params = getattr(marked, "_codearena_params", None)
    if params is None:
        return [(name, fn, ())]
    return [(f"{name}[{label}]"[:300], fn, tuple(values)) for label, values in params]


def _method_case(cls: type, method: str) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        instance = cls()
        setup, teardown = getattr(instance, "setup_method", None), getattr(instance, "teardown_method", None)  # fmt: skip
        if callable(setup):
            setup(getattr(instance, method))
        try:
            return getattr(instance, method)(*args)
        finally:
            if callable(teardown):
                teardown(getattr(instance, method))

    return run


def _unittest_case(cls: type, method: str) -> Callable[[], None]:
    def run() -> None:
        import unittest

        outcome = unittest.TestResult()
        cls(method)(outcome)
        problems = [*outcome.errors, *outcome.failures, *outcome.unexpectedSuccesses]
        if problems or not outcome.wasSuccessful():
            raise AssertionError("\n".join(str(p[1]) if isinstance(p, tuple) else str(p) for p in problems))  # fmt: skip

    return run


class _Captured:
    """pytest's ``capsys``: what the test (and the candidate's calls) printed."""

    def __init__(self) -> None:
        import io

        self._out, self._err = io.StringIO(), io.StringIO()
        self._saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self._out, self._err

    def readouterr(self) -> Any:
        import collections

        CaptureResult = collections.namedtuple("CaptureResult", "out err")
        result = CaptureResult(self._out.getvalue(), self._err.getvalue())
        for stream in (self._out, self._err):
            stream.seek(0)
            stream.truncate()
        return result

    def close(self) -> None:
        sys.stdout, sys.stderr = self._saved


_FIXTURES = frozenset({"capsys", "tmp_path"})


def _fixtures(fn: Any, given: int) -> tuple[dict[str, Any], list[Any]]:
    """The few pytest fixtures the stand-in offers: ``capsys`` and ``tmp_path``."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return {}, []
    wanted = code.co_varnames[given : code.co_argcount + code.co_kwonlyargcount]
    values: dict[str, Any] = {}
    opened: list[Any] = []
    for name in _FIXTURES.intersection(wanted):
        if name == "capsys":
            values["capsys"] = capture = _Captured()
            opened.append(capture)
        else:
            import pathlib
            import tempfile

            values["tmp_path"] = pathlib.Path(tempfile.mkdtemp(prefix="test-", dir="."))
    return values, opened


def _run_case(name: str, fn: Any, args: tuple[Any, ...], results: list[dict[str, Any]], channel: Channel) -> None:  # fmt: skip
    before = channel.failure
    reason: str | None = None
    fixtures, opened = _fixtures(fn, len(args))
    try:
        try:
            returned = fn(*args, **fixtures)
        finally:
            for capture in opened:
                capture.close()
        if isinstance(returned, types.CoroutineType):
            import asyncio

            asyncio.run(returned)
        elif isinstance(returned, types.GeneratorType):
            returned.close()
            raise TypeError("a test function must not be a generator")
    except BaseException as exc:
        print(f"FAILED {name}", file=sys.stderr)
        traceback.print_exc()
        if isinstance(exc, CandidateFailure | HarnessLimit):
            reason = exc.reason
        else:
            reason = "assertion" if isinstance(exc, AssertionError) else "exception"
    if reason is None and channel.failure is not None and channel.failure is not before:
        reason = channel.failure.reason  # the test caught the candidate's failure: still fails
        print(f"FAILED {name}: {channel.failure}", file=sys.stderr)
    results.append({"name": name[:300], "ok": reason is None, "reason": reason})
