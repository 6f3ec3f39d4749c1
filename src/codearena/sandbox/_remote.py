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

MAX_MESSAGE = 16 * 1024 * 1024
MAX_DEPTH = 100
CHANNEL_FD = 3
REPORT_FD = 4
_HEADER = 8


class NotPlainData(TypeError):
    """A value that cannot cross between the processes."""


# -- plain data <-> JSON ------------------------------------------------------------------------
def encode(value: Any, other: Callable[[Any], Any] | None = None, depth: int = 0) -> Any:
    """``value`` as JSON-ready data; values that are not plain go to ``other`` (or raise)."""
    if depth > MAX_DEPTH:
        raise NotPlainData("data nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        if abs(value) >= 1 << 8192:
            raise NotPlainData("integer too large")
        return value
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
    if other is not None:
        return other(value)
    raise NotPlainData(f"a {kind.__name__} is not plain data")


def decode(data: Any, handle: Callable[[int, str], Any], depth: int = 0) -> Any:
    """The value that ``encode`` gave ``data`` for; raises ``NotPlainData`` on anything else."""
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
        if len(data) > 2 or type(handle_id) is not int or type(handle_kind) is not str:
            raise NotPlainData("malformed handle")
        return handle(handle_id, handle_kind)
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
    raise NotPlainData("malformed data")


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

    def keep(value: Any) -> Any:
        objects[len(objects)] = value
        return {"$h": len(objects) - 1, "$type": type(value).__name__}

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
    while True:
        try:
            request = receive(sock)
        except (EOFError, OSError, NotPlainData):
            break
        reply = _serve(request, objects, keep)
        try:
            send(sock, reply)
        except NotPlainData as exc:
            send(sock, {"bad": str(exc)})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _serve(request: Any, objects: dict[int, Any], keep: Callable[[Any], Any]) -> Any:
    def lookup(handle: int, kind: str) -> Any:
        return objects[handle]

    try:
        target = objects[request["h"]]
        op = request["op"]
        args = [decode(a, lookup) for a in request.get("args", [])]
        kwargs = {str(k): decode(v, lookup) for k, v in request.get("kwargs", [])}
    except (KeyError, TypeError, NotPlainData) as exc:
        return {"bad": f"malformed request: {exc}"}
    try:
        if op == "getattr":
            result = getattr(target, str(request["name"]))
        elif op == "call":
            result = target(*args, **kwargs)
        elif op == "method":
            result = getattr(target, str(request["name"]))(*args, **kwargs)
        elif op == "special":
            result = _SPECIAL[str(request["name"])](target, *args)
        else:
            return {"bad": f"unknown operation {op!r}"}
    except BaseException as exc:  # the candidate's exception becomes the test's
        if isinstance(exc, SystemExit | KeyboardInterrupt):
            raise
        try:
            exc_args = encode(list(exc.args))
        except NotPlainData:
            exc_args = [str(exc)]
        return {"raise": [type(exc).__name__, exc_args]}
    try:
        reply: dict[str, Any] = {"ok": encode(result, keep)}
        changed = [[i, encode(a)] for i, a in enumerate(args) if type(a) in (list, dict, set)]
    except NotPlainData as exc:
        return {"bad": str(exc)}
    if changed:
        reply["args"] = changed
    return reply


_SPECIAL: dict[str, Callable[..., Any]] = {
    "len": len,
    "iter": iter,
    "next": next,
    "getitem": lambda obj, key: obj[key],
    "contains": lambda obj, item: item in obj,
    "str": str,
    "bool": bool,
}


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


class Channel:
    """The test side's end of the socket to the candidate."""

    def __init__(self, sock: socket.socket, call_timeout_s: float) -> None:
        self.sock = sock
        self.sock.settimeout(call_timeout_s)
        self.failure: CandidateFailure | None = None

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

    def request(self, message: dict[str, Any], args: tuple[Any, ...] = ()) -> Any:
        if self.failure is not None:
            raise type(self.failure)(*self.failure.args)
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
            if "raise" in reply:
                name, exc_args = reply["raise"]
                raised = _exception(str(name), self.decode(exc_args))
            elif "ok" not in reply:
                raise NotPlainData(str(reply.get("bad", "a malformed reply")))
            else:
                result = self.decode(reply["ok"])
                for index, value in reply.get("args", []):
                    _update(args[index], self.decode(value))
        except (NotPlainData, KeyError, TypeError, ValueError, IndexError) as exc:
            self.failure = CandidateMisbehaved(f"the candidate sent {exc}")
            raise self.failure from None
        if raised is not None:
            raise raised
        return result

    def decode(self, data: Any) -> Any:
        return decode(data, lambda handle, kind: RemoteObject(self, handle, kind))

    def encode_args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        def handle_of(value: Any) -> Any:
            if isinstance(value, RemoteObject):
                return {"$h": value._handle, "$type": value._kind}
            raise NotPlainData(
                f"a {type(value).__name__} cannot be passed to the candidate: only plain data "
                "crosses (see docs/sandbox.md)"
            )

        try:
            return {
                "args": [encode(a, handle_of) for a in args],
                "kwargs": [[k, encode(v, handle_of)] for k, v in kwargs.items()],
            }
        except NotPlainData as exc:
            raise TypeError(str(exc)) from None


def _exception(name: str, args: Any) -> BaseException:
    cls = getattr(builtins, name, None)
    values = tuple(args) if type(args) is list else (args,)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls is not RemoteError:
        try:
            return cls(*values)
        except Exception:
            return cls(str(values))
    return RemoteError(f"{name}: {', '.join(map(str, values))}")


def _update(original: Any, copy: Any) -> None:
    if type(original) is list and type(copy) is list:
        original[:] = copy
    elif type(original) in (dict, set) and type(copy) is type(original):
        original.clear()
        original.update(copy)


class RemoteObject:
    """A value that lives in the candidate process (a function, a class, an instance, ...)."""

    __slots__ = ("_channel", "_handle", "_kind")

    def __init__(self, channel: Channel, handle: int, kind: str) -> None:
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_kind", kind)

    def _op(self, op: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, **extra: Any) -> Any:  # fmt: skip
        message = {"op": op, "h": self._handle, **extra}
        message.update(self._channel.encode_args(args, kwargs or {}))
        return self._channel.request(message, args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._op("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("attributes of the candidate's objects cannot be set from a test")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._op("call", args, kwargs)

    def __len__(self) -> int:
        return int(self._op("special", name="len"))

    def __iter__(self) -> Iterator[Any]:
        iterator = self._op("special", name="iter")
        while True:
            try:
                yield iterator._op("special", name="next")
            except StopIteration:
                return

    def __getitem__(self, key: Any) -> Any:
        return self._op("special", (key,), name="getitem")

    def __contains__(self, item: Any) -> bool:
        return bool(self._op("special", (item,), name="contains"))

    def __str__(self) -> str:
        return str(self._op("special", name="str"))

    def __bool__(self) -> bool:
        return bool(self._op("special", name="bool"))

    def __repr__(self) -> str:
        return f"<candidate's {self._kind} #{self._handle}>"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


def _standard_module(name: Any) -> types.ModuleType | None:
    """The tests' own copy of a standard-library module the solution imported (``math``,
    ``collections.abc``, ...), so tests that use the solution's imports keep working; nothing
    else is imported on the candidate's word."""
    if type(name) is not str or name.split(".")[0] not in sys.stdlib_module_names:
        return None
    import importlib

    try:
        return importlib.import_module(name)
    except Exception:
        return None


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
            if type(name) is not str:
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
    module = RemoteModule(RemoteObject(channel, 0, "module"), names)
    sys.modules["solution"] = module
    namespace: dict[str, Any] = {"__name__": "test_solution", "__file__": "test_solution.py"}
    # A solution's name that shadows a built-in never reaches the tests (``abs``, ``len``, ...)
    namespace.update({k: v for k, v in names.items() if not hasattr(builtins, k)})
    cases = _load(namespace, names, kind, entry_point, results)
    if cases is None:
        finish(load_error=True)
    for name, fn, args in cases:
        _run_case(name, fn, args, results, channel)
    finish()


def _load(namespace: dict[str, Any], names: dict[str, Any], kind: str, entry_point: str, results: list[dict[str, Any]]) -> list[tuple[str, Any, tuple[Any, ...]]] | None:  # fmt: skip
    """Execute the prelude and the tests; the cases to run (None if the tests cannot load)."""
    for path in ("prelude.py", "test_solution.py"):
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
        try:
            exec(compile(source, path, "exec"), namespace)
            if path == "prelude.py" and entry_point in names:  # the prelude's is a stub
                namespace[entry_point] = names[entry_point]
        except AssertionError:
            traceback.print_exc()
            results.append({"name": "<module>", "ok": False, "reason": "assertion"})
        except BaseException as exc:
            traceback.print_exc()
            if isinstance(exc, CandidateFailure):
                results.append({"name": "<module>", "ok": False, "reason": exc.reason})
                return []
            print("codearena: loading the tests failed", file=sys.stderr)
            return None
    if kind == "humaneval":
        check, candidate = namespace.get("check"), names.get(entry_point)
        if not callable(check):
            print("codearena: the tests define no check(candidate)", file=sys.stderr)
            return None
        if not isinstance(candidate, RemoteObject):
            print(f"codearena: the solution defines no {entry_point}()", file=sys.stderr)
            results.append({"name": "check", "ok": False, "reason": "missing"})
            return []
        return [("check", check, (candidate,))]
    cases: list[tuple[str, Any, tuple[Any, ...]]] = []
    for name, fn in list(namespace.items()):
        if name.startswith("test") and callable(fn) and getattr(fn, "__module__", None) == "test_solution":  # fmt: skip
            params = getattr(fn, "_codearena_params", None)
            if params is None:
                cases.append((name, fn, ()))
            else:
                cases += [(f"{name}{tuple(a)!r}", fn, tuple(a)) for a in params]
    if not cases and not results:
        results.append({"name": "<module>", "ok": True, "reason": None})
    return cases


def _run_case(name: str, fn: Any, args: tuple[Any, ...], results: list[dict[str, Any]], channel: Channel) -> None:  # fmt: skip
    before = channel.failure
    reason: str | None = None
    try:
        fn(*args)
    except BaseException as exc:
        print(f"FAILED {name}", file=sys.stderr)
        traceback.print_exc()
        if isinstance(exc, CandidateFailure):
            reason = exc.reason
        else:
            reason = "assertion" if isinstance(exc, AssertionError) else "exception"
    if reason is None and channel.failure is not None and channel.failure is not before:
        reason = channel.failure.reason  # the test caught the candidate's failure: still fails
        print(f"FAILED {name}: {channel.failure}", file=sys.stderr)
    results.append({"name": name, "ok": reason is None, "reason": reason})
