"""The syscall filter of every run, compiled to classic BPF with libseccomp's Python binding.

The filter allows everything but the calls below, which a program under test has no business
making and which reach kernel state shared beyond its run, regain privilege, or widen the
kernel's attack surface (docs/sandbox.md lists them with their reasons):

* denied with ``EPERM``: the keyring (``add_key``, ``request_key``, ``keyctl``); entering or
  creating namespaces (``unshare``, ``setns``, and ``clone`` with any ``CLONE_NEW*`` flag);
  mounting (``mount``, ``umount2``, ``pivot_root``, ``chroot`` and the new mount API); other
  processes' memory (``ptrace``, ``process_vm_readv``, ``process_vm_writev``); ``bpf``,
  ``perf_event_open``, ``userfaultfd``, ``io_uring_*``; ``kexec_*`` and module loading; a few
  host-wide administrative calls; ``ioctl(TIOCSTI)`` and ``ioctl(TIOCLINUX)`` (typing into a
  terminal); ``socket(AF_VSOCK)`` (with EAFNOSUPPORT: vsock crosses network namespaces);
* ``clone3`` fails with ``ENOSYS``: its flags sit behind a pointer a filter cannot read, and
  ``ENOSYS`` makes the C library fall back to ``clone``, whose flags it can;
* a system call of another ABI (32-bit ``int $0x80``, x32) kills the process.

The binding is Debian's ``python3-seccomp`` (the maintained one, from libseccomp itself). Its
extension module is loaded into this interpreter when its ABI tag matches; otherwise Debian's
``python3`` compiles the filter in a subprocess. Either way the result is cached per process.
"""

from __future__ import annotations

import errno
import functools
import importlib.machinery
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from .types import SandboxUnavailable

DENIED: tuple[str, ...] = (
    # kernel keyrings: shared by every process of a uid, across runs and namespaces
    "add_key",
    "request_key",
    "keyctl",
    # namespaces: a nested user namespace gives back a full capability set
    "unshare",
    "setns",
    # mounts: a private tmpfs would escape the size cap; no program needs to mount
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    # other processes' memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    # large kernel attack surface, never needed by a test program
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    "lookup_dcookie",
    "quotactl",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "vhangup",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    # replacing the kernel or loading code into it
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
)
"""Calls that fail with EPERM whatever their arguments."""

NAMESPACE_FLAGS: dict[str, int] = {
    "CLONE_NEWTIME": 0x00000080,
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
"""``clone`` with any of these flags fails with EPERM (threads and plain forks are allowed)."""

DENIED_IOCTLS: dict[str, int] = {"TIOCSTI": 0x5412, "TIOCLINUX": 0x541C}
"""``ioctl`` requests that fail with EPERM: they push input into a terminal."""

DENIED_SOCKET_FAMILIES: dict[str, int] = {"AF_VSOCK": 40}
"""``socket`` families that fail with EAFNOSUPPORT: vsock ignores network namespaces and reaches
the hypervisor and other virtual machines."""

_DIST_PACKAGES = ("/usr/lib/python3/dist-packages", "/usr/lib/python3.11/dist-packages")
_SYSTEM_PYTHON = "/usr/bin/python3"
_INSTALL_HINT = "install libseccomp's Python binding: apt-get install python3-seccomp"


def build(seccomp: Any, out: Any) -> list[str]:
    """Write the filter as BPF to the binary file ``out``; returns the names this libseccomp
    does not know (left out). ``seccomp`` is the binding's module."""
    unknown: list[str] = []
    deny = seccomp.ERRNO(errno.EPERM)
    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    flt.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    for name in DENIED:
        try:
            flt.add_rule(deny, name)
        except (RuntimeError, ValueError, OSError):
            unknown.append(name)
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in NAMESPACE_FLAGS.values():
        flt.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    for request in DENIED_IOCTLS.values():
        flt.add_rule(deny, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, request))
    for family in DENIED_SOCKET_FAMILIES.values():
        no_family = seccomp.ERRNO(errno.EAFNOSUPPORT)
        flt.add_rule(no_family, "socket", seccomp.Arg(0, seccomp.MASKED_EQ, 0xFFFFFFFF, family))
    flt.export_bpf(out)
    return unknown


_SUBPROCESS = f"""
import sys
sys.path[:0] = {list(_DIST_PACKAGES)!r}
import seccomp
exec(sys.stdin.read())
build(seccomp, sys.stdout.buffer)
sys.stdout.flush()
"""


@functools.cache
def filter_bpf() -> bytes:
    """The filter as an array of ``struct sock_filter`` (8 bytes each), ready for
    ``seccomp(SECCOMP_SET_MODE_FILTER)`` or bwrap's ``--seccomp FD``."""
    module = _binding()
    if module is not None:
        with tempfile.TemporaryFile() as out:
            build(module, out)
            out.seek(0)
            program = out.read()
    else:
        program = _build_in_subprocess()
    if not program or len(program) % 8:
        raise SandboxUnavailable(f"libseccomp produced no filter; {_INSTALL_HINT}")
    return program


def _binding() -> ModuleType | None:
    """libseccomp's binding in this interpreter: importable, or Debian's with a matching ABI."""
    try:
        import seccomp  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        module: ModuleType = seccomp
        return module
    for directory in _DIST_PACKAGES:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(directory) / f"seccomp{suffix}"
            if path.is_file():
                spec = importlib.util.spec_from_file_location("seccomp", path)
                if spec is None or spec.loader is None:
                    continue
                module = importlib.util.module_from_spec(spec)
                try:
                    spec.loader.exec_module(module)
                except ImportError:
                    continue
                sys.modules.setdefault("seccomp", module)
                return module
    return None


def _build_in_subprocess() -> bytes:
    source = Path(__file__).read_text(encoding="utf-8")
    body = source[source.index("def build(") : source.index("_SUBPROCESS = ")]
    prelude = "import errno\nfrom typing import Any\n" + _constants_source()
    try:
        done = subprocess.run(
            [_SYSTEM_PYTHON, "-I", "-S", "-c", _SUBPROCESS],
            input=(prelude + body).encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        message = f"cannot compile the syscall filter ({exc}); {_INSTALL_HINT}"
        raise SandboxUnavailable(message) from None
    if done.returncode != 0:
        problem = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise SandboxUnavailable(
            f"cannot compile the syscall filter ({problem[0]}); {_INSTALL_HINT}"
        )
    return done.stdout


def _constants_source() -> str:
    return (
        f"DENIED = {DENIED!r}\nNAMESPACE_FLAGS = {NAMESPACE_FLAGS!r}\n"
        f"DENIED_IOCTLS = {DENIED_IOCTLS!r}\n"
        f"DENIED_SOCKET_FAMILIES = {DENIED_SOCKET_FAMILIES!r}\n"
    )
