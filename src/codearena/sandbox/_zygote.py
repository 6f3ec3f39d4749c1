"""The Python fork server ("zygote") that runs inside one bwrap sandbox; see docs/sandbox.md.

codearena never imports this module: ``_forkserver`` reads its source and starts it inside
bwrap as ``python -I -S -B -c SOURCE CTL_FD FILTER REMOTE [PYTHON_PATH ...]`` (FILTER: the
syscall filter as hex; REMOTE: the source of ``_remote``, imported once as ``codearena_remote``).
It uses the standard library only, and it never reads a program, its files or its stdin: those
travel as file descriptors.

Processes (each line is a fork; S keeps CAP_SYS_ADMIN/SETUID/SETGID/SETPCAP and no other
capability; bwrap has set no_new_privs):

* S, the server: waits on the control socket for a request (a line of integers: uid, rlimits,
  tmpfs size, the artifacts' count and byte caps, number of channels N, 1 if a memory cgroup
  comes) carrying 5 (+ 1) + N fds: the
  run's status socket, stdin, stdout, stderr, a memfd with the program's files, (the run's
  ``cgroup.procs``, which B joins,) and the run's N channels. It forks A and closes its
  own copies of the fds.
* A: ``unshare(NEWNS|NEWPID|NEWNET|NEWIPC|NEWUTS)``, forks B, exits.
* B, PID 1 of the run's fresh PID namespace: mounts a size-capped tmpfs on /tmp, a fresh
  /proc and a devpts instance of its own on /dev/pts, forks C, then clears its own
  capabilities, becomes non-dumpable and waits. Once C has exited it collects the images C left
  in /tmp (``_collect_artifacts``), sends C's exit status on the status socket (the images
  attached as a memfd) and exits; the kernel then SIGKILLs every process left in the
  namespace. When the host closes the status socket (deadline, output cap) B exits at once;
  when it ends a run that is still going on purpose (``collect``: the tests are over) B sends
  the images with ``c`` and then exits.
* C, the program: drops the bounding set, the supplementary groups and uid/gid (to the run's own
  host uid), clears every capability set, writes the files into /tmp, moves the channels to
  fds 3, 4, ... and closes every other fd above 2, sets the rlimits, installs the syscall
  filter and only then reads the program, which runs in ``__main__`` as ``_pyboot`` does.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

MODULES = ("typing", "re", "collections", "itertools", "functools", "math", "string", "json", "socket", "base64", "traceback", "random", "copy")  # fmt: skip
"""Imported once by the server: what tests and the test harness (``codearena_remote``) import,
all pure and without secrets."""

_CLONE_NEWPID = 0x20000000
_WARM_UP = """
from typing import Any, Dict, List, Optional, Tuple, Union
def f(numbers: List[int], threshold: float = 0.5, s: str = "") -> Tuple[int, int]:
    "doc"
    total = sum(x * x for x in numbers if x > threshold)
    pairs = [(a, b) for a in range(3) for b in range(a)]
    lookup: Dict[str, Any] = {str(k): v for k, v in enumerate(pairs)}
    try:
        raise ValueError(f"{total!r:>5} {len(lookup)} {s.upper()}")
    except ValueError as exc:
        message = str(exc)
    return (len(message), max(numbers, default=0))
class C:
    def __init__(self, value: Optional[Union[int, float]] = None) -> None:
        self.value = value
    def __repr__(self) -> str:
        return f"C({self.value})"
def check(candidate: Any) -> None:
    assert candidate([1, 2, 3]) == candidate([1, 2, 3]), "same"
    assert repr(C(1)) == "C(1)" and (lambda x: x)(1) == 1
    h: List[str] = []
    h.append("x")
check(f)
"""
"""Run once by the server (trusted code): the first ``compile`` and ``exec`` in a process pay
milliseconds of lazy set-up that every run would otherwise pay again."""

_NS_FLAGS = 0x00020000 | 0x40000000 | 0x08000000 | 0x04000000  # NEWNS, NEWNET, NEWIPC, NEWUTS
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_DUMPABLE, _PR_SET_SECCOMP, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 4, 22, 24, 38
_SECCOMP_MODE_FILTER = 2
_DEVPTS_OPTIONS = b"newinstance,ptmxmode=0666,mode=620"
_CAP_VERSION_3 = 0x20080522
_SETUP_FAILED = 125
ARTIFACT_SCAN = 4096
"""How many entries of a run's working directory B looks at for images, at most."""


class _Kernel:
    """The few system calls Python 3.11's ``os`` lacks, through ctypes."""

    def __init__(self) -> None:
        import ctypes

        class CapHeader(ctypes.Structure):
            _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))

        class CapData(ctypes.Structure):
            _fields_ = (
                ("effective", ctypes.c_uint32),
                ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32),
            )

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        c_str = ctypes.c_char_p
        self.libc.mount.argtypes = [c_str, c_str, c_str, ctypes.c_ulong, c_str]
        self.cap_header, self.cap_data = CapHeader, CapData
        self.filter: Any = None

    def load_filter(self, program: bytes) -> None:
        """Prepare the syscall filter (``struct sock_fprog``) that ``apply_filter`` installs."""
        import ctypes

        class Program(ctypes.Structure):
            _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

        buffer = ctypes.create_string_buffer(program, len(program))
        self.filter = (Program(len(program) // 8, ctypes.addressof(buffer)), buffer)

    def apply_filter(self) -> None:
        fprog, _buffer = self.filter
        self.libc.prctl.argtypes = [self.ctypes.c_int, self.ctypes.c_ulong, self.ctypes.c_void_p, self.ctypes.c_ulong, self.ctypes.c_ulong]  # fmt: skip
        self.check(self.libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, self.ctypes.byref(fprog), 0, 0), "seccomp")  # fmt: skip

    def check(self, result: int, what: str) -> None:
        if result != 0:
            errno = self.ctypes.get_errno()
            import os

            raise OSError(errno, f"{what}: {os.strerror(errno)}")

    def mount(self, source: bytes | None, target: bytes, fstype: bytes | None, flags: int, data: bytes | None = None) -> None:  # fmt: skip
        self.check(self.libc.mount(source, target, fstype, flags, data), f"mount {target!r}")

    def unshare(self, flags: int) -> None:
        self.check(self.libc.unshare(flags), "unshare")

    def setns(self, fd: int, flags: int) -> None:
        self.check(self.libc.setns(fd, flags), "setns")

    def prctl(self, option: int, arg: int) -> int:
        return int(self.libc.prctl(option, arg, 0, 0, 0))

    def clear_capabilities(self) -> None:
        """Empty the effective, permitted and inheritable sets (and check that they are)."""
        header = self.cap_header(_CAP_VERSION_3, 0)
        data = (self.cap_data * 2)()
        self.check(self.libc.capset(self.ctypes.byref(header), data), "capset")
        self.check(self.libc.capget(self.ctypes.byref(header), data), "capget")
        if any(d.effective or d.permitted or d.inheritable for d in data):
            raise OSError("capabilities are still set")


def _codearena_serve() -> tuple[bytes, str, str, int, bool]:
    """Serve until the host goes away; returns only in a program process (C), with the
    arguments of ``compile`` for the program."""
    import _sitebuiltins
    import _socket
    import builtins
    import os
    import signal

    for name in MODULES:
        __import__(name)
    kernel = _Kernel()
    ctl_fd = int(sys.argv[1])
    kernel.load_filter(bytes.fromhex(sys.argv[2]))
    remote = type(sys)("codearena_remote")
    exec(compile(sys.argv[3], "codearena_remote.py", "exec", 0, True), remote.__dict__)
    sys.modules["codearena_remote"] = remote
    paths = ["/tmp", *sys.argv[4:]]
    del sys.argv[2:4]
    os.closerange(3, ctl_fd)
    os.closerange(ctl_fd + 1, 1 << 20)
    # The server's own mount tree: private (nothing a run mounts propagates) and read-only.
    kernel.mount(None, b"/", None, _MS_REC | _MS_PRIVATE)
    kernel.mount(None, b"/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir("/")
    eof = "Ctrl-D (i.e. EOF)"
    builtins.exit = _sitebuiltins.Quitter("exit", eof)
    builtins.quit = _sitebuiltins.Quitter("quit", eof)
    builtins.help = _sitebuiltins._Helper()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the B processes
    own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    import gc
    import resource
    import select

    del resource, select  # imported for the runs
    exec(compile(_WARM_UP, "<warm-up>", "exec", 0, True), {"__name__": "warm_up"})
    gc.collect()
    gc.freeze()  # a forked run's collections then do not touch (and copy) the server's objects
    ctl = _socket.socket(fileno=ctl_fd)
    ctl.send(b"ready")
    fd_space = _socket.CMSG_SPACE(16 * 4)
    while True:
        msg, ancillary, flags, _ = ctl.recvmsg(256, fd_space)
        if not msg:
            os._exit(0)  # the host closed the control socket: stop (bwrap then kills the rest)
        fds: list[int] = []
        for level, kind, data in ancillary:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += memoryview(data[: len(data) - len(data) % 4]).cast("i").tolist()
        counts = msg.split()[-2:]  # channels, then 1 if a cgroup.procs fd comes first
        expected = 5 + sum(map(int, counts)) if len(counts) == 2 else -1
        if len(fds) != expected or flags & _socket.MSG_CTRUNC:
            for fd in fds:
                os.close(fd)
            continue
        try:
            # B, the next child, becomes PID 1 of a new PID namespace; then back to our own
            kernel.unshare(_CLONE_NEWPID)
            try:
                pid = os.fork()
            finally:
                if os.getpid() != 1:
                    kernel.setns(own_pid_ns, _CLONE_NEWPID)
        except OSError as exc:
            _report(fds[0], f"e {exc}")
            pid = -1
        if pid == 0:
            ctl.detach()
            os.close(ctl_fd)
            os.close(own_pid_ns)
            try:
                return _run(kernel, msg, fds, paths)
            except BaseException as exc:
                _report(fds[0], f"e {type(exc).__name__}: {exc}")
                os._exit(_SETUP_FAILED)
        for fd in fds:
            os.close(fd)


def _report(fd: int, message: str) -> None:
    import os

    try:  # noqa: SIM105 (no contextlib import in the program's process)
        os.write(fd, message.encode())
    except OSError:
        pass


def _report_with(fd: int, message: str, archive: int | None) -> None:
    """The status message, with the artifacts' memfd attached when there is one."""
    import _socket
    import os

    if archive is None:
        _report(fd, message)
        return
    sock = _socket.socket(fileno=fd)
    try:
        rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, archive.to_bytes(4, sys.byteorder))]
        sock.sendmsg([message.encode()], rights)
    except OSError:
        pass
    sock.detach()
    os.close(archive)


def _collect_artifacts(count: int, budget: int) -> int | None:
    """B, after C has exited: the images (``*.png``, ``*.svg``) C left in the working directory,
    as a memfd for the host (``codearena.sandbox.artifacts`` reads it), or None.

    Only the top level of the run's own tmpfs is looked at (hard links cannot reach another
    file system), and at most ``ARTIFACT_SCAN`` entries of it. A name is opened relative to the
    directory with O_NOFOLLOW (a symlink is refused) and O_NONBLOCK (a FIFO does not block);
    only a regular file is read, and never more than what is left of ``budget`` bytes. B has no
    capabilities, so a file C made unreadable stays unread. Each entry of the archive is
    ``len(name) len(data) size kind\n`` + name + data, after a first line ``N\n``; ``kind`` is
    ``ok``, ``large`` (over what was left of the budget), ``count`` (past ``count`` images),
    ``special`` (not a regular file), ``empty`` or ``unreadable``; only ``ok`` carries data."""
    import os

    if count <= 0:
        return None
    entries: list[bytes] = []
    kept = 0
    left = budget
    try:
        directory = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.scandir(directory) as scan:
            names = []
            for seen, entry in enumerate(scan):
                if seen >= ARTIFACT_SCAN:
                    break
                if entry.name.lower().endswith((".png", ".svg")):
                    names.append(entry.name)
        for name in sorted(names):
            raw_name = name.encode("utf-8", "surrogateescape")
            kind, data, size = (
                (b"count", b"", 0) if kept >= count else _read_image(name, directory, left)
            )
            if kind == b"ok":
                left -= len(data)
                kept += 1
            entries.append(
                b"%d %d %d %s\n" % (len(raw_name), len(data), size, kind) + raw_name + data
            )
    except OSError:
        pass
    finally:
        os.close(directory)
    if not entries:
        return None
    archive = os.memfd_create("codearena-artifacts", os.MFD_CLOEXEC)
    view = memoryview(b"%d\n" % len(entries) + b"".join(entries))
    while view:
        view = view[os.write(archive, view) :]
    return archive


def _read_image(name: str, directory: int, left: int) -> tuple[bytes, bytes, int]:
    """One entry of ``_collect_artifacts``: its kind, its data (``ok`` only) and its size."""
    import errno
    import os
    import stat

    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    try:
        fd = os.open(name, flags, dir_fd=directory)
    except OSError as exc:  # ELOOP: a symlink
        return (b"special" if exc.errno == errno.ELOOP else b"unreadable"), b"", 0
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return b"special", b"", 0
        chunks: list[bytes] = []
        got = 0
        while info.st_size <= left and got <= left:  # a file still growing is cut
            chunk = os.read(fd, left + 1 - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        data = b"".join(chunks)
        if info.st_size > left or len(data) > left:
            return b"large", b"", max(info.st_size, len(data))
        if not data:
            return b"empty", b"", 0
        return b"ok", data, len(data)
    except OSError:
        return b"unreadable", b"", 0
    finally:
        os.close(fd)


def _run(kernel: _Kernel, msg: bytes, fds: list[int], paths: list[str]) -> tuple[bytes, str, str, int, bool]:  # fmt: skip
    """B, then C (see the module docstring); only C returns."""
    import os
    import resource
    import select
    import signal

    status_fd, stdin_fd, stdout_fd, stderr_fd, files_fd, *channels = fds
    values = list(map(int, msg.split()))
    uid, address_space, cpu_s, file_size, open_files, processes, tmpfs, queue = values[:8]
    artifact_count, artifact_bytes = values[8:10]
    if values[-1]:  # B joins the run's memory cgroup (writing 0 moves the writer), C follows
        cgroup_fd = channels.pop(0)
        os.write(cgroup_fd, b"0")
        os.close(cgroup_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # --- B: PID 1 of the run's new PID namespace; the other namespaces, then C
    kernel.unshare(_NS_FLAGS)
    kernel.mount(b"tmpfs", b"/tmp", b"tmpfs", _MS_NOSUID | _MS_NODEV, b"size=%d,mode=1777" % tmpfs)
    kernel.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    kernel.mount(b"devpts", b"/dev/pts", b"devpts", _MS_NOSUID | _MS_NOEXEC, _DEVPTS_OPTIONS)
    os.chdir("/tmp")
    child = os.fork()
    if child == 0:
        limits = (
            (resource.RLIMIT_AS, address_space),
            (resource.RLIMIT_CPU, cpu_s),
            (resource.RLIMIT_FSIZE, file_size),
            (resource.RLIMIT_NOFILE, open_files),
            (resource.RLIMIT_CORE, 0),
            (resource.RLIMIT_NPROC, processes),
            (resource.RLIMIT_MSGQUEUE, queue),
        )
        os.close(status_fd)
        # fd i of the program: stdin, stdout, stderr, the channels; then the files' memfd
        ordered = [stdin_fd, stdout_fd, stderr_fd, *channels, files_fd]
        base = max(ordered) + 1
        for i, fd in enumerate(ordered):
            os.dup2(fd, base + i)
        os.closerange(0, base)
        for i in range(len(ordered)):
            os.dup2(base + i, i)
        os.closerange(len(ordered), 1 << 20)
        try:
            return _program(kernel, len(ordered) - 1, uid, limits, paths)
        except BaseException as exc:
            _report(
                2, f"codearena sandbox: setting up the run failed: {type(exc).__name__}: {exc}\n"
            )
            os._exit(_SETUP_FAILED)
    for fd in (stdin_fd, stdout_fd, stderr_fd, files_fd, *channels):
        os.close(fd)
    os.closerange(0, status_fd)
    os.closerange(status_fd + 1, 1 << 20)
    kernel.clear_capabilities()
    kernel.prctl(_PR_SET_DUMPABLE, 0)
    pidfd = os.pidfd_open(child)
    poller = select.poll()
    poller.register(status_fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    while True:
        events = dict(poller.poll(200))
        if status_fd in events:  # the host ends the run: it asks for the images first, or gives up
            try:
                request = os.read(status_fd, 16)
            except OSError:
                request = b""
            if request == b"collect":
                _report_with(status_fd, "c", _collect_artifacts(artifact_count, artifact_bytes))
            os._exit(0)  # everything in the run's namespace dies with us
        while True:  # reap C and any orphan that was reparented to us
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid == 0:
                break
            if pid == child:
                if os.WIFSIGNALED(status):
                    message = f"s {os.WTERMSIG(status)}"
                else:
                    message = f"x {os.waitstatus_to_exitcode(status)}"
                _report_with(status_fd, message, _collect_artifacts(artifact_count, artifact_bytes))
                os._exit(0)


def _program(kernel: _Kernel, files_fd: int, uid: int, limits: tuple[tuple[int, int], ...], paths: list[str]) -> tuple[bytes, str, str, int, bool]:  # fmt: skip
    """C: drop everything, lay out the files, and hand the program to the top level."""
    import os
    from resource import RLIMIT_CPU, setrlimit

    kernel.prctl(_PR_SET_NO_NEW_PRIVS, 1)
    for cap in range(64):  # EINVAL past the last capability
        kernel.prctl(_PR_CAPBSET_DROP, cap)
    if uid >= 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    kernel.clear_capabilities()
    main = _write_files(files_fd)
    os.closerange(files_fd, 1 << 20)  # the channels sit below it, at 3, 4, ...
    for which, value in limits:
        # CPU: the soft limit sends SIGXCPU (a timeout), the hard one a second later SIGKILL
        setrlimit(which, (value, value + 1 if which == RLIMIT_CPU else value))
    kernel.apply_filter()
    sys.modules["random"].seed()  # the server's generator state is every run's: make it its own
    sys.path[0:0] = paths
    sys.argv[:] = [main[0]]
    hook = sys.excepthook

    def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:  # fmt: skip
        while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
            tb = tb.tb_next
        if isinstance(value, BaseException):
            value.__traceback__ = tb
        hook(kind, value, tb)

    sys.excepthook = excepthook
    path = f"/tmp/{main[0]}"
    namespace = sys.modules["__main__"].__dict__
    for key in [k for k in namespace if not (k.startswith("__") and k.endswith("__"))]:
        del namespace[key]
    namespace.update(__doc__=None, __file__=path, __cached__=None, __annotations__={})
    return main[1], path, "exec", 0, True


def _write_files(fd: int) -> tuple[str, bytes]:
    """Unpack the host's archive (``N\\n`` then ``len(name) len(data)\\n name data`` N times)
    into the working directory; the first file is the program. Runs as the run's uid."""
    import os

    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    blob = b"".join(chunks)
    end = blob.index(b"\n")
    count, pos = int(blob[:end]), end + 1
    first: tuple[str, bytes] | None = None
    for _ in range(count):
        end = blob.index(b"\n", pos)
        name_len, data_len = map(int, blob[pos:end].split())
        pos = end + 1
        name = blob[pos : pos + name_len].decode()
        data = blob[pos + name_len : pos + name_len + data_len]
        pos += name_len + data_len
        if "/" in name:
            os.makedirs(name.rsplit("/", 1)[0], mode=0o755, exist_ok=True)
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
        os.close(out)
        if first is None:
            first = (name, data)
    assert first is not None
    return first


def _codearena_main(program: tuple[bytes, str, str, int, bool]) -> None:
    """Run the program in ``__main__``, then end the process as Python's own shutdown would
    (exit status, uncaught exception, non-daemon threads, atexit, ``__main__``'s objects
    finalized, streams flushed), but without tearing down the inherited interpreter: that
    only touches, and so copies, every page inherited from the server (~20 ms)."""
    import atexit
    import gc
    import os
    import sys  # the module-level name is gone: the program's globals were emptied

    def _system_exit_status(exc: SystemExit) -> int:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        try:  # noqa: SIM105 (no contextlib import in the program's process)
            print(code, file=sys.stderr)
        except BaseException:
            pass
        return 1

    def _flush(status: int) -> int:
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except BaseException:
                status = 120
        return status

    main = sys.modules["__main__"].__dict__
    status = 0
    interrupted = False
    try:
        exec(compile(*program), main)
    except SystemExit as exc:
        status = _system_exit_status(exc)
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        try:  # noqa: SIM105 (no contextlib import in the program's process)
            sys.excepthook(type(exc), exc, exc.__traceback__)
        except BaseException:
            pass
        status = 1
    del program
    threading = sys.modules.get("threading")
    if threading is not None:
        try:  # noqa: SIM105 (no contextlib import in the program's process)
            threading._shutdown()
        except BaseException:
            pass
    atexit._run_exitfuncs()
    status = _flush(status)
    for key in sorted(main, key=lambda k: not k.startswith("_")):  # as CPython clears modules
        if key != "__builtins__":
            main[key] = None
    gc.collect()
    status = _flush(status)
    if interrupted:  # like CPython: die of SIGINT so that the parent sees it
        import signal

        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


if __name__ == "__main__":
    _codearena_main(_codearena_serve())
