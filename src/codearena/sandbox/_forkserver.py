"""Host side of the Python fork server (``_zygote`` runs inside bwrap); see docs/sandbox.md.

One server per ``BwrapSandbox``, started on first use and again whenever it has died. Each run
sends one message on the control socket (a line of integers and 5 + N fds: a status socket, the
program's stdin, stdout and stderr pipes, a memfd with its files, and the run's N channels) and
then waits on the status socket and the pipes (and the run's cancel fd, if any). Closing the status socket makes the run's PID 1 exit, and the
kernel kills everything in the run's PID namespace; that is how the deadline and the output cap
are enforced.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ._process import RawOutcome
from .types import SandboxError

_CHUNK = 65536
_START_TIMEOUT_S = 20.0
SOURCE = (Path(__file__).with_name("_zygote.py")).read_text()


class ForkServerError(SandboxError):
    """The fork server could not be started."""


class ForkServer:
    """A warm Python process inside one bwrap sandbox that forks one isolated child per run."""

    def __init__(self, command: Callable[[int], tuple[list[str], list[int]]]) -> None:
        """``command(ctl_fd)`` gives bwrap's argv and the fds it must inherit."""
        self._command = command
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctl: socket.socket | None = None
        self.starts = 0

    # -- life cycle -----------------------------------------------------------------------
    def _control(self) -> socket.socket:
        with self._lock:
            if self._ctl is None or self._proc is None or self._proc.poll() is not None:
                self._stop_locked()
                self._start_locked()
            assert self._ctl is not None
            return self._ctl

    def _start_locked(self) -> None:
        host, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            argv, fds = self._command(child.fileno())
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=[child.fileno(), *fds],
                start_new_session=True,
            )
        except BaseException:
            host.close()
            raise
        finally:
            child.close()
        ready = select.select([host], [], [], _START_TIMEOUT_S)[0] and host.recv(16)
        if ready != b"ready":
            host.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()
            assert proc.stderr is not None
            message = proc.stderr.read().decode(errors="replace").strip()
            proc.stderr.close()
            raise ForkServerError(f"the fork server did not start: {message or 'no message'}")
        self._proc, self._ctl = proc, host
        self.starts += 1

    def _stop_locked(self) -> None:
        if self._ctl is not None:
            self._ctl.close()  # the server exits on EOF, and bwrap with it
            self._ctl = None
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    @property
    def pid(self) -> int | None:
        """The host pid of the server's bwrap (for tests)."""
        return self._proc.pid if self._proc is not None else None

    # -- runs -----------------------------------------------------------------------------
    def run(
        self,
        header: bytes,
        files: Sequence[tuple[str, str]],
        *,
        stdin: bytes,
        timeout_s: float,
        output_bytes: int,
        channels: Sequence[int] = (),
        cancel_fd: int | None = None,
        cgroup_fd: int | None = None,
    ) -> RawOutcome:
        """Run the first of ``files`` (the others are laid out next to it). ``channels`` (and
        ``cgroup_fd``, the run's ``cgroup.procs``) are owned by this call and closed once the
        run has them."""
        archive = _archive(files)
        if cgroup_fd is not None:
            header += b" 1"
            channels = [cgroup_fd, *channels]
        else:
            header += b" 0"
        owned = list(channels)  # _run_once closes (and forgets) them once they are sent
        try:
            outcome, lost = self._run_once(
                header, archive, stdin, timeout_s, output_bytes, owned, cancel_fd
            )
            if lost and not (outcome.stdout or outcome.stderr) and not channels:
                with self._lock:
                    dead = self._proc is None or self._proc.poll() is not None
                if dead:  # the server died before it took the run: once more with a new server
                    outcome, lost = self._run_once(
                        header, archive, stdin, timeout_s, output_bytes, [], cancel_fd
                    )
        finally:
            for fd in owned:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if lost:
            outcome.stderr += b"\ncodearena sandbox: the run's supervisor disappeared\n"
        return outcome

    def _run_once(
        self,
        header: bytes,
        archive: bytes,
        stdin: bytes,
        timeout_s: float,
        output_bytes: int,
        channels: list[int],
        cancel_fd: int | None,
    ) -> tuple[RawOutcome, bool]:
        ctl = self._control()
        theirs: list[int] = []
        mine: list[int] = []
        status, status_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            theirs.append(status_theirs.detach())
            stdin_r, stdin_w = os.pipe()
            theirs.append(stdin_r)
            mine.append(stdin_w)
            for _ in range(2):
                read_end, write_end = os.pipe()
                mine.append(read_end)
                theirs.append(write_end)
            theirs.append(_memfd(archive))
            start = time.perf_counter()
            try:
                socket.send_fds(ctl, [header], [*theirs, *channels])
            except OSError:
                return _empty(start), True
            finally:
                for fd in [*theirs, *channels]:
                    with contextlib.suppress(OSError):
                        os.close(fd)
                theirs.clear()
                channels.clear()
            return _communicate(status, mine, stdin, start, timeout_s, output_bytes, cancel_fd)
        finally:
            status.close()  # the run's PID 1 exits on EOF, taking the whole run with it
            for fd in theirs + mine:
                with contextlib.suppress(OSError):
                    os.close(fd)


def _empty(start: float) -> RawOutcome:
    return RawOutcome(None, b"", b"", b"", False, False, (time.perf_counter() - start) * 1000)


def _communicate(
    status: socket.socket,
    fds: list[int],
    stdin: bytes,
    start: float,
    timeout_s: float,
    output_bytes: int,
    cancel_fd: int | None = None,
) -> tuple[RawOutcome, bool]:
    """Feed stdin, read stdout/stderr (capped) and the status message until the deadline
    (or until ``cancel_fd`` is readable).

    ``fds`` is [stdin write end, stdout read end, stderr read end]; the stdin end is closed
    (and set to -1 in the list) once everything is written.
    """
    stdin_w, out_r, err_r = fds
    deadline = start + timeout_s
    poller = select.poll()
    buffers = {out_r: bytearray(), err_r: bytearray()}
    for fd in (out_r, err_r):
        poller.register(fd, select.POLLIN)
    status_fd = status.fileno()
    poller.register(status_fd, select.POLLIN)
    open_fds = {out_r, err_r, status_fd}
    pending = memoryview(stdin)
    if pending:
        os.set_blocking(stdin_w, False)
        poller.register(stdin_w, select.POLLOUT)
        open_fds.add(stdin_w)
    else:
        os.close(stdin_w)
        fds[0] = -1
    if cancel_fd is not None:
        poller.register(cancel_fd, select.POLLIN)
    message = b""
    lost = timed_out = exceeded = cancelled = False
    exited_at: float | None = None
    while open_fds and not cancelled:
        now = time.perf_counter()
        if exited_at is None and now >= deadline:
            timed_out = True
            break
        if exited_at is not None and now - exited_at > 1.0:
            break
        limit = deadline if exited_at is None else exited_at + 1.0
        for fd, _event in poller.poll(max(1, int((limit - now) * 1000) + 1)):
            if fd == cancel_fd:
                poller.unregister(fd)
                cancelled = exited_at is None
                if cancelled:
                    break
                continue
            if fd == status_fd:
                data = b""
                with contextlib.suppress(OSError):
                    data = status.recv(256)
                poller.unregister(fd)
                open_fds.discard(fd)
                if data:
                    message = data
                else:
                    lost = True
                exited_at = time.perf_counter()
            elif fd == stdin_w:
                try:
                    written = os.write(fd, pending[:_CHUNK])
                except BlockingIOError:
                    continue
                except OSError:  # the program closed its stdin or exited
                    written = len(pending)
                pending = pending[written:]
                if not pending:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    os.close(fd)
                    fds[0] = -1
            else:
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    continue
                buf = buffers[fd]
                buf += chunk[: max(output_bytes + 1 - len(buf), 0)]
                if len(buf) > output_bytes:
                    exceeded = True
        if exceeded:
            break
    returncode: int | None = None
    stderr = bytes(buffers[err_r])
    kind, _, value = message.partition(b" ")
    if kind == b"x":
        returncode = int(value)
    elif kind == b"s":
        returncode = -int(value)
    elif kind == b"e":
        returncode = 125
        stderr += b"codearena sandbox: " + value + b"\n"
    outcome = RawOutcome(
        returncode=None if timed_out else returncode,
        stdout=bytes(buffers[out_r]),
        stderr=stderr,
        status=b"",
        timed_out=timed_out,
        output_exceeded=exceeded,
        duration_ms=((exited_at or time.perf_counter()) - start) * 1000.0,
        cancelled=cancelled,
    )
    return outcome, lost and not message and not timed_out and not exceeded and not cancelled


def _archive(files: Sequence[tuple[str, str]]) -> bytes:
    """``N\\n`` then, per file, ``len(name) len(data)\\n`` + name + data (see ``_zygote``)."""
    parts = [b"%d\n" % len(files)]
    for name, content in files:
        raw_name, data = name.encode(), content.encode()
        parts += [b"%d %d\n" % (len(raw_name), len(data)), raw_name, data]
    return b"".join(parts)


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("codearena-files", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
