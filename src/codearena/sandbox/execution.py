"""Backend-independent pieces: the command inside the sandbox and the verdict rules."""

from __future__ import annotations

import shlex
import signal
from collections.abc import Collection
from dataclasses import dataclass

from ._process import RawOutcome
from .artifacts import parse_artifacts
from .languages import Language, source_file_name
from .types import ExecResult, Limits, SandboxError, Verdict, decode_capped

STATUS_OK = b"compiled\n"
MEMORY_MARKERS = (
    "MemoryError",
    "std::bad_alloc",
    "java.lang.OutOfMemoryError",
    "JavaScript heap out of memory",
    "Reached heap limit",
    "Cannot allocate memory",
    "runtime: out of memory",
    "memory allocation of",
    "System.OutOfMemoryException",
    "(NoMemoryError)",
    "out of memory or dimension too large for Octave",
)
CPU_LIMIT_MARKERS = ("ignoring signal: CPU time limit exceeded",)
"""Octave ignores SIGXCPU (saying so on stderr) and dies by the hard limit's SIGKILL."""
_SIGNALS = {int(s) for s in signal.Signals}


@dataclass(frozen=True)
class Plan:
    """What to put in the working directory and which argv to run there."""

    files: dict[str, str]
    argv: list[str]
    compiled: bool
    source: str = ""


def plan_program(
    lang: Language,
    program: str,
    limits: Limits,
    python: str,
    files: dict[str, str] | None = None,
) -> Plan:
    """Lay out the files and the argv (compile step and run step joined by bash)."""
    src, main_class = source_file_name(lang, program)
    all_files = dict(files or {})
    for name in all_files:
        check_file_name(name)
    all_files.update(lang.support_files)
    all_files[src] = lang.prepare(program) if lang.prepare else program
    values = {"src": src, "main": main_class, "mem": str(limits.memory_mb), "python": python}
    run = [part.format(**values) for part in lang.run]
    if lang.compile is None:
        return Plan(all_files, run, compiled=False, source=src)
    build = [part.format(**values) for part in lang.compile]
    script = (
        f"{shlex.join(build)} 1>&2 || exit 1\n"
        "printf 'compiled\\n' >&{status_fd}\n"
        f"exec {shlex.join(run)} {{status_fd}}>&-\n"
    )
    return Plan(all_files, ["bash", "-c", script], compiled=True, source=src)


def check_file_name(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise SandboxError(f"file name {name!r} must be a relative path without '..'")


def exit_signal(returncode: int | None, via_128: bool) -> int | None:
    """The signal that killed the program: negative returncode, or 128+N from bwrap's init."""
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if via_128 and returncode > 128 and returncode - 128 in _SIGNALS:
        return returncode - 128
    return None


def classify(
    raw: RawOutcome,
    *,
    limits: Limits,
    backend: str,
    language: str,
    compiled: bool,
    isolated: bool = True,
    signal_via_128: bool = False,
    stderr_prefix: str = "",
    inputs: Collection[str] = (),
) -> ExecResult:
    """Turn a raw process outcome into an ExecResult with the verdict rules of the contract
    (and the images it left, ``artifacts``, leaving out the ``inputs`` the host laid out)."""
    stdout = decode_capped(raw.stdout, limits.output_bytes)
    stderr = decode_capped(raw.stderr, limits.output_bytes)
    sig = exit_signal(raw.returncode, signal_via_128)
    if raw.timed_out and sig is None:
        sig = int(signal.SIGKILL)  # the wall clock killed the whole process tree
    exit_code = None if raw.timed_out else raw.returncode
    if exit_code is not None and exit_code < 0:
        exit_code = None
    build_failed = compiled and not raw.status.startswith(STATUS_OK)
    verdict: Verdict
    if raw.cancelled:
        verdict = "error"  # ended by the host (the other side of a test run had finished)
    elif raw.timed_out:
        verdict = "timeout"
    elif build_failed and (raw.output_exceeded or raw.returncode not in (0, None)):
        verdict = "compile_error"
    elif raw.output_exceeded:
        verdict = "output_limit"
    elif raw.returncode == 0:
        verdict = "passed"
    elif sig == signal.SIGXCPU:
        verdict = "timeout"  # the CPU-time limit (its soft limit signals SIGXCPU)
    elif sig == signal.SIGKILL and any(marker in stderr for marker in CPU_LIMIT_MARKERS):
        verdict = "timeout"  # the CPU limit's soft signal was ignored; the hard limit killed it
    elif any(marker in stderr for marker in MEMORY_MARKERS):
        verdict = "memory"
    else:
        verdict = "error"
    return ExecResult(
        verdict=verdict,
        exit_code=exit_code,
        signal=sig,
        stdout=stdout,
        stderr=stderr_prefix + stderr,
        duration_ms=round(raw.duration_ms, 3),
        backend=backend,
        isolated=isolated,
        language=language,
        cancelled=raw.cancelled,
        artifacts=parse_artifacts(
            raw.artifacts, count=limits.artifact_count, budget=limits.artifact_bytes, inputs=inputs
        ),
    )
