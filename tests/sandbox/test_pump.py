"""The one pipe-pumping loop (``sandbox/_pump.py``) every backend runs programs with.

These run plain host processes (no sandbox): ``run_process`` (one bwrap per run, unisolated),
``_forkserver._communicate`` (the fork server's status socket) and ``Pump`` itself. No test
asserts how long anything took: what ended a run is read from the outcome (``timed_out``,
``cancelled``, ``output_exceeded``) against a deadline far away, and whether the pump waited for
a process is read from that process (still alive, or gone), with only lower bounds on time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from codearena.sandbox import _forkserver
from codearena.sandbox._process import kill_group, run_process
from codearena.sandbox._pump import GRACE_S, Interest, Pump, RawOutcome

PIPE_BUFFER = 65536


def sh(script: str, **kwargs: Any) -> tuple[RawOutcome, float]:
    began = time.perf_counter()
    raw = run_process(["/bin/sh", "-c", script], **kwargs)
    return raw, time.perf_counter() - began


def test_stdin_larger_than_the_pipe_buffer_arrives_whole() -> None:
    data = bytes(range(256)) * (16 * PIPE_BUFFER // 256) + b"end"
    raw = run_process(["cat"], stdin=data, timeout_s=20, output_bytes=len(data))
    assert raw.returncode == 0
    assert raw.stdout == data
    assert not raw.output_exceeded and not raw.timed_out


def test_stdin_of_a_program_that_never_reads_it_does_not_block() -> None:
    raw = run_process(["true"], stdin=b"x" * (8 * PIPE_BUFFER), timeout_s=10, output_bytes=100)
    assert raw.returncode == 0 and not raw.timed_out


def test_stdin_is_closed_so_the_program_sees_end_of_file() -> None:
    raw = run_process(["wc", "-c"], stdin=b"abc", timeout_s=10, output_bytes=100)
    assert raw.stdout.strip() == b"3"
    raw = run_process(["wc", "-c"], stdin=b"", timeout_s=10, output_bytes=100)
    assert raw.stdout.strip() == b"0"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_cap_ends_the_run(stream: str) -> None:
    redirect = "" if stream == "stdout" else " >&2"
    raw, _ = sh(f"yes{redirect}", stdin=b"", timeout_s=20, output_bytes=1000)
    assert raw.output_exceeded
    kept = getattr(raw, stream)
    assert len(kept) == 1001 and kept.startswith(b"y\ny\n")  # the cap plus one byte
    assert not raw.timed_out  # the cap ended it, 20 s before the deadline


def test_output_exactly_at_the_cap_is_not_exceeded() -> None:
    raw, _ = sh(
        "printf '%0100d' 0; printf '%0100d' 0 >&2", stdin=b"", timeout_s=10, output_bytes=100
    )
    assert not raw.output_exceeded
    assert raw.stdout == b"0" * 100 and raw.stderr == b"0" * 100


def test_the_status_stream_is_capped_but_is_not_output() -> None:
    script = "printf '%02000d' 0 >&{status_fd}; echo ok"  # bash: the fd may be above 9
    raw = run_process(
        ["bash", "-c", script], stdin=b"", timeout_s=10, output_bytes=100, want_status=True
    )
    assert not raw.output_exceeded
    assert raw.status == b"0" * 101 and raw.stdout == b"ok\n"


def _pids(stderr: bytes) -> list[int]:
    return [int(word) for word in stderr.split() if word.isdigit()]


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (waits for the kernel to finish killing it)."""
    for _ in range(500):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    return False


def _alive(pid: int) -> bool:
    return not _gone_now(pid)


def _gone_now(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_deadline_kills_the_whole_group() -> None:
    raw, _ = sh("sleep 30 & echo $! >&2; sleep 30", stdin=b"", timeout_s=0.3, output_bytes=100)
    assert raw.timed_out and raw.returncode is None
    assert raw.duration_ms >= 300
    (background,) = _pids(raw.stderr)
    assert _gone(background), "the background process of the group was killed too"


@contextlib.contextmanager
def cancel_after(delay_s: float) -> Iterator[int]:
    read_end, write_end = os.pipe()
    timer = threading.Timer(delay_s, os.write, (write_end, b"x"))
    timer.start()
    try:
        yield read_end
    finally:
        timer.cancel()
        os.close(read_end)
        os.close(write_end)


def test_cancel_fd_ends_the_run() -> None:
    with cancel_after(0.2) as cancel_fd:
        raw, _ = sh("sleep 30", stdin=b"", timeout_s=20, output_bytes=100, cancel_fd=cancel_fd)
    assert raw.cancelled and not raw.timed_out  # 20 s before the deadline


def test_cancel_after_the_exit_does_not_count() -> None:
    with cancel_after(0.3) as cancel_fd:  # the grandchild holds stdout past the cancel
        script = "setsid sh -c 'echo $$ >&2; exec sleep 3' & sleep 0.1; echo done"
        raw, _ = sh(script, stdin=b"", timeout_s=20, output_bytes=100, cancel_fd=cancel_fd)
    _kill_reported(raw.stderr)
    assert not raw.cancelled and raw.returncode == 0


def test_a_program_that_closes_its_output_but_keeps_running_is_waited_for() -> None:
    raw, _ = sh("exec >&- 2>&-; sleep 0.4; exit 7", stdin=b"", timeout_s=20, output_bytes=100)
    assert raw.returncode == 7 and not raw.timed_out
    assert raw.duration_ms >= 400


def test_a_program_that_closes_its_output_still_meets_the_deadline() -> None:
    raw, _ = sh("exec >&- 2>&- <&-; sleep 30", stdin=b"", timeout_s=0.3, output_bytes=100)
    assert raw.timed_out and raw.returncode is None


def _kill_reported(stderr: bytes) -> None:
    for line in stderr.split():
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(line), signal.SIGKILL)


def test_grandchild_holding_the_pipe_gets_the_grace_period_only() -> None:
    """The program exits at once; a grandchild in a session of its own (the group sweep
    misses it) keeps stdout open: the pump drains for GRACE_S, then returns."""
    script = "setsid sh -c 'echo $$ >&2; exec sleep 120' & sleep 0.2; echo done"
    raw, elapsed = sh(script, stdin=b"", timeout_s=60, output_bytes=100)
    (grandchild,) = _pids(raw.stderr)
    try:
        assert raw.returncode == 0 and raw.stdout == b"done\n"
        assert not raw.timed_out
        assert elapsed >= GRACE_S, "it drained for the grace period"
        assert _alive(grandchild), "and returned without waiting for the grandchild"
    finally:
        _kill_reported(raw.stderr)


def test_grandchild_in_the_group_is_swept_at_the_exit() -> None:
    raw, _ = sh("sleep 120 & echo $! >&2; echo done", stdin=b"", timeout_s=60, output_bytes=100)
    assert raw.returncode == 0 and raw.stdout == b"done\n" and not raw.timed_out
    (background,) = _pids(raw.stderr)
    assert _gone(background), "the program's group was killed when it exited"


# -- Pump itself ------------------------------------------------------------------------------
def _pump_for(proc: subprocess.Popen[bytes], pidfd: int, **kwargs: Any) -> Pump:
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    options: dict[str, Any] = {"timeout_s": 10.0, "output_bytes": 1000, "stdin": b""}
    options.update(kwargs)
    return Pump(
        start=time.perf_counter(),
        stdin_fd=proc.stdin.fileno(),
        close_stdin=proc.stdin.close,
        stdout_fd=proc.stdout.fileno(),
        stderr_fd=proc.stderr.fileno(),
        exit_fd=pidfd,
        **options,
    )


@contextlib.contextmanager
def child(script: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    proc = subprocess.Popen(
        ["/bin/sh", "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    pidfd = os.pidfd_open(proc.pid)
    try:
        yield proc, pidfd
    finally:
        kill_group(proc.pid)
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        os.close(pidfd)


def test_grace_period_is_a_parameter() -> None:
    script = "sleep 120 & echo $! >&2; echo done"  # no sweep here: the grandchild holds stdout
    with child(script) as (proc, pidfd):
        pump = _pump_for(proc, pidfd, grace_s=0.2, timeout_s=60.0)
        began = time.perf_counter()
        pump.run()
        elapsed = time.perf_counter() - began
        assert pump.exited_at is not None and not pump.timed_out
        outcome = pump.outcome(proc.wait())
        assert outcome.stdout == b"done\n"
        (grandchild,) = _pids(outcome.stderr)
        assert elapsed >= 0.2 and _alive(grandchild), "0.2 s of drain, not the grandchild's 120"


def test_on_exit_runs_once_when_the_exit_fd_is_readable() -> None:
    calls: list[float] = []
    with child("echo hi") as (proc, pidfd):
        pump = _pump_for(proc, pidfd, on_exit=lambda: calls.append(time.perf_counter()))
        pump.run()
        assert len(calls) == 1 and pump.exited_at is not None and pump.exited_at >= calls[0]
        outcome = pump.outcome(proc.wait(), status=b"s", stderr_suffix=b"!")
        assert (outcome.returncode, outcome.stdout, outcome.stderr, outcome.status) == (
            0,
            b"hi\n",
            b"!",
            b"s",
        )


def test_timeout_outcome_has_no_return_code() -> None:
    with child("sleep 5") as (proc, pidfd):
        pump = _pump_for(proc, pidfd, timeout_s=0.2)
        pump.run()
        assert pump.timed_out and pump.exited_at is None
        kill_group(proc.pid)
        assert pump.outcome(proc.wait()).returncode is None


class _Extra:
    """A side pipe the pump polls through ``Extra``: busy until its end of file."""

    def __init__(self, fd: int) -> None:
        self.fd, self.data, self.open = fd, bytearray(), True

    def interest(self) -> list[Interest]:
        return [(self.fd, 0x001, self.read)] if self.open else []  # POLLIN

    def read(self) -> None:
        chunk = os.read(self.fd, 100)
        self.data += chunk
        self.open = bool(chunk)

    def busy(self) -> bool:
        return self.open


def test_extra_fds_are_polled_and_keep_the_pump_busy_after_the_exit() -> None:
    read_end, write_end = os.pipe()
    extra = _Extra(read_end)
    try:
        with child("true") as (proc, pidfd):

            def late_writer() -> None:
                time.sleep(0.3)
                os.write(write_end, b"late")
                os.close(write_end)

            writer = threading.Thread(target=late_writer)
            writer.start()
            pump = _pump_for(proc, pidfd, extra=extra, grace_s=5.0)
            pump.run()
            writer.join()
            assert extra.data == b"late" and not extra.open
    finally:
        os.close(read_end)


# -- the fork server's status socket ----------------------------------------------------------
def _fake_run(
    message: bytes | None, out: bytes = b"", delay_s: float = 0.0
) -> tuple[RawOutcome, bool]:
    """``_forkserver._communicate`` against a fake run: pipes and a status socket whose
    other end sends ``message`` (None: closes it without one)."""
    status, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()

    def program() -> None:
        time.sleep(delay_s)
        os.write(out_w, out)
        os.close(out_w)
        os.close(err_w)
        if message is not None:
            theirs.send(message)
        theirs.close()

    thread = threading.Thread(target=program)
    thread.start()
    fds = [stdin_w, out_r, err_r]
    try:
        return _forkserver._communicate(status, fds, b"in", time.perf_counter(), 10.0, 100)
    finally:
        thread.join()
        status.close()
        for fd in (stdin_r, *[fd for fd in fds if fd >= 0]):
            os.close(fd)


@pytest.mark.parametrize(
    ("message", "returncode", "stderr"),
    [
        (b"x 3", 3, b""),
        (b"s 9", -9, b""),
        (b"e cannot mount", 125, b"codearena sandbox: cannot mount\n"),
    ],
)
def test_fork_server_status_message(message: bytes, returncode: int, stderr: bytes) -> None:
    outcome, lost = _fake_run(message, b"out", delay_s=0.05)
    assert not lost
    assert outcome.returncode == returncode
    assert outcome.stdout == b"out" and outcome.stderr == stderr


def test_fork_server_status_socket_closed_without_a_message_is_lost() -> None:
    outcome, lost = _fake_run(None)
    assert lost and outcome.returncode is None
