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
import dataclasses
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ._process import RawOutcome, close_all, kill_group, memfd
from ._pump import Pump
from .artifacts import artifact_archive_limit, read_memfd
from .types import SandboxError

_START_TIMEOUT_S = 20.0
_COLLECT_WAIT_S = 2.0
"""How long a cancelled run's PID 1 may take to collect its images (it reads at most a few MB)."""
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
            kill_group(proc.pid)
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
                kill_group(proc.pid)
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
        artifact_bytes: int = 0,
    ) -> RawOutcome:
        """Run the first of ``files`` (the others are laid out next to it). ``channels`` (and
        ``cgroup_fd``, the run's ``cgroup.procs``) are owned by this call and closed once the
        run has them. ``artifact_bytes`` is the images' byte cap that ``header`` also carries."""
        archive = _archive(files)
        if cgroup_fd is not None:
            header += b" 1"
            channels = [cgroup_fd, *channels]
        else:
            header += b" 0"
        owned = list(channels)  # _run_once closes (and forgets) them once they are sent
        try:
            outcome, lost = self._run_once(
                header, archive, stdin, timeout_s, output_bytes, owned, cancel_fd, artifact_bytes
            )
            if lost and not (outcome.stdout or outcome.stderr) and not channels:
                with self._lock:
                    dead = self._proc is None or self._proc.poll() is not None
                if dead:  # the server died before it took the run: once more with a new server
                    outcome, lost = self._run_once(
                        header,
                        archive,
                        stdin,
                        timeout_s,
                        output_bytes,
                        [],
                        cancel_fd,
                        artifact_bytes,
                    )
        finally:
            close_all(owned)
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
        artifact_bytes: int,
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
            theirs.append(memfd("files", archive))
            start = time.perf_counter()
            try:
                socket.send_fds(ctl, [header], [*theirs, *channels])
            except OSError:
                return _empty(start), True
            finally:
                close_all([*theirs, *channels])
                theirs.clear()
                channels.clear()
            return _communicate(
                status, mine, stdin, start, timeout_s, output_bytes, cancel_fd, artifact_bytes
            )
        finally:
            status.close()  # the run's PID 1 exits on EOF, taking the whole run with it
            close_all(theirs + mine)


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
    artifact_bytes: int = 0,
) -> tuple[RawOutcome, bool]:
    """Pump the run (``_pump``) until its status message, the deadline or ``cancel_fd``;
    returns the outcome and whether the run's supervisor vanished without a status.

    ``fds`` is [stdin write end, stdout read end, stderr read end]; the stdin end is closed
    (and set to -1 in the list) once everything is written. The status may carry a memfd with
    the run's images (see ``artifacts``), read up to what ``artifact_bytes`` allows.
    """
    stdin_w, out_r, err_r = fds
    received: list[bytes] = []

    archives: list[bytes] = []

    def read_status() -> None:  # the run's PID 1 sends its status, or vanishes (EOF)
        data = b""
        with contextlib.suppress(OSError):
            data, fds, _flags, _address = socket.recv_fds(status, 256, 1)
            for fd in fds:
                try:
                    archives.append(read_memfd(fd, artifact_archive_limit(artifact_bytes)))
                finally:
                    os.close(fd)
        received.append(data)

    def close_stdin() -> None:
        os.close(stdin_w)
        fds[0] = -1

    pump = Pump(
        start=start,
        timeout_s=timeout_s,
        output_bytes=output_bytes,
        stdin=stdin,
        stdin_fd=stdin_w,
        close_stdin=close_stdin,
        stdout_fd=out_r,
        stderr_fd=err_r,
        exit_fd=status.fileno(),
        on_exit=read_status,
        cancel_fd=cancel_fd,
    )
    pump.run()
    if pump.cancelled and not received and artifact_bytes:
        # ended on purpose (the other side of a test run is done): B sends the images, then ends
        with contextlib.suppress(OSError):
            status.send(b"collect")
            if select.select([status], [], [], _COLLECT_WAIT_S)[0]:
                read_status()
    message = received[0] if received else b""
    returncode, extra = _exit_status(message)
    outcome = pump.outcome(returncode, stderr_suffix=extra)
    if archives:
        outcome = dataclasses.replace(outcome, artifacts=archives[0])
    lost = bool(received) and not message
    return outcome, lost and not (pump.timed_out or pump.exceeded or pump.cancelled)


def _exit_status(message: bytes) -> tuple[int | None, bytes]:
    """The return code in B's status message (``x N`` exit, ``s N`` signal, ``e TEXT`` a set-up
    error, shown on stderr; ``c``, the images of a run the host ended, has none) and what to add
    to stderr."""
    kind, _, value = message.partition(b" ")
    if kind == b"x":
        return int(value), b""
    if kind == b"s":
        return -int(value), b""
    if kind == b"e":
        return 125, b"codearena sandbox: " + value + b"\n"
    return None, b""


def _archive(files: Sequence[tuple[str, str]]) -> bytes:
    """``N\\n`` then, per file, ``len(name) len(data)\\n`` + name + data (see ``_zygote``)."""
    parts = [b"%d\n" % len(files)]
    for name, content in files:
        raw_name, data = name.encode(), content.encode()
        parts += [b"%d %d\n" % (len(raw_name), len(data)), raw_name, data]
    return b"".join(parts)
