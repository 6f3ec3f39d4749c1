"""Run one child process with stdin, capped output, a status pipe and a wall-clock kill."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._pump import Pump, RawOutcome

__all__ = ["RawOutcome", "close_all", "in_cgroup", "kill_group", "memfd", "run_process"]


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid``; ignore it being gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def close_all(fds: Sequence[int]) -> None:
    """Close each of ``fds``, ignoring those already closed."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def in_cgroup(procs: str | os.PathLike[str], argv: Sequence[str]) -> list[str]:
    """``argv`` started by a shell that first joins the cgroup whose ``cgroup.procs`` is
    ``procs``: everything the command starts is then charged to that group."""
    return ["/bin/sh", "-c", 'echo 0 >"$0" && exec "$@"', str(procs), *argv]


def memfd(name: str, content: str | bytes) -> int:
    """A close-on-exec memfd holding ``content``, positioned at its start."""
    fd = os.memfd_create(f"codearena-{Path(name).name}", os.MFD_CLOEXEC)
    data = content.encode() if isinstance(content, str) else content
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


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
    and once more when the child exits (sweeping anything it left behind in its group).
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
            close_all([status_r, status_w])
        raise
    finally:
        close_all(close_after_start)
    if want_status:
        os.close(status_w)
    pidfd = -1
    try:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        pidfd = os.pidfd_open(proc.pid)
        pump = Pump(
            start=start,
            timeout_s=timeout_s,
            output_bytes=output_bytes,
            stdin=stdin,
            stdin_fd=proc.stdin.fileno(),
            close_stdin=proc.stdin.close,
            stdout_fd=proc.stdout.fileno(),
            stderr_fd=proc.stderr.fileno(),
            exit_fd=pidfd,  # readable once the child is a zombie: its pid cannot be reused yet
            on_exit=lambda: kill_group(proc.pid),  # stragglers would keep our pipes open
            cancel_fd=cancel_fd,
        )
        status = pump.add_reader(status_r, output_bytes + 1) if want_status else bytearray()
        pump.run()
        if pump.exited_at is None:  # timeout, output cap or cancel
            kill_group(proc.pid)
        return pump.outcome(proc.wait(), status=bytes(status))
    finally:
        kill_group(proc.pid)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        close_all([fd for fd in (pidfd, status_r) if fd >= 0])
