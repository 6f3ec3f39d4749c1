"""The default backend: bubblewrap (kernel namespaces, read-only minimal root, rlimits)."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import _userns
from ._process import run_process
from .execution import classify, plan_program
from .languages import Language, get_language, python_executable
from .types import MIB, AsyncRunMixin, ExecResult, Limits, SandboxUnavailable

DEFAULT_BWRAP = "/usr/bin/bwrap"
WORKDIR = "/tmp"
PYTHONPATH_DIR = "/opt/codearena/pythonpath"
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")
_ROOT_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_INSTALL_HINT = (
    "Fix: install bubblewrap (apt-get install bubblewrap) and make sure user namespaces are "
    "enabled (sysctl -w kernel.unprivileged_userns_clone=1 on Debian/Ubuntu kernels that have "
    "it, and user.max_user_namespaces > 0); in Docker, allow unshare (e.g. "
    "--security-opt seccomp=unconfined). Or choose the backend 'unisolated' for trusted code only."
)
_probe_lock = threading.Lock()
_probed: dict[tuple[str, bool], str | None] = {}


class BwrapSandbox(AsyncRunMixin):
    """Runs each program in a fresh bubblewrap sandbox; see docs/sandbox.md for the layout."""

    name = "bwrap"

    def __init__(
        self,
        bwrap_path: str = DEFAULT_BWRAP,
        *,
        python_paths: Sequence[str] = (),
        python: str | None = None,
    ) -> None:
        self.bwrap_path = bwrap_path
        self.python_paths = tuple(str(Path(p).resolve()) for p in python_paths)
        self.python = python or python_executable()
        self.as_root = os.geteuid() == 0
        self.prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
        self.setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"

    # -- availability ---------------------------------------------------------------------
    def check_available(self) -> None:
        """Raise SandboxUnavailable (with the fix) unless bwrap can build a sandbox here."""
        if not (os.path.isfile(self.bwrap_path) and os.access(self.bwrap_path, os.X_OK)):
            raise SandboxUnavailable(f"bubblewrap not found at {self.bwrap_path}. {_INSTALL_HINT}")
        for tool in (self.prlimit, *((self.setpriv,) if self.as_root else ())):
            if not os.access(tool, os.X_OK):
                raise SandboxUnavailable(f"{tool} missing: apt-get install util-linux")
        key = (self.bwrap_path, self.as_root)
        with _probe_lock:
            if key not in _probed:
                _probed[key] = self._probe()
            problem = _probed[key]
        if problem is not None:
            raise SandboxUnavailable(
                f"bubblewrap cannot create a sandbox: {problem}. {_INSTALL_HINT}"
            )

    def _probe(self) -> str | None:
        try:
            with self._command(["true"], Limits(timeout_s=10), None, {}) as (argv, fds):
                raw = run_process(argv, stdin=b"", timeout_s=10, output_bytes=MIB, pass_fds=fds)
        except (OSError, SandboxUnavailable) as exc:
            return str(exc)
        if raw.returncode != 0:
            return raw.stderr.decode(errors="replace").strip() or f"exit {raw.returncode}"
        return None

    # -- running --------------------------------------------------------------------------
    def run(
        self,
        program: str,
        language: str,
        stdin: str = "",
        limits: Limits | None = None,
        files: dict[str, str] | None = None,
    ) -> ExecResult:
        limits = limits or Limits()
        lang = get_language(language)
        self.check_available()
        plan = plan_program(lang, program, limits, self.python, files)
        with self._command(plan.argv, limits, lang, plan.files) as (argv, fds):
            raw = run_process(
                argv,
                stdin=stdin.encode(),
                timeout_s=limits.timeout_s,
                output_bytes=limits.output_bytes,
                pass_fds=fds,
                want_status=plan.compiled,
            )
        return classify(
            raw,
            limits=limits,
            backend=self.name,
            language=lang.name,
            compiled=plan.compiled,
            signal_via_128=True,
        )

    @contextlib.contextmanager
    def _command(
        self, inner: list[str], limits: Limits, lang: Language | None, files: dict[str, str]
    ) -> Iterator[tuple[list[str], list[int]]]:
        """The full argv (prlimit + bwrap + options + inner command) and fds to inherit."""
        fds: list[int] = []
        try:
            with contextlib.ExitStack() as stack:
                file_args: list[str] = []
                for name, content in sorted(files.items()):
                    fd = _memfd(name, content)
                    fds.append(fd)
                    parent = str(Path(name).parent)
                    if parent != ".":
                        file_args += ["--dir", f"{WORKDIR}/{parent}"]
                    file_args += ["--perms", "0644", "--file", str(fd), f"{WORKDIR}/{name}"]
                processes = max(limits.processes, lang.min_processes if lang else 1)
                if self.as_root:
                    ns_fd = _userns.shared_userns_fd()
                    fds.append(ns_fd)
                    uid = stack.enter_context(_userns.lease_uid())
                    ns_args = ["--userns", str(ns_fd), "--unshare-ipc", "--unshare-pid"]
                    ns_args += ["--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
                    drop = [self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
                    drop += ["--inh-caps=-all", "--bounding-set=-all", "--"]
                    outer_nproc = [f"--nproc={processes}"]
                else:
                    ns_args = ["--unshare-all", "--disable-userns"]
                    drop = [self.prlimit, f"--nproc={processes}", "--"]
                    outer_nproc = []
                extra_as = lang.address_space_extra_mb if lang else 0
                argv = [
                    self.prlimit,
                    f"--as={(limits.memory_mb + extra_as) * MIB}",
                    f"--cpu={limits.effective_cpu_s}",
                    f"--fsize={limits.file_size_mb * MIB}",
                    f"--nofile={limits.open_files}",
                    "--core=0",
                    *outer_nproc,
                    "--",
                    self.bwrap_path,
                    *ns_args,
                    "--die-with-parent",
                    "--new-session",
                    "--hostname",
                    "sandbox",
                    "--clearenv",
                    *self._env_args(lang),
                    *self._mount_args(lang, limits),
                    *file_args,
                    "--chdir",
                    WORKDIR,
                    *drop,
                    *inner,
                ]
                yield argv, fds
        finally:
            for fd in fds:
                if fd != _userns._userns_fd:
                    os.close(fd)

    def _env_args(self, lang: Language | None) -> list[str]:
        env = {"PATH": SANDBOX_PATH, "HOME": WORKDIR, "TMPDIR": WORKDIR, "LANG": "C.UTF-8"}
        if lang is not None:
            env.update(dict(lang.env))
            if lang.name == "python":
                env["PYTHONDONTWRITEBYTECODE"] = "1"
                env["PYTHONNOUSERSITE"] = "1"
                if self.python_paths:
                    env["PYTHONPATH"] = os.pathsep.join(
                        f"{PYTHONPATH_DIR}/{i}" for i in range(len(self.python_paths))
                    )
        args: list[str] = []
        for key, value in env.items():
            args += ["--setenv", key, value]
        return args

    def _mount_args(self, lang: Language | None, limits: Limits) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
        for name in _ROOT_DIRS:
            path = f"/{name}"
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for name in _ETC_FILES:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        binds: list[str] = list(lang.binds) if lang else []
        if lang is not None and lang.name == "python":
            binds.append(_python_prefix(self.python))
        made: set[str] = {"/", "/etc", "/usr"}
        for path in binds:
            if path.startswith("/usr/"):
                continue
            for ancestor in reversed(Path(path).parents):
                if str(ancestor) not in made:
                    made.add(str(ancestor))
                    args += ["--perms", "0755", "--dir", str(ancestor)]
            args += ["--ro-bind", path, path]
        if lang is not None and lang.name == "python":
            if self.python_paths:
                for parent in ("/opt", "/opt/codearena", PYTHONPATH_DIR):
                    args += ["--perms", "0755", "--dir", parent]
            for i, extra in enumerate(self.python_paths):
                args += ["--ro-bind", extra, f"{PYTHONPATH_DIR}/{i}"]
            for site in Path(_python_prefix(self.python)).glob("lib/python3*/site-packages"):
                args += ["--tmpfs", str(site)]
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--perms", "1777", "--size", str(limits.tmpfs_mb * MIB), "--tmpfs", WORKDIR]
        return args


def _python_prefix(python: str) -> str:
    """The install prefix of ``python`` (``<prefix>/bin/pythonX.Y``)."""
    return str(Path(os.path.realpath(python)).parent.parent)


def _memfd(name: str, content: str) -> int:
    fd = os.memfd_create(f"codearena-{Path(name).name}", 0)
    data = content.encode()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
