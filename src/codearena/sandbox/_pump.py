"""The one loop every backend runs a program with: stdin in, capped stdout/stderr out.

``Pump`` feeds the program's stdin, collects stdout and stderr (each kept to ``output_bytes``
plus one byte; one byte more than the cap ends the run as ``exceeded``) and side streams such as
a compiled program's status (capped, never "output"), and watches the deadline and a cancel fd.
How the program's exit is seen is the backend's: ``exit_fd`` becomes readable (a child's pidfd,
or the fork server's status socket, whose message ``on_exit`` reads). After the exit the pipes
are drained for at most ``grace_s`` more (a grandchild may still hold them). Anything else the
backend watches (gVisor's listener and relayed channels) joins the same poll through ``Extra``.

The pump never kills anything and closes no fd but stdin (through ``close_stdin``): the caller
ends the run (kill the process group, close the status socket) when ``exited_at`` is None.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

CHUNK = 65536
GRACE_S = 1.0
"""How long the pipes are still drained after the program exited."""
_ANY = select.POLLHUP | select.POLLERR | select.POLLNVAL

Handler = Callable[[], None]
Interest = tuple[int, int, Handler]
"""(fd, poll event, handler called when the fd is ready for it, or at hang-up/error)."""


@dataclass
class RawOutcome:
    """What happened to the child process, before any interpretation."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    status: bytes
    timed_out: bool
    output_exceeded: bool
    duration_ms: float
    cancelled: bool = False
    artifacts: bytes = b""
    """The images the run left, as its PID 1 collected them (``artifacts``); fork server only."""


class Extra(Protocol):
    """More fds in the pump's poll (asked again before every poll)."""

    def interest(self) -> Iterable[Interest]: ...

    def busy(self) -> bool:
        """Something still to collect after the program exited."""
        ...


def _nothing() -> None:
    pass


class Pump:
    """One run's pipes, deadline and cancel fd; ``run()`` then ``outcome(returncode)``."""

    def __init__(
        self,
        *,
        start: float,
        timeout_s: float,
        output_bytes: int,
        stdin: bytes,
        stdin_fd: int,
        close_stdin: Handler,
        stdout_fd: int,
        stderr_fd: int,
        exit_fd: int,
        on_exit: Handler = _nothing,
        cancel_fd: int | None = None,
        grace_s: float = GRACE_S,
        extra: Extra | None = None,
    ) -> None:
        self.start = start
        self.deadline = start + timeout_s
        self.output_bytes = output_bytes
        self.grace_s = grace_s
        self.exit_fd = exit_fd
        self.on_exit = on_exit
        self.cancel_fd = cancel_fd
        self.extra = extra
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.stdout_fd, self.stderr_fd = stdout_fd, stderr_fd
        # fd -> (buffer, bytes kept, counts as output)
        self.readers: dict[int, tuple[bytearray, int, bool]] = {
            stdout_fd: (self.stdout, output_bytes + 1, True),
            stderr_fd: (self.stderr, output_bytes + 1, True),
        }
        self.exited_at: float | None = None
        self.ended_at: float | None = None
        self.timed_out = self.exceeded = self.cancelled = False
        self._stdin_fd = stdin_fd
        self._close_stdin_cb = close_stdin
        self._pending = memoryview(stdin)
        for fd in (stdout_fd, stderr_fd):
            os.set_blocking(fd, False)
        if self._pending:
            os.set_blocking(stdin_fd, False)
        else:
            self._close_stdin()

    def add_reader(self, fd: int, cap: int) -> bytearray:
        """Also collect ``fd`` (up to ``cap`` bytes) until its end of file; not program output.
        The pump does not close it."""
        os.set_blocking(fd, False)
        buf = bytearray()
        self.readers[fd] = (buf, cap, False)
        return buf

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        """Pump until the program exited and everything is read (or the grace is over), or
        the deadline (``timed_out``), an output cap (``exceeded``) or ``cancel_fd``."""
        while True:
            now = time.perf_counter()
            if self.exited_at is None:
                if now >= self.deadline:
                    self.timed_out = True
                    break
                limit = self.deadline
            else:
                if not self._busy() or now - self.exited_at > self.grace_s:
                    break
                limit = self.exited_at + self.grace_s
            self._step(max(1, math.ceil((limit - now) * 1000.0)))
            if self.exceeded or self.cancelled:
                break
        self.ended_at = time.perf_counter()

    def _busy(self) -> bool:
        return bool(self.readers) or (self.extra is not None and self.extra.busy())

    def _step(self, timeout_ms: int) -> None:
        interests: list[Interest] = []
        if self.exited_at is None:
            interests.append((self.exit_fd, select.POLLIN, self._exited))
            if self.cancel_fd is not None:
                interests.append((self.cancel_fd, select.POLLIN, self._cancel))
        if self._pending:
            interests.append((self._stdin_fd, select.POLLOUT, self._write_stdin))
        for fd in self.readers:
            interests.append((fd, select.POLLIN, self._reader(fd)))
        if self.extra is not None:
            interests += self.extra.interest()
        handlers: dict[int, list[tuple[int, Handler]]] = {}
        masks: dict[int, int] = {}
        for fd, event, handler in interests:
            if fd >= 0:
                handlers.setdefault(fd, []).append((event, handler))
                masks[fd] = masks.get(fd, 0) | event
        poller = select.poll()
        for fd, mask in masks.items():
            poller.register(fd, mask)
        for fd, revents in poller.poll(timeout_ms):
            for event, handler in handlers[fd]:
                if revents & (event | _ANY):
                    handler()

    # -- handlers ---------------------------------------------------------------------------
    def _exited(self) -> None:
        if self.exited_at is None:
            self.on_exit()
            self.exited_at = time.perf_counter()

    def _cancel(self) -> None:
        if self.exited_at is None:
            self.cancelled = True

    def _write_stdin(self) -> None:
        if not self._pending:
            return
        try:
            written = os.write(self._stdin_fd, self._pending[:CHUNK])
        except BlockingIOError:
            return
        except OSError:  # the program closed its stdin or exited
            written = len(self._pending)
        self._pending = self._pending[written:]
        if not self._pending:
            self._close_stdin()

    def _close_stdin(self) -> None:
        self._pending = memoryview(b"")
        with contextlib.suppress(OSError):
            self._close_stdin_cb()

    def _reader(self, fd: int) -> Handler:
        return lambda: self._read(fd)

    def _read(self, fd: int) -> None:
        entry = self.readers.get(fd)
        if entry is None:
            return
        buf, cap, is_output = entry
        try:
            chunk = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            del self.readers[fd]
            return
        buf += chunk[: max(cap - len(buf), 0)]
        if is_output and len(buf) > self.output_bytes:
            self.exceeded = True

    # -- the result -------------------------------------------------------------------------
    @property
    def duration_ms(self) -> float:
        end = self.exited_at or self.ended_at or time.perf_counter()
        return (end - self.start) * 1000.0

    def outcome(
        self, returncode: int | None, *, status: bytes = b"", stderr_suffix: bytes = b""
    ) -> RawOutcome:
        """The run's ``RawOutcome`` (no return code after a timeout)."""
        return RawOutcome(
            returncode=None if self.timed_out else returncode,
            stdout=bytes(self.stdout),
            stderr=bytes(self.stderr) + stderr_suffix,
            status=status,
            timed_out=self.timed_out,
            output_exceeded=self.exceeded,
            duration_ms=self.duration_ms,
            cancelled=self.cancelled,
        )
