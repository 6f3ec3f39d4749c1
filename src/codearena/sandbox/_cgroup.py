"""A memory cgroup per run, where the machine offers one, so that tmpfs pages count.

RLIMIT_AS bounds a run's address space but not the pages it writes into a tmpfs; a memory cgroup
charges both (anonymous memory, page cache and tmpfs pages alike) and, past its limit, the kernel
reclaims and then OOM-kills inside the group only. Each run gets a group of its own below this
process's own memory cgroup (cgroup v1's ``memory`` hierarchy, or v2 where this process may
create child groups with the memory controller), with ``memory.limit_in_bytes`` / ``memory.max``
(and the swap limit) set to the run's limit. Without a usable controller (not root, a read-only
cgroupfs, v2 without delegation) runs go on with RLIMIT_AS and the tmpfs size cap alone
(``available()`` says why; docs/sandbox.md states the difference).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
_counter = itertools.count()
_lock = threading.Lock()
_detected: tuple[Hierarchy | None, str] | None = None


@dataclass(frozen=True)
class Hierarchy:
    """Where this process's run groups go, and the names of the files that matter there."""

    parent: Path
    version: int

    @property
    def limit_file(self) -> str:
        return "memory.limit_in_bytes" if self.version == 1 else "memory.max"

    @property
    def swap_file(self) -> str:
        return "memory.memsw.limit_in_bytes" if self.version == 1 else "memory.swap.max"

    @property
    def events_file(self) -> str:
        return "memory.oom_control" if self.version == 1 else "memory.events"


@dataclass
class RunGroup:
    """One run's memory cgroup."""

    path: Path
    hierarchy: Hierarchy

    @property
    def procs(self) -> Path:
        """``cgroup.procs``: writing ``0`` to it moves the writer into the group."""
        return self.path / "cgroup.procs"

    def procs_fd(self) -> int:
        return os.open(self.procs, os.O_WRONLY | os.O_CLOEXEC)

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed a process of the run."""
        try:
            text = (self.path / self.hierarchy.events_file).read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False


def available() -> tuple[Hierarchy | None, str]:
    """The hierarchy for run groups (or None) and, when None, the reason."""
    global _detected
    with _lock:
        if _detected is None:
            _detected = _detect()
        return _detected


def _detect() -> tuple[Hierarchy | None, str]:
    if os.geteuid() != 0:
        return None, "memory cgroups need root here"
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError as exc:
        return None, f"cannot read /proc/self/cgroup: {exc}"
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return _prepare(_ROOT / "memory" / path.lstrip("/"), 1)
    for line in lines:
        if line.startswith("0::"):
            own = _ROOT / line[3:].lstrip("/")
            try:
                enabled = (own / "cgroup.subtree_control").read_text().split()
            except OSError:
                enabled = []
            if "memory" in enabled:
                return _prepare(own, 2)
            return None, "cgroup v2 without the memory controller delegated to this process"
    return None, "no memory cgroup controller on this machine"


def _prepare(own: Path, version: int) -> tuple[Hierarchy | None, str]:
    parent = own / f"codearena-{secrets.token_hex(6)}"
    try:
        parent.mkdir(exist_ok=True)
    except OSError as exc:
        return None, f"cannot create a memory cgroup under {own}: {exc.strerror}"
    atexit.register(_remove_at_exit, parent)
    return Hierarchy(parent, version), ""


@contextlib.contextmanager
def run_group(limit_bytes: int) -> Iterator[RunGroup | None]:
    """A fresh group limited to ``limit_bytes`` (None without a usable controller); removed
    when the block ends and its processes are gone."""
    hierarchy, _ = available()
    if hierarchy is None:
        yield None
        return
    path = hierarchy.parent / f"run-{next(_counter)}"
    try:
        path.mkdir()
        (path / hierarchy.limit_file).write_text(str(limit_bytes))
        with contextlib.suppress(OSError):  # absent without swap accounting
            (path / hierarchy.swap_file).write_text(str(limit_bytes))
    except OSError:
        _remove(path)
        yield None
        return
    try:
        yield RunGroup(path, hierarchy)
    finally:
        _remove(path)


def _remove(path: Path) -> None:
    """rmdir the group, now if it is empty, else from a background thread once its killed
    processes are gone (that can take a few milliseconds the caller need not wait for)."""
    if not _try_rmdir(path):
        threading.Thread(target=_remove_later, args=(path,), daemon=True).start()


def _remove_later(path: Path) -> None:
    for delay in (0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0):
        time.sleep(delay)
        if _try_rmdir(path):
            return


def _remove_at_exit(parent: Path) -> None:
    """Without waiting: the groups that are empty by now, then the parent."""
    with contextlib.suppress(OSError):
        for child in parent.iterdir():
            if child.is_dir():
                _try_rmdir(child)
    _try_rmdir(parent)


def _try_rmdir(path: Path) -> bool:
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
