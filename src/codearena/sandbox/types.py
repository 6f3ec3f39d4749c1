"""Core types of the sandbox: limits, results, the backend protocol and errors."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Verdict = Literal[
    "passed", "ran", "failed", "error", "timeout", "memory", "compile_error", "output_limit"
]
"""``ran``: the code ran to exit 0 with no tests to judge it (set by ``codearena.evaluation``, never
by a backend); it is not a pass and stays out of every pass rate."""
MIB = 1024 * 1024


class SandboxError(Exception):
    """A sandbox could not run a program (bad input, internal failure)."""


class SandboxUnavailable(SandboxError):
    """The requested isolation is not available on this machine; the message says how to fix it."""


class UnsupportedLanguage(SandboxError):
    """The language is unknown or its toolchain is not installed."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run. Memory and sizes in MiB, times in seconds."""

    timeout_s: float = 10.0
    cpu_s: int | None = None
    memory_mb: int = 512
    file_size_mb: int = 64
    open_files: int = 256
    processes: int = 64
    tmpfs_mb: int = 128
    output_bytes: int = MIB
    message_queue_bytes: int = 65536
    artifact_count: int = 8
    artifact_bytes: int = 2 * MIB

    def __post_init__(self) -> None:
        for name in ("timeout_s", "memory_mb", "file_size_mb", "open_files", "processes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")
        if self.tmpfs_mb <= 0 or self.output_bytes <= 0:
            raise ValueError("Limits.tmpfs_mb and Limits.output_bytes must be positive")
        if self.artifact_count < 0 or self.artifact_bytes < 0:
            raise ValueError("Limits.artifact_count and Limits.artifact_bytes must not be negative")

    @property
    def effective_cpu_s(self) -> int:
        """CPU seconds: explicit, or the wall-clock timeout rounded up plus one."""
        if self.cpu_s is not None:
            return self.cpu_s
        return int(self.timeout_s) + 1

    def replace(self, **changes: Any) -> Limits:
        return dataclasses.replace(self, **changes)


def truncation_marker(limit: int) -> str:
    return f"\n[... output truncated by codearena: limit {limit} bytes ...]"


def decode_capped(data: bytes, limit: int) -> str:
    """Decode program output, cutting it at ``limit`` bytes with a visible marker."""
    if len(data) <= limit:
        return data.decode("utf-8", errors="replace")
    return data[:limit].decode("utf-8", errors="replace") + truncation_marker(limit)


@dataclass(frozen=True)
class Artifact:
    """An image a run left in its working directory (see ``codearena.sandbox.artifacts``).

    ``data`` is empty when the file was not kept; ``note`` then says why (too large, over the
    count, not a regular file, not the image its name claims)."""

    name: str
    media_type: str
    size_bytes: int
    data: bytes = b""
    note: str | None = None

    @property
    def kept(self) -> bool:
        return self.note is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "media_type": self.media_type,
            "size_bytes": self.size_bytes,
            "data_base64": base64.b64encode(self.data).decode("ascii"),
            "note": self.note,
        }


@dataclass
class ExecResult:
    """The outcome of one sandboxed execution (or of a test run made of several)."""

    verdict: Verdict
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    duration_ms: float
    backend: str
    tests_passed: int | None = None
    tests_total: int | None = None
    isolated: bool = True
    language: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False
    artifacts: list[Artifact] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    def to_dict(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["details"] = [dict(d) for d in self.details]
        fields["artifacts"] = [a.to_dict() for a in self.artifacts]
        return fields


@runtime_checkable
class Sandbox(Protocol):
    """A named execution backend.

    ``run`` executes one program and returns its ``ExecResult``. Two keyword arguments connect a
    run to others (the test harness uses them; see ``codearena.sandbox.testing``):

    * ``channels``: host file descriptors (sockets or pipes) that the program sees as fds 3, 4,
      ... in order; Python programs only. Ownership passes to the backend, which closes its
      copies once the program has them. Every other descriptor above 2 is closed in the program.
    * ``cancel_fd``: a descriptor the backend watches; once it is readable (or at EOF) the run
      is ended at once, its whole process tree killed, and its result has ``cancelled`` set.
    """

    name: str

    def run(
        self,
        program: str,
        language: str,
        stdin: str = "",
        limits: Limits | None = None,
        files: dict[str, str] | None = None,
        *,
        channels: Sequence[int] = (),
        cancel_fd: int | None = None,
    ) -> ExecResult: ...

    async def arun(
        self,
        program: str,
        language: str,
        stdin: str = "",
        limits: Limits | None = None,
        files: dict[str, str] | None = None,
        *,
        channels: Sequence[int] = (),
        cancel_fd: int | None = None,
    ) -> ExecResult: ...


class AsyncRunMixin:
    """``arun`` for synchronous backends: runs ``run`` in a worker thread."""

    def run(
        self,
        program: str,
        language: str,
        stdin: str = "",
        limits: Limits | None = None,
        files: dict[str, str] | None = None,
        *,
        channels: Sequence[int] = (),
        cancel_fd: int | None = None,
    ) -> ExecResult:
        raise NotImplementedError

    async def arun(
        self,
        program: str,
        language: str,
        stdin: str = "",
        limits: Limits | None = None,
        files: dict[str, str] | None = None,
        *,
        channels: Sequence[int] = (),
        cancel_fd: int | None = None,
    ) -> ExecResult:
        return await asyncio.to_thread(
            self.run,
            program,
            language,
            stdin,
            limits,
            files,
            channels=channels,
            cancel_fd=cancel_fd,
        )
