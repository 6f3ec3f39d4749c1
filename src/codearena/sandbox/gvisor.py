"""The gVisor backend: every run in its own ``runsc`` sandbox (a user-space kernel), no network.

Each run is one ``runsc --network=none --platform=ptrace run`` of a fresh OCI bundle: a read-only
root made only of mount points, read-only ``/usr`` (with the ``/lib*`` symlinks), a few ``/etc``
entries, the Python prefix (site-packages hidden), the language's extra directories, a size-capped
tmpfs at ``/tmp`` as the working directory, and, read-only at ``/.codearena``, the run's own files
and (when needed) a host unix socket. The process is uid 65534 with no capabilities,
no_new_privs and the rlimits of ``Limits``. gVisor's kernel gives it private PID, mount, IPC, UTS
and network namespaces; every run has a private ``--root`` state directory, removed afterwards.

PID 1 of the sandbox is a small trusted Python init (``python -I -S -B -c INIT``): it copies the
files into ``/tmp``, connects the host socket as fds 3, 4, ... (the compile status of compiled
languages, or the run's ``channels``), closes every other fd, sets RLIMIT_CPU again (this runsc
sets the OCI rlimits but does not arm the CPU one; ``setrlimit`` from inside does), installs the syscall filter
(``_seccomp``), then runs a Python program in-process as ``_pyboot`` does, or execs
the program's argv. This runsc has no ``--pass-fd``: channels are relayed as byte streams between
each host fd and a unix socket the init connects (``--host-uds=open``). See docs/sandbox.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import resource
import secrets
import select
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _cgroup, _pyboot, _seccomp
from ._process import RawOutcome, in_cgroup, kill_group
from ._pump import CHUNK, Interest, Pump
from .bwrap import (
    ETC_FILES,
    PYTHON_ETC_FILES,
    PYTHONPATH_DIR,
    ROOT_DIRS,
    WORKDIR,
    python_prefix,
    sandbox_env,
)
from .execution import Plan, classify, plan_program
from .languages import Language, get_language, python_executable
from .types import MIB, AsyncRunMixin, ExecResult, Limits, SandboxError, SandboxUnavailable

DEFAULT_RUNSC = "/usr/bin/runsc"
DEFAULT_PLATFORM = "ptrace"
GUEST_UID = 65534
IO_DIR = "/.codearena"
FIRST_FD = 3
GVISOR_MEMORY_MB = 32
"""Added to a run's memory cgroup limit for gVisor's own processes (about 21 MiB when idle)."""
_RLIMIT_NAMES = {
    resource.RLIMIT_AS: "RLIMIT_AS",
    resource.RLIMIT_CPU: "RLIMIT_CPU",
    resource.RLIMIT_FSIZE: "RLIMIT_FSIZE",
    resource.RLIMIT_NOFILE: "RLIMIT_NOFILE",
    resource.RLIMIT_CORE: "RLIMIT_CORE",
    resource.RLIMIT_NPROC: "RLIMIT_NPROC",
    resource.RLIMIT_MSGQUEUE: "RLIMIT_MSGQUEUE",
}
_RELAY_BUFFER = MIB
_STATUS_BYTES = 4096
_RUNSC_FAILED = 128  # runsc's own exit status when it cannot create or run the sandbox
_INSTALL_HINT = (
    "Fix: install gVisor (apt-get install runsc); runsc must run as root (or pass "
    "GvisorSandbox(rootless=True)) and its ptrace platform needs ptrace to be allowed (in Docker: "
    "--cap-add SYS_PTRACE --security-opt seccomp=unconfined). Or choose the backend 'bwrap'."
)
_probe_lock = threading.Lock()
_probed: dict[tuple[str, str, bool], str | None] = {}

_INIT = (
    """\
def _codearena_init():
    del globals()["_codearena_init"]
    import sys, posix
    from resource import RLIMIT_CPU, setrlimit
    workdir, io = {workdir!r}, {io!r}
    for name in {files!r}:  # the run's files, from the read-only io dir into the tmpfs
        parts = name.split("/")
        for i in range(1, len(parts)):
            try:
                posix.mkdir(workdir + "/" + "/".join(parts[:i]), 0o755)
            except FileExistsError:
                pass
        with open(io + "/files/" + name, "rb") as src, open(workdir + "/" + name, "wb") as dst:
            dst.write(src.read())
    first, sockets = {first!r}, {sockets!r}
    if sockets:  # one connection to the host socket per fd, in order: 3, 4, ...
        import _socket
    for target in range(first, first + sockets):
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.connect(io + "/sock")
        fd = sock.detach()
        if fd != target:
            posix.dup2(fd, target)
            posix.close(fd)
        else:
            posix.set_inheritable(fd, True)
    posix.closerange(first + sockets, 1 << 20)
    setrlimit(RLIMIT_CPU, {cpu!r})  # set in the spec too, but only armed when set from inside
    seccomp = {seccomp!r}
    if seccomp:  # prctl(PR_SET_NO_NEW_PRIVS), prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)
        import ctypes
        class Prog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
        code = ctypes.create_string_buffer(seccomp, len(seccomp))
        prog = Prog(len(seccomp) // 8, ctypes.addressof(code))
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(prog), 0, 0):
            raise SystemExit("codearena: cannot install the syscall filter")
    argv = {argv!r}
    if argv:  # any other language: the program's command replaces the init (still PID 1)
        import os
        os.execvp(argv[0], argv)
"""
    + _pyboot.PYTHON_START
    + """__file__ = {path!r}
__cached__ = None
exec(_codearena_init(), globals())
"""
)


class GvisorSandbox(AsyncRunMixin):
    """Runs each program in a fresh gVisor sandbox (``runsc run``); see docs/sandbox.md.

    ``platform`` is runsc's ``--platform`` (``ptrace`` works everywhere ptrace is allowed;
    ``kvm`` needs a usable ``/dev/kvm``). ``syscall_filter`` is the classic-BPF program (the raw
    ``sock_filter`` array) every run installs; by default the project's (``_seccomp``); ``b""``
    installs none (for experiments only).
    """

    name = "gvisor"

    def __init__(
        self,
        runsc_path: str = DEFAULT_RUNSC,
        *,
        python_paths: Sequence[str] = (),
        python: str | None = None,
        platform: str = DEFAULT_PLATFORM,
        rootless: bool | None = None,
        syscall_filter: bytes | None = None,
    ) -> None:
        self.runsc_path = runsc_path
        self.python_paths = tuple(str(Path(p).resolve()) for p in python_paths)
        self.python = python or python_executable()
        self.platform = platform
        self.setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        self.rootless = os.geteuid() != 0 if rootless is None else rootless
        self._syscall_filter = syscall_filter
        self.base_dir = Path(tempfile.mkdtemp(prefix="codearena-gvisor-"))
        self._rootfs: dict[str, Path] = {}
        self._mounts: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.base_dir, True)

    @property
    def syscall_filter(self) -> bytes:
        """The BPF program every run installs: the one given, else ``_seccomp.filter_bpf()``."""
        if self._syscall_filter is None:
            self._syscall_filter = _seccomp.filter_bpf()
        return self._syscall_filter

    def close(self) -> None:
        """Remove this sandbox's directory (root file systems included): call it when no run is
        in flight. It also goes when the object is collected or the process exits."""
        self._finalizer()

    # -- availability ---------------------------------------------------------------------
    def check_available(self) -> None:
        """Raise SandboxUnavailable (with the fix) unless runsc can run a sandbox here."""
        if not (os.path.isfile(self.runsc_path) and os.access(self.runsc_path, os.X_OK)):
            raise SandboxUnavailable(
                f"gVisor's runsc not found at {self.runsc_path}. {_INSTALL_HINT}"
            )
        if not os.access(self.setpriv, os.X_OK):
            raise SandboxUnavailable(f"{self.setpriv} missing: apt-get install util-linux")
        _ = self.syscall_filter  # raises with its own fix when libseccomp's binding is missing
        key = (self.runsc_path, self.platform, self.rootless)
        with _probe_lock:
            if key not in _probed:
                _probed[key] = self._probe()
            problem = _probed[key]
        if problem is not None:
            raise SandboxUnavailable(f"runsc cannot start a sandbox: {problem}. {_INSTALL_HINT}")

    def _probe(self) -> str | None:
        limits = Limits(timeout_s=30)
        plan = plan_program(get_language("python"), "print('ok')", limits, self.python)
        try:
            result = self._run_plan(plan, get_language("python"), "", limits, _OwnedFds(()), None)
        except (OSError, SandboxError) as exc:
            return str(exc)
        if result.stdout != "ok\n":
            return result.stderr.strip() or f"verdict {result.verdict}, exit {result.exit_code}"
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
        owned = _OwnedFds(channels)
        try:
            limits = limits or Limits()
            lang = get_language(language)
            if channels and lang.name != "python":
                raise SandboxError("channels are only supported for Python programs")
            self.check_available()
            plan = plan_program(lang, program, limits, self.python, files)
            return self._run_plan(plan, lang, stdin, limits, owned, cancel_fd)
        finally:
            owned.close_all()

    def _run_plan(
        self,
        plan: Plan,
        lang: Language,
        stdin: str,
        limits: Limits,
        channels: _OwnedFds,
        cancel_fd: int | None,
    ) -> ExecResult:
        memory = (limits.memory_mb + lang.address_space_extra_mb + GVISOR_MEMORY_MB) * MIB
        with _cgroup.run_group(memory) as group:
            raw, log = self._run_sandbox(plan, lang, stdin, limits, channels, cancel_fd, group)
            oom_killed = group is not None and group.oom_killed()
        if raw.returncode == _RUNSC_FAILED and not raw.cancelled and not oom_killed:
            _raise_if_runsc_failed(log)
        result = classify(
            raw,
            limits=limits,
            backend=self.name,
            language=lang.name,
            compiled=plan.compiled,
            signal_via_128=True,
        )
        if oom_killed and result.verdict != "passed":
            result.verdict = "memory"  # the memory cgroup's OOM killer ended the sandbox
        return result

    def _run_sandbox(
        self,
        plan: Plan,
        lang: Language,
        stdin: str,
        limits: Limits,
        channels: _OwnedFds,
        cancel_fd: int | None,
        group: _cgroup.RunGroup | None,
    ) -> tuple[RawOutcome, str]:
        """One ``runsc run`` in a bundle of its own; returns the outcome and runsc's log."""
        sockets = len(channels.open) + (1 if plan.compiled else 0)
        run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=self.base_dir))
        container = f"codearena-{secrets.token_hex(6)}"
        try:
            self._write_bundle(run_dir, plan, lang, limits, sockets)
            # runsc dies with this process (as bwrap's --die-with-parent), and its sandbox with it
            argv = [self.setpriv, "--pdeathsig", "KILL", "--"]
            argv += self._runsc_argv(run_dir, container, sockets > 0)
            if group is not None:  # the shell joins the group, then runsc and all it starts
                argv = in_cgroup(group.procs, argv)
            with _listener(run_dir / "io" / "sock", sockets) as listener:
                session = _Session(
                    argv,
                    stdin=stdin.encode(),
                    limits=limits,
                    listener=listener,
                    status=plan.compiled,
                    channels=channels,
                    cancel_fd=cancel_fd,
                )
                try:
                    raw = session.communicate()
                finally:
                    session.close()
                    self._destroy(run_dir)
            log = run_dir / "runsc.log"
            return raw, log.read_text(errors="replace") if log.exists() else ""
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)

    def _runsc_argv(self, run_dir: Path, container: str, host_socket: bool) -> list[str]:
        argv = [
            self.runsc_path,
            f"--root={run_dir / 'state'}",
            f"--log={run_dir / 'runsc.log'}",
            "--log-format=json",
            "--network=none",
            f"--platform={self.platform}",
            "--ignore-cgroups",
        ]
        if self.rootless:
            argv.append("--rootless")
        if host_socket:
            argv.append("--host-uds=open")  # lets the init connect the run's own socket
        return [*argv, "run", f"--bundle={run_dir / 'bundle'}", container]

    @staticmethod
    def _destroy(run_dir: Path) -> None:
        """Make sure nothing of a run is left: a normal ``runsc run`` removes its own state; a
        killed one leaves its state file, and its sandbox and gofer die with it (they get a
        parent-death signal). Any recorded process still alive is killed here; this is what
        ``runsc delete --force`` would do, without its ~2 s of waiting for the dead sandbox."""
        state = run_dir / "state"
        for pid in _recorded_pids(state):
            _kill_leftover(pid, f"--root={state}")

    # -- the bundle -----------------------------------------------------------------------
    def _write_bundle(
        self, run_dir: Path, plan: Plan, lang: Language, limits: Limits, sockets: int
    ) -> None:
        files_dir = run_dir / "io" / "files"
        files_dir.mkdir(parents=True)
        for path in (run_dir, run_dir / "io", files_dir):
            path.chmod(0o755)
        for name, content in plan.files.items():
            target = files_dir / name
            for parent in reversed(target.relative_to(files_dir).parents):
                (files_dir / parent).mkdir(mode=0o755, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            target.chmod(0o644)
        (run_dir / "state").mkdir(mode=0o700)
        bundle = run_dir / "bundle"
        bundle.mkdir()
        spec = self._spec(run_dir, plan, lang, limits, sockets)
        (bundle / "config.json").write_text(json.dumps(spec))

    def _spec(
        self, run_dir: Path, plan: Plan, lang: Language, limits: Limits, sockets: int
    ) -> dict[str, Any]:
        rlimits = [
            {"type": _RLIMIT_NAMES[which], "soft": soft, "hard": hard}
            for which, soft, hard in _rlimits(limits, lang)
        ]
        run_mounts = [
            _tmpfs(WORKDIR, f"size={limits.tmpfs_mb * MIB}", "mode=1777"),
            _bind(str(run_dir / "io"), IO_DIR),
        ]
        return {
            "ociVersion": "1.0.0",
            "process": {
                "terminal": False,
                "user": {"uid": GUEST_UID, "gid": GUEST_UID},
                "args": [
                    self.python,
                    "-I",
                    "-S",
                    "-B",
                    "-c",
                    self._init(plan, lang, limits, sockets),
                ],
                "env": [f"{k}={v}" for k, v in sandbox_env(lang, self._python_path_dirs()).items()],
                "cwd": WORKDIR,
                "capabilities": {
                    key: []
                    for key in ("bounding", "effective", "inheritable", "permitted", "ambient")
                },
                "noNewPrivileges": True,
                "rlimits": rlimits,
            },
            "root": {"path": str(self._rootfs_for(lang)), "readonly": True},
            "hostname": "sandbox",
            "mounts": [*self._static_mounts(lang), *run_mounts],
            "linux": {
                "namespaces": [
                    {"type": kind} for kind in ("pid", "network", "ipc", "uts", "mount")
                ],
            },
        }

    def _init(self, plan: Plan, lang: Language, limits: Limits, sockets: int) -> str:
        """The init's ``-c`` code: files, fds, rlimits, filter, then the program."""
        python_main = plan.source if lang.name == "python" and not plan.compiled else ""
        argv = [] if python_main else [a.replace("{status_fd}", str(FIRST_FD)) for a in plan.argv]
        path = f"{WORKDIR}/{python_main}"
        return _INIT.format(
            files=sorted(plan.files),
            workdir=WORKDIR,
            io=IO_DIR,
            first=FIRST_FD,
            sockets=sockets,
            cpu=(limits.effective_cpu_s, limits.effective_cpu_s + 1),
            seccomp=self.syscall_filter,
            argv=argv,
            paths=[WORKDIR, *self._python_path_dirs()],
            name=python_main,
            path=path,
        )

    def _python_path_dirs(self) -> tuple[str, ...]:
        return tuple(f"{PYTHONPATH_DIR}/{i}" for i in range(len(self.python_paths)))

    def _static_mounts(self, lang: Language) -> list[dict[str, Any]]:
        """Mounts that depend only on the language (computed once per sandbox and language)."""
        with self._lock:
            cached = self._mounts.get(lang.name)
            if cached is None:
                layout = self._layout(lang)
                cached = [_mount(*entry) for entry in layout if entry[0] != "symlink"]
                self._mounts[lang.name] = cached
            return cached

    def _rootfs_for(self, lang: Language) -> Path:
        """An empty read-only root holding only the mount points and the /lib* symlinks."""
        with self._lock:
            root = self._rootfs.get(lang.name)
            if root is None:
                root = self.base_dir / f"rootfs-{lang.name}"
                _build_rootfs(root, self._layout(lang))
                self._rootfs[lang.name] = root
            return root

    def _layout(self, lang: Language) -> list[tuple[str, str, str]]:
        """(kind, source, guest path): ``bind`` (read-only, from the host path), ``tmpfs`` (an empty
        read-only directory hiding what is below), ``proc``, and ``symlink`` (made in the root)."""
        layout = [("proc", "proc", "/proc"), ("bind", "/usr", "/usr")]
        for name in ROOT_DIRS:
            path = f"/{name}"
            if os.path.islink(path):
                layout.append(("symlink", os.readlink(path), path))
            elif os.path.isdir(path):
                layout.append(("bind", path, path))
        etc_names = PYTHON_ETC_FILES if lang.name == "python" else ETC_FILES
        for name in etc_names:
            path = f"/etc/{name}"
            if os.path.islink(path) and os.path.realpath(path).startswith("/usr/"):
                layout.append(("symlink", os.readlink(path), path))
            elif os.path.exists(path):
                layout.append(("bind", path, path))
        prefix = python_prefix(self.python)
        for path in (*lang.binds, prefix):
            if path != "/usr" and not path.startswith("/usr/"):
                layout.append(("bind", path, path))
        for i, extra in enumerate(self.python_paths):
            layout.append(("bind", extra, f"{PYTHONPATH_DIR}/{i}"))
        for site in sorted(Path(prefix).glob("lib/python3*/site-packages")):
            layout.append(("tmpfs", "tmpfs", str(site)))
        return layout


# -- the OCI pieces -------------------------------------------------------------------------
def _rlimits(limits: Limits, lang: Language) -> list[tuple[int, int, int]]:
    """(resource, soft, hard): AS, CPU (hard one second above), FSIZE, NOFILE, CORE=0, NPROC,
    MSGQUEUE; the same figures as the bwrap backend's."""
    address_space = (limits.memory_mb + lang.address_space_extra_mb) * MIB
    cpu = limits.effective_cpu_s
    file_size = limits.file_size_mb * MIB
    processes = max(limits.processes, lang.min_processes)
    return [
        (resource.RLIMIT_AS, address_space, address_space),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, file_size, file_size),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NPROC, processes, processes),
        (resource.RLIMIT_MSGQUEUE, limits.message_queue_bytes, limits.message_queue_bytes),
    ]


def _bind(source: str, target: str) -> dict[str, Any]:
    return {"destination": target, "type": "bind", "source": source, "options": ["rbind", "ro"]}


def _tmpfs(target: str, *options: str) -> dict[str, Any]:
    return {"destination": target, "type": "tmpfs", "source": "tmpfs", "options": list(options)}


def _mount(kind: str, source: str, target: str) -> dict[str, Any]:
    if kind == "bind":
        return _bind(source, target)
    if kind == "tmpfs":  # an empty read-only directory that hides what is below
        return _tmpfs(target, "ro", "size=4096", "mode=0755")
    return {"destination": target, "type": kind, "source": source}


def _build_rootfs(root: Path, layout: list[tuple[str, str, str]]) -> None:
    root.mkdir(mode=0o755)
    for guest in (WORKDIR, IO_DIR, "/etc"):
        _guest_path(root, guest).mkdir(mode=0o755, parents=True, exist_ok=True)
    for kind, source, target in layout:
        path = _guest_path(root, target)
        if path.exists() or path.is_symlink():
            continue
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        if kind == "symlink":
            path.symlink_to(source)
        elif kind == "bind" and not os.path.isdir(source):
            path.touch(mode=0o644)
        else:
            path.mkdir(mode=0o755)
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


def _guest_path(root: Path, guest: str) -> Path:
    return root / guest.lstrip("/")


@contextlib.contextmanager
def _listener(path: Path, backlog: int) -> Iterator[socket.socket | None]:
    """The run's host socket (connectable by the guest user), or None when no fd is needed."""
    if backlog == 0:
        yield None
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        path.chmod(0o666)
        sock.listen(backlog)
        sock.setblocking(False)
        yield sock
    finally:
        sock.close()


def _recorded_pids(state: Path) -> list[int]:
    """The sandbox and gofer pids in runsc's state files (none after a normal exit)."""
    pids = []
    for path in state.glob("*.state"):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(path.read_text())
            pids += [data.get("sandbox", {}).get("pid"), data.get("goferPid")]
    return [pid for pid in pids if isinstance(pid, int) and pid > 0]


def _kill_leftover(pid: int, marker: str, wait_s: float = 2.0) -> None:
    """SIGKILL ``pid`` (and its process group: the sandbox leads one with its ptrace stubs)
    if it is still the runsc process whose command line has ``marker``; wait until it is gone."""
    try:
        pidfd = os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        return
    try:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return
        if marker.encode() not in cmdline:
            return  # the pid now belongs to someone else
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
        select.select([pidfd], [], [], wait_s)
    finally:
        os.close(pidfd)


def _raise_if_runsc_failed(log: str) -> None:
    """runsc exits 128 when it fails itself; its log then holds error entries."""
    errors = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
                errors.append(str(entry.get("msg", "")))
    if errors:
        raise SandboxError(f"runsc failed: {errors[-1]}")


# -- running one sandbox ----------------------------------------------------------------------
@dataclass
class _Flow:
    """One direction of a relayed channel: bytes read from ``src`` and written to ``dst``."""

    src: int
    dst: int
    end: Callable[[], None]  # tells ``dst``'s reader that no more bytes come
    buf: bytearray = field(default_factory=bytearray)
    reading: bool = True
    writing: bool = True

    def wants_read(self) -> bool:
        return self.reading and len(self.buf) < _RELAY_BUFFER

    def wants_write(self) -> bool:
        return self.writing and bool(self.buf)

    def pending(self) -> bool:
        return self.writing and (self.reading or bool(self.buf))

    def read(self) -> None:
        try:
            chunk = os.read(self.src, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            self.buf += chunk
        else:
            self.reading = False
        self._maybe_end()

    def write(self) -> None:
        try:
            del self.buf[: os.write(self.dst, self.buf)]
        except BlockingIOError:
            return
        except OSError:
            self.writing = False
            self.buf.clear()
        self._maybe_end()

    def _maybe_end(self) -> None:
        if not self.reading and not self.buf and self.writing:
            self.writing = False
            with contextlib.suppress(OSError):
                self.end()


class _Session:
    """The host side of one run: the pump (stdin, capped stdout/stderr, the cancel fd, the
    deadline), the guest's socket connections (compile status, relayed channels) as the
    pump's ``Extra``, and the final kill."""

    def __init__(
        self,
        argv: list[str],
        *,
        stdin: bytes,
        limits: Limits,
        listener: socket.socket | None,
        status: bool,
        channels: _OwnedFds,
        cancel_fd: int | None,
    ) -> None:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.proc = proc
        self.channels = channels
        self.listener = listener
        self.pidfd = os.pidfd_open(proc.pid)
        self.expected: list[int | None] = ([None] if status else []) + list(channels.open)
        self.conns: list[socket.socket] = []
        self.status = bytearray()
        self.flows: list[_Flow] = []
        for fd in channels.open:
            os.set_blocking(fd, False)
        self.pump = Pump(
            start=start,
            timeout_s=limits.timeout_s,
            output_bytes=limits.output_bytes,
            stdin=stdin,
            stdin_fd=proc.stdin.fileno(),
            close_stdin=proc.stdin.close,
            stdout_fd=proc.stdout.fileno(),
            stderr_fd=proc.stderr.fileno(),
            exit_fd=self.pidfd,
            cancel_fd=cancel_fd,
            extra=self,
        )

    def communicate(self) -> RawOutcome:
        self.pump.run()
        if self.pump.exited_at is None:  # timeout, output cap or cancel
            kill_group(self.proc.pid)
        return self.pump.outcome(self.proc.wait(), status=bytes(self.status))

    # -- the pump's Extra -------------------------------------------------------------------
    def busy(self) -> bool:
        """A relayed flow towards the host still to finish after the sandbox exited."""
        conn_fds = {conn.fileno() for conn in self.conns if conn.fileno() >= 0}
        return any(flow.pending() and flow.dst not in conn_fds for flow in self.flows)

    def interest(self) -> list[Interest]:
        wanted: list[Interest] = []
        if self.listener is not None:
            wanted.append((self.listener.fileno(), select.POLLIN, self._accept))
        for flow in self.flows:
            if flow.wants_read():
                wanted.append((flow.src, select.POLLIN, flow.read))
            if flow.wants_write():
                wanted.append((flow.dst, select.POLLOUT, flow.write))
        return wanted

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self.conns.append(conn)
        channel = self.expected[len(self.conns) - 1]
        if channel is None:
            self.status = self.pump.add_reader(conn.fileno(), _STATUS_BYTES)
        else:
            self.flows += _relay(conn, channel, self.channels)
        if len(self.conns) == len(self.expected):
            self.listener.close()  # later connections from the program are refused
            self.listener = None

    # -- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        if self.proc.poll() is None:
            kill_group(self.proc.pid)
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        for conn in self.conns:
            conn.close()
        os.close(self.pidfd)


def _relay(conn: socket.socket, channel: int, owned: _OwnedFds) -> list[_Flow]:
    """The flows between the guest's connection and a host channel fd, by the fd's kind:
    a socket both ways, a pipe (or other fd) in the direction it is open for."""
    is_socket = stat.S_ISSOCK(os.fstat(channel).st_mode)
    access = fcntl.fcntl(channel, fcntl.F_GETFL) & os.O_ACCMODE
    end_to_host: Callable[[], None]
    if is_socket:
        end_to_host = functools.partial(_shutdown_write, channel)
    elif access == os.O_RDWR:
        end_to_host = _nothing  # the other direction still uses the fd
    else:
        end_to_host = functools.partial(owned.close, channel)  # the host's reader sees EOF
    end_to_program = functools.partial(conn.shutdown, socket.SHUT_WR)
    flows = []
    if is_socket or access != os.O_RDONLY:  # the program writes, the host reads
        flows.append(_Flow(conn.fileno(), channel, end_to_host))
    if is_socket or access != os.O_WRONLY:  # the host writes, the program reads
        flows.append(_Flow(channel, conn.fileno(), end_to_program))
    return flows


def _nothing() -> None:
    pass


def _shutdown_write(fd: int) -> None:
    sock = socket.socket(fileno=os.dup(fd))
    try:
        sock.shutdown(socket.SHUT_WR)
    finally:
        sock.close()


class _OwnedFds:
    """The channel fds a run took over: each closed exactly once (no fd number reused by
    another thread is ever closed by mistake)."""

    def __init__(self, fds: Sequence[int]) -> None:
        self.open = list(fds)

    def close(self, fd: int) -> None:
        if fd in self.open:
            self.open.remove(fd)
            with contextlib.suppress(OSError):
                os.close(fd)

    def close_all(self) -> None:
        for fd in list(self.open):
            self.close(fd)
