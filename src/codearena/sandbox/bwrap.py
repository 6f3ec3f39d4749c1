"""The default backend: bubblewrap (kernel namespaces, read-only minimal root, rlimits)."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import warnings
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import _cgroup, _forkserver, _pyboot, _seccomp, _uids
from ._harness import remote_source
from ._process import RawOutcome, close_all, in_cgroup, memfd, run_process
from .execution import Plan, classify, plan_program
from .languages import SANDBOX_PATH, Language, get_language, python_executable
from .types import MIB, AsyncRunMixin, ExecResult, Limits, SandboxError, SandboxUnavailable

DEFAULT_BWRAP = "/usr/bin/bwrap"
WORKDIR = "/tmp"
PYTHONPATH_DIR = "/opt/codearena/pythonpath"
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")
PYTHON_ETC_FILES = ("ld.so.cache", "localtime")
_ROOT_NS_ARGS = (
    "--unshare-ipc",
    "--unshare-pid",
    "--unshare-net",
    "--unshare-uts",
    "--unshare-cgroup-try",
)
_USER_NS_ARGS = ("--unshare-all", "--disable-userns")
_SERVER_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
_DROP_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
"""What a run started by root keeps until it drops to its own uid (setpriv or the bootstrap)."""
ROOT_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_INSTALL_HINT = (
    "Fix: install bubblewrap (apt-get install bubblewrap) and make sure user namespaces are "
    "enabled (sysctl -w kernel.unprivileged_userns_clone=1 on Debian/Ubuntu kernels that have "
    "it, and user.max_user_namespaces > 0); in Docker, allow unshare (e.g. "
    "--security-opt seccomp=unconfined). Or choose the backend 'unisolated' for trusted code only."
)
_probe_lock = threading.Lock()
_probed: dict[tuple[str, bool], str | None] = {}


class BwrapSandbox(AsyncRunMixin):
    """Runs each program in a fresh bubblewrap sandbox; see docs/sandbox.md for the layout.

    With ``fork_server`` (the default; it needs root, see docs/sandbox.md), Python programs are
    forked from a warm Python server inside one long-lived bwrap sandbox, each into fresh
    namespaces of its own; otherwise, and for every other language, each run is a new bwrap.
    """

    name = "bwrap"

    def __init__(
        self,
        bwrap_path: str = DEFAULT_BWRAP,
        *,
        python_paths: Sequence[str] = (),
        python: str | None = None,
        fork_server: bool = True,
    ) -> None:
        self.bwrap_path = bwrap_path
        self.python_paths = tuple(str(Path(p).resolve()) for p in python_paths)
        self.python = python or python_executable()
        self.as_root = os.geteuid() == 0
        self.prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
        self.setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        self._static: dict[str, list[str]] = {}
        self.fork_server = fork_server and self.as_root
        self.fork_server_error: str | None = None
        self._server: _forkserver.ForkServer | None = None
        self._server_lock = threading.Lock()

    def close(self) -> None:
        """Stop the fork server (it also stops by itself when this process exits)."""
        with self._server_lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

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
        *,
        channels: Sequence[int] = (),
        cancel_fd: int | None = None,
    ) -> ExecResult:
        limits = limits or Limits()
        lang = get_language(language)
        try:
            self.check_available()
            plan = plan_program(lang, program, limits, self.python, files)
            python_main = plan.source if lang.name == "python" and not plan.compiled else None
            if channels and python_main is None:
                raise SandboxError("channels are for Python programs only")
        except BaseException:
            close_all(channels)
            raise
        memory = (limits.memory_mb + lang.address_space_extra_mb) * MIB
        with _cgroup.run_group(memory) as group:
            result = self._run_in(
                group, lang, plan, python_main, stdin, limits, channels, cancel_fd
            )
            if group is not None and group.oom_killed() and result.verdict != "passed":
                result.verdict = "memory"  # the memory cgroup's OOM killer ended the run
        return result

    def _run_in(
        self,
        group: _cgroup.RunGroup | None,
        lang: Language,
        plan: Plan,
        python_main: str | None,
        stdin: str,
        limits: Limits,
        channels: Sequence[int],
        cancel_fd: int | None,
    ) -> ExecResult:
        if python_main is not None and self.fork_server:
            server = self._fork_server()
            if server is not None:
                raw = self._run_forked(
                    server, plan.files, python_main, stdin, limits, channels, cancel_fd, group
                )
                return classify(
                    raw,
                    limits=limits,
                    backend=self.name,
                    language=lang.name,
                    compiled=False,
                    inputs=plan.files,
                )
        try:
            command = self._command(plan.argv, limits, lang, plan.files, python_main, channels)
        except BaseException:
            close_all(channels)
            raise
        with command as (argv, fds):
            if group is not None:  # the shell joins the group, then everything it starts
                argv = in_cgroup(group.procs, argv)
            raw = run_process(
                argv,
                stdin=stdin.encode(),
                timeout_s=limits.timeout_s,
                output_bytes=limits.output_bytes,
                pass_fds=fds,
                want_status=plan.compiled,
                close_after_start=channels,
                cancel_fd=cancel_fd,
            )
        return classify(
            raw,
            limits=limits,
            backend=self.name,
            language=lang.name,
            compiled=plan.compiled,
            signal_via_128=True,
        )

    # -- the fork server (Python) ---------------------------------------------------------
    def _fork_server(self) -> _forkserver.ForkServer | None:
        """The server, started on first use; None (with a warning) if it cannot start."""
        with self._server_lock:
            if self._server is None and self.fork_server_error is None:
                server = _forkserver.ForkServer(self._server_command)
                try:
                    server._control()
                except (OSError, SandboxError) as exc:
                    self.fork_server_error = str(exc)
                    warnings.warn(
                        f"codearena: Python fork server unavailable, one bwrap per run: {exc}",
                        RuntimeWarning,
                        stacklevel=3,
                    )
                    return None
                self._server = server
                weakref.finalize(self, server.stop)
            return self._server

    def _server_command(self, ctl_fd: int) -> tuple[list[str], list[int]]:
        """bwrap + the server: the Python sandbox layout, no /tmp (each run mounts its own),
        and the capabilities the server needs to set up runs (in its user namespace only)."""
        lang = get_language("python")
        static = [a for a in self._static_args(lang) if a != "--die-with-parent"]
        argv = [
            self.bwrap_path,
            *_ROOT_NS_ARGS,
            *_keep_caps(_SERVER_CAPS),
            *static,
            "--dir",
            WORKDIR,
            "--chdir",
            "/",
            self.python,
            "-I",
            "-S",
            "-B",
            "-c",
            _forkserver.SOURCE,
            str(ctl_fd),
            _seccomp.filter_bpf().hex(),
            remote_source(),
            *self._python_path_dirs(),
        ]
        return argv, []

    def _run_forked(
        self,
        server: _forkserver.ForkServer,
        files: dict[str, str],
        main: str,
        stdin: str,
        limits: Limits,
        channels: Sequence[int],
        cancel_fd: int | None,
        group: _cgroup.RunGroup | None,
    ) -> RawOutcome:
        lang = get_language("python")
        processes = max(limits.processes, lang.min_processes)
        ordered = [(main, files[main])] + [(n, c) for n, c in sorted(files.items()) if n != main]
        with _uids.lease_uid() as uid:
            header = b"%d %d %d %d %d %d %d %d %d %d %d" % (
                uid,
                (limits.memory_mb + lang.address_space_extra_mb) * MIB,
                limits.effective_cpu_s,
                limits.file_size_mb * MIB,
                limits.open_files,
                processes,
                limits.tmpfs_mb * MIB,
                limits.message_queue_bytes,
                limits.artifact_count,
                limits.artifact_bytes,
                len(channels),
            )
            return server.run(
                header,
                ordered,
                cgroup_fd=group.procs_fd() if group is not None else None,
                stdin=stdin.encode(),
                timeout_s=limits.timeout_s,
                output_bytes=limits.output_bytes,
                channels=channels,
                cancel_fd=cancel_fd,
                artifact_bytes=limits.artifact_bytes if limits.artifact_count else 0,
            )

    @contextlib.contextmanager
    def _command(
        self,
        inner: list[str],
        limits: Limits,
        lang: Language | None,
        files: dict[str, str],
        python_main: str | None = None,
        channels: Sequence[int] = (),
    ) -> Iterator[tuple[list[str], list[int]]]:
        """The full argv (bwrap + options + inner command) and the fds it must inherit.

        Python programs (``python_main`` set) start as ``python -I -S -B -c BOOT``: the bootstrap
        drops privileges and sets the rlimits itself (see ``_pyboot``). Everything else runs
        under ``prlimit`` (outside bwrap) and ``setpriv`` (inside, as root). Every run gets the
        syscall filter through bwrap's ``--seccomp``, applied just before the inner command.
        As root there is no user namespace: bwrap runs privileged, keeps only what dropping to
        the run's own host uid needs, and the inner command drops to it (see ``_uids``).
        """
        fds: list[int] = []
        try:
            with contextlib.ExitStack() as stack:
                filter_fd = memfd("seccomp", _seccomp.filter_bpf())
                fds.append(filter_fd)
                file_args: list[str] = ["--seccomp", str(filter_fd)]
                for name, content in sorted(files.items()):
                    fd = memfd(name, content)
                    fds.append(fd)
                    parent = str(Path(name).parent)
                    if parent != ".":
                        file_args += ["--dir", f"{WORKDIR}/{parent}"]
                    file_args += ["--perms", "0644", "--file", str(fd), f"{WORKDIR}/{name}"]
                processes = max(limits.processes, lang.min_processes if lang else 1)
                address_space = (
                    limits.memory_mb + (lang.address_space_extra_mb if lang else 0)
                ) * MIB
                uid: int | None = None
                if self.as_root:
                    uid = stack.enter_context(_uids.lease_uid())
                    ns_args = [*_ROOT_NS_ARGS, *_keep_caps(_DROP_CAPS)]
                else:
                    ns_args = list(_USER_NS_ARGS)
                prefix: list[str] = []
                drop: list[str] = []
                if python_main is not None:
                    boot = _pyboot.bootstrap(
                        workdir=WORKDIR,
                        name=python_main,
                        uid=uid,
                        address_space=address_space,
                        cpu_s=limits.effective_cpu_s,
                        file_size=limits.file_size_mb * MIB,
                        open_files=limits.open_files,
                        processes=processes,
                        message_queue=limits.message_queue_bytes,
                        python_paths=self._python_path_dirs(),
                        channels=tuple(channels),
                    )
                    inner = [self.python, "-I", "-S", "-B", "-c", boot]
                else:
                    prefix = [
                        self.prlimit,
                        f"--as={address_space}",
                        f"--cpu={limits.effective_cpu_s}:{limits.effective_cpu_s + 1}",
                        f"--fsize={limits.file_size_mb * MIB}",
                        f"--nofile={limits.open_files}",
                        f"--msgqueue={limits.message_queue_bytes}",
                        "--core=0",
                    ]
                    if self.as_root:
                        prefix.append(f"--nproc={processes}")
                        drop = [self.setpriv, f"--reuid={uid}", f"--regid={uid}"]
                        drop += ["--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
                    else:
                        drop = [self.prlimit, f"--nproc={processes}", "--"]
                    prefix.append("--")
                argv = [
                    *prefix,
                    self.bwrap_path,
                    *ns_args,
                    *self._static_args(lang),
                    "--perms",
                    "1777",
                    "--size",
                    str(limits.tmpfs_mb * MIB),
                    "--tmpfs",
                    WORKDIR,
                    *file_args,
                    "--chdir",
                    WORKDIR,
                    *drop,
                    *inner,
                ]
                yield argv, [*fds, *channels]
        finally:
            close_all(fds)

    def _python_path_dirs(self) -> tuple[str, ...]:
        return tuple(f"{PYTHONPATH_DIR}/{i}" for i in range(len(self.python_paths)))

    def _static_args(self, lang: Language | None) -> list[str]:
        """Options that depend only on the language (computed once per sandbox and language)."""
        key = lang.name if lang else ""
        cached = self._static.get(key)
        if cached is None:
            cached = [
                "--die-with-parent",
                "--new-session",
                "--hostname",
                "sandbox",
                "--clearenv",
                *self._env_args(lang),
                *self._mount_args(lang),
            ]
            self._static[key] = cached
        return cached

    def _env_args(self, lang: Language | None) -> list[str]:
        args: list[str] = []
        for key, value in sandbox_env(lang, self._python_path_dirs()).items():
            args += ["--setenv", key, value]
        return args

    def _mount_args(self, lang: Language | None) -> list[str]:
        """Everything but the working directory's tmpfs (its size comes with each run)."""
        args = ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
        for name in ROOT_DIRS:
            path = f"/{name}"
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        is_python = lang is not None and lang.name == "python"
        for name in PYTHON_ETC_FILES if is_python else ETC_FILES:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        binds: list[str] = list(lang.binds) if lang else []
        if is_python:
            binds.append(python_prefix(self.python))
        made: set[str] = {"/", "/etc", "/usr"}
        for path in binds:
            if path.startswith("/usr/"):
                continue
            for ancestor in reversed(Path(path).parents):
                if str(ancestor) not in made:
                    made.add(str(ancestor))
                    args += ["--perms", "0755", "--dir", str(ancestor)]
            args += ["--ro-bind", path, path]
        if is_python:
            if self.python_paths:
                for parent in ("/opt", "/opt/codearena", PYTHONPATH_DIR):
                    args += ["--perms", "0755", "--dir", parent]
            for i, extra in enumerate(self.python_paths):
                args += ["--ro-bind", extra, f"{PYTHONPATH_DIR}/{i}"]
            for site in Path(python_prefix(self.python)).glob("lib/python3*/site-packages"):
                args += ["--tmpfs", str(site)]
        args += ["--proc", "/proc", "--dev", "/dev"]
        return args


def _keep_caps(caps: Sequence[str]) -> list[str]:
    args = ["--cap-drop", "ALL"]
    for cap in caps:
        args += ["--cap-add", cap]
    return args


def sandbox_env(lang: Language | None, python_path_dirs: Sequence[str]) -> dict[str, str]:
    """A program's whole environment (the gVisor backend's too): PATH, HOME, TMPDIR, LANG, the
    language's variables and, for Python, no bytecode, no user site, the ``python_paths``."""
    env = {"PATH": SANDBOX_PATH, "HOME": WORKDIR, "TMPDIR": WORKDIR, "LANG": "C.UTF-8"}
    if lang is not None:
        env.update(dict(lang.env))
        if lang.name == "python":
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONNOUSERSITE"] = "1"
            if python_path_dirs:
                env["PYTHONPATH"] = os.pathsep.join(python_path_dirs)
    return env


def python_prefix(python: str) -> str:
    """The install prefix of ``python`` (``<prefix>/bin/pythonX.Y``)."""
    return str(Path(os.path.realpath(python)).parent.parent)
