"""Run one child process with stdin, capped output, a status pipe and a wall-clock kill."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_CHUNK = 65536


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


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid``; ignore it being gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_process(
    argv: Sequence[str],
    *,
    stdin: bytes,
    timeout_s: float,
    output_bytes: int,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    pass_fds: Sequence[int] = (),
    want_status: bool = False,
    close_after_start: Sequence[int] = (),
    cancel_fd: int | None = None,
) -> RawOutcome:
    """Start ``argv`` in a new session, feed ``stdin``, collect output, enforce the deadline.

    The whole process group is SIGKILLed on timeout, when a stream exceeds ``output_bytes``,
    and once more after the child exits (sweeping anything it left behind in its group).
    With ``want_status`` an extra pipe's write end is inherited by the child; its number is
    put into the environment-free argv by the caller via ``status_fd`` placeholder ``{status_fd}``.
    ``close_after_start`` are fds (among ``pass_fds``) that this call owns and closes once the
    child has them; ``cancel_fd`` readable ends the run at once (``cancelled`` is then set).
    """
    status_r, status_w = os.pipe() if want_status else (-1, -1)
    fds = list(pass_fds) + ([status_w] if want_status else [])
    real_argv = [a.replace("{status_fd}", str(status_w)) for a in argv]
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            real_argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=fds,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    except BaseException:
        if want_status:
            os.close(status_r)
            os.close(status_w)
        raise
    finally:
        for fd in close_after_start:
            with contextlib.suppress(OSError):
                os.close(fd)
    if want_status:
        os.close(status_w)
    try:
        return _communicate(proc, stdin, start, timeout_s, output_bytes, status_r, cancel_fd)
    finally:
        kill_group(proc.pid)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if status_r >= 0:
            os.close(status_r)


def _communicate(
    proc: subprocess.Popen[bytes],
    stdin: bytes,
    start: float,
    timeout_s: float,
    output_bytes: int,
    status_r: int,
    cancel_fd: int | None,
) -> RawOutcome:
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    deadline = start + timeout_s
    buffers: dict[int, bytearray] = {}
    sel = selectors.DefaultSelector()
    for fd in (proc.stdout.fileno(), proc.stderr.fileno(), status_r):
        if fd >= 0:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
            buffers[fd] = bytearray()
    pending = memoryview(stdin)
    stdin_fd = proc.stdin.fileno()
    if pending:
        os.set_blocking(stdin_fd, False)
        sel.register(stdin_fd, selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    if cancel_fd is not None:
        sel.register(cancel_fd, selectors.EVENT_READ)
    timed_out = exceeded = cancelled = False
    exited_at: float | None = None
    while len(sel.get_map()) > (cancel_fd is not None and cancel_fd in sel.get_map()):
        now = time.perf_counter()
        if exited_at is None and proc.poll() is not None:
            exited_at = now
            kill_group(proc.pid)  # sweep stragglers that would keep our pipes open
        if now >= deadline:
            timed_out = exited_at is None
            break
        if exited_at is not None and now - exited_at > 1.0:
            break
        wait = min(deadline - now, 0.05 if exited_at is None else 0.2)
        for key, _ in sel.select(wait):
            fd = int(key.fd)
            if fd == cancel_fd:
                sel.unregister(fd)
                cancelled = exited_at is None
                break
            if fd == stdin_fd:
                try:
                    written = os.write(fd, pending[:_CHUNK])
                except (BrokenPipeError, OSError):
                    written = len(pending)
                pending = pending[written:]
                if not pending:
                    sel.unregister(fd)
                    proc.stdin.close()
                continue
            try:
                chunk = os.read(fd, _CHUNK)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(fd)
                continue
            buf = buffers[fd]
            room = output_bytes + 1 - len(buf)
            buf += chunk[: max(room, 0)]
            if fd != status_r and len(buf) > output_bytes:
                exceeded = True
        if exceeded or cancelled:
            break
    sel.close()
    if timed_out or exceeded or cancelled:
        kill_group(proc.pid)
    returncode = proc.wait()
    duration_ms = ((exited_at or time.perf_counter()) - start) * 1000.0
    return RawOutcome(
        returncode=None if timed_out else returncode,
        stdout=bytes(buffers[proc.stdout.fileno()]),
        stderr=bytes(buffers[proc.stderr.fileno()]),
        status=bytes(buffers.get(status_r, b"")),
        timed_out=timed_out,
        output_exceeded=exceeded,
        duration_ms=duration_ms,
        cancelled=cancelled,
    )
