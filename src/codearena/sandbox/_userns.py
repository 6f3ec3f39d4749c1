"""A user namespace shared by sandboxes started as root, and per-run unprivileged uids.

Why: bwrap started by root maps the sandbox uid to host uid 0, and the kernel never applies
RLIMIT_NPROC to host root, so a fork bomb would not be contained. We therefore create, once per
process, a user namespace whose map is ``0 -> 0`` (so bwrap can still read root-only paths such as
a pyenv prefix under /root while it sets up mounts) plus a block of 65536 otherwise unused host uids.
Each run drops to its own uid from that block (``setpriv``) before the program starts; the
kernel counts RLIMIT_NPROC per (user namespace, uid), so every run gets its own process budget.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .types import SandboxUnavailable

INNER_UID_BASE = 100000
HOST_UID_BASE = 2_100_000_000
UID_COUNT = 65536

_HELPER = (
    "import ctypes,sys\n"
    "if ctypes.CDLL(None,use_errno=True).unshare(0x10000000)!=0:sys.exit(3)\n"
    "sys.stdout.write('ready\\n');sys.stdout.flush();sys.stdin.read()\n"
)

_lock = threading.Lock()
_userns_fd: int | None = None
_in_use: set[int] = set()


def shared_userns_fd() -> int:
    """An fd of the shared user namespace, created on first use (root only)."""
    global _userns_fd
    with _lock:
        if _userns_fd is None:
            _userns_fd = _create_userns()
        return _userns_fd


def _create_userns() -> int:
    helper = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _HELPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert helper.stdin is not None and helper.stdout is not None
    try:
        if helper.stdout.readline().strip() != b"ready":
            raise SandboxUnavailable(
                "cannot create a user namespace (unshare(CLONE_NEWUSER) failed). Fix: enable user "
                "namespaces (sysctl -w user.max_user_namespaces=15000; on Debian/Ubuntu also "
                "kernel.unprivileged_userns_clone=1), or run the container with "
                "--security-opt seccomp=unconfined"
            )
        mapping = f"0 0 1\n{INNER_UID_BASE} {HOST_UID_BASE} {UID_COUNT}\n"
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{helper.pid}/{name}", "w") as fh:
                fh.write(mapping)
        fd = os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        helper.stdin.close()
        helper.wait()
        helper.stdout.close()
        if helper.stderr is not None:
            helper.stderr.close()
    return fd


@contextmanager
def lease_uid() -> Iterator[int]:
    """A uid (inside the shared namespace) no other run of this process is using."""
    with _lock:
        while True:
            offset = random.randrange(1, UID_COUNT)
            if offset not in _in_use:
                _in_use.add(offset)
                break
    try:
        yield INNER_UID_BASE + offset
    finally:
        with _lock:
            _in_use.discard(offset)
