"""A backend WITHOUT isolation, for trusted code only (and for comparisons in benchmarks).

It still uses a fresh temporary directory, a cleared environment, rlimits and a wall-clock
kill of the process group, but the program can read the host's files and use the network.
Every result says so: ``backend="unisolated"``, ``isolated=False`` and a warning in stderr.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ._process import run_process
from .execution import classify, plan_program
from .languages import get_language, python_executable
from .types import MIB, AsyncRunMixin, ExecResult, Limits

WARNING = "[codearena: UNISOLATED run - no sandbox, for trusted code only]\n"
_ARRANGE = """\
import os, sys
fds = [int(fd) for fd in sys.argv[1].split(",")]
base = max(fds) + 1
for i, fd in enumerate(fds):
    os.dup2(fd, base + i)
for i in range(len(fds)):
    os.dup2(base + i, 3 + i)
os.closerange(3 + len(fds), 1 << 16)
os.execv(sys.argv[2], sys.argv[2:])
"""


class UnisolatedSandbox(AsyncRunMixin):
    """Runs programs as plain child processes in a temporary directory."""

    name = "unisolated"

    def __init__(self, *, python: str | None = None) -> None:
        self.python = python or python_executable()
        self.prlimit = shutil.which("prlimit")

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
        limits = limits or Limits()
        try:
            lang = get_language(language)
            plan = plan_program(lang, program, limits, self.python, files)
        except BaseException:
            for fd in channels:
                os.close(fd)
            raise
        with tempfile.TemporaryDirectory(prefix="codearena-") as workdir:
            for name, content in plan.files.items():
                target = Path(workdir) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": workdir,
                "TMPDIR": workdir,
                "LANG": "C.UTF-8",
                **dict(lang.env),
            }
            argv = list(plan.argv)
            if channels:  # the program sees them as fds 3, 4, ...
                argv = [
                    self.python,
                    "-I",
                    "-S",
                    "-c",
                    _ARRANGE,
                    ",".join(map(str, channels)),
                    *argv,
                ]
            if self.prlimit is not None:
                memory = (limits.memory_mb + lang.address_space_extra_mb) * MIB
                argv = [
                    self.prlimit,
                    f"--as={memory}",
                    f"--cpu={limits.effective_cpu_s}:{limits.effective_cpu_s + 1}",
                    f"--fsize={limits.file_size_mb * MIB}",
                    f"--nofile={limits.open_files}",
                    "--core=0",
                    "--",
                    *argv,
                ]
            raw = run_process(
                argv,
                stdin=stdin.encode(),
                timeout_s=limits.timeout_s,
                output_bytes=limits.output_bytes,
                env=env,
                cwd=workdir,
                want_status=plan.compiled,
                pass_fds=channels,
                close_after_start=channels,
                cancel_fd=cancel_fd,
            )
        return classify(
            raw,
            limits=limits,
            backend=self.name,
            language=lang.name,
            compiled=plan.compiled,
            isolated=False,
            stderr_prefix=WARNING,
        )
