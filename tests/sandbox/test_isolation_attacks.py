"""Isolation attacks an outside red team got through: kernel keyrings, a shared devpts, nested
user namespaces (and the unbounded tmpfs they allow), syscalls the seccomp filter must refuse,
leaked descriptors, per-user kernel limits shared with the host, and the run's uid on the host.

Every attack is a program kept in this file. The oracles are on the host wherever one exists
(``/proc/keys``, the host's ``/dev/pts``, ``Shmem`` in ``/proc/meminfo``, the host's own
``inotify_init1``/``mq_open``, ``/proc/<pid>/status``); what only the run can see is printed by the
program and checked here. Runs that must stay alive while the host (or a second run) looks park in
a child ``sleep`` whose ``argv[0]`` is a unique tag: the host finds it by scanning ``/proc`` and
kills it when it is done, which lets the run finish at once (it gives up by itself after
``HOLD_S``). Python runs go through both strategies (the ``sandbox`` fixture); other languages
always take one bwrap per run, and run under both parameters like the rest of the escape suite.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, TypeVar

import pytest

from codearena.sandbox import ExecResult, Limits, Sandbox

from .conftest import processes_with

T = TypeVar("T")
HOLD_S = 3
"""How long a parked run waits for the host at most; the host normally releases it at once."""
LIMITS = Limits(timeout_s=20)
HOST_UID_BASE = 2_100_000_000
SIGSYS = int(signal.SIGSYS)
_LIBC = ctypes.CDLL(None, use_errno=True)


def _fill(template: str, **values: object) -> str:
    """``template`` with every ``@NAME@`` replaced by ``str(values[NAME])``."""
    for key, value in values.items():
        template = template.replace(f"@{key}@", str(value))
    return template


def _line(stdout: str, key: str) -> str | None:
    """The rest of the first stdout line that starts with ``key`` and a space."""
    for line in stdout.splitlines():
        if line.startswith(key + " "):
            return line[len(key) + 1 :]
    return None


def _json_line(result: ExecResult, key: str) -> object:
    value = _line(result.stdout, key)
    assert value is not None, f"no {key} line: {result.verdict}\n{result.stdout}\n{result.stderr}"
    return json.loads(value)


# -- parking a run while the host looks ---------------------------------------------------------
PY_HOLD = """
import subprocess as _subprocess
_subprocess.run(["@TAG@", "@HOLD@"], executable="/usr/bin/sleep")
"""
C_HOLD = """
#include <sys/wait.h>
#include <unistd.h>
static void hold(void) {
    pid_t p = fork();
    if (p == 0) {
        execl("/usr/bin/sleep", "@TAG@", "@HOLD@", (char *)0);
        _exit(127);
    }
    if (p > 0) waitpid(p, 0, 0);
}
"""


def _py_hold(tag: str) -> str:
    return _fill(PY_HOLD, TAG=tag, HOLD=HOLD_S)


def _c_hold(tag: str) -> str:
    return _fill(C_HOLD, TAG=tag, HOLD=HOLD_S)


def _wait_for(tag: str, future: Future[ExecResult], timeout_s: float = 30.0) -> list[int]:
    """Pids of the parked ``sleep`` carrying ``tag`` (empty if the run ended without parking)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = processes_with(tag)
        if pids:
            return pids
        if future.done():
            return processes_with(tag)
        time.sleep(0.01)
    return []


def _still_parked(tag: str, pids: list[int]) -> bool:
    return bool(pids) and set(pids) <= set(processes_with(tag))


def _release(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class Parked(NamedTuple):
    result: ExecResult
    pids: list[int]
    held: bool
    """The run was still parked when ``during`` returned (so what it holds was held)."""


def _while_parked(
    sandbox: Sandbox,
    runs: list[tuple[str, str, str]],
    during: Callable[[list[list[int]]], T],
    limits: Limits = LIMITS,
) -> tuple[list[Parked], T]:
    """Start each ``(program, language, tag)`` concurrently; once all are parked (or ended),
    call ``during`` with their parked pids, then release them and return their outcomes."""
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = [pool.submit(sandbox.run, prog, lang, "", limits) for prog, lang, _ in runs]
        all_pids = [_wait_for(tag, fut) for (_, _, tag), fut in zip(runs, futures, strict=True)]
        try:
            value = during(all_pids)
            held = [_still_parked(tag, p) for (_, _, tag), p in zip(runs, all_pids, strict=True)]
        finally:
            for pids in all_pids:
                _release(pids)
        parked = [
            Parked(fut.result(), pids, ok)
            for fut, pids, ok in zip(futures, all_pids, held, strict=True)
        ]
    return parked, value


def _assert_parked(parked: Parked) -> None:
    result = parked.result
    assert parked.pids, f"the run never parked: {result.verdict}\n{result.stdout}\n{result.stderr}"
    assert parked.held, "the run stopped holding before the host was done (too slow a host?)"


# =============================================================================================
# 1. Kernel keyrings: not a channel between runs (seccomp: add_key/request_key/keyctl -> EPERM)
# =============================================================================================
KEY_RINGS = {"session": -3, "user": -4, "user_session": -5}
PY_SYSCALL = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *args):
    ctypes.set_errno(0)
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    r = libc.syscall(ctypes.c_long(nr), *conv)
    return [r, ctypes.get_errno() if r == -1 else 0]
"""
PY_PLANT = (
    PY_SYSCALL
    + """
out = {}
for name, ring in @RINGS@.items():
    out[name] = sc(248, b"user", b"@DESC@", b"@PAYLOAD@", len(b"@PAYLOAD@"), ring)
    if out[name][0] > 0:  # KEYCTL_SETPERM: possessor, user, group and other may do anything
        sc(250, 5, out[name][0], 0x3F3F3F3F)
if out["session"][0] > 0:  # KEYCTL_LINK into the user keyrings, which outlive the run
    sc(250, 8, out["session"][0], -4)
    sc(250, 8, out["session"][0], -5)
out["keyctl_get_keyring_id"] = sc(250, 0, -3, 1)
out["request_key"] = sc(249, b"user", b"@DESC@", None, 0)
print("PLANT", json.dumps(out), flush=True)
"""
)
C_PLANT = """
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
@HOLD_FN@
static void report(const char *name, long r, int last) {
    printf("\\"%s\\": [%ld, %d]%s", name, r, r == -1 ? errno : 0, last ? "}\\n" : ", ");
}
int main(void) {
    const char *names[] = {"session", "user", "user_session"};
    int rings[] = {-3, -4, -5};
    const char *payload = "@PAYLOAD@";
    printf("PLANT {");
    for (int i = 0; i < 3; i++) {
        errno = 0;
        long r = syscall(SYS_add_key, "user", "@DESC@", payload, strlen(payload), rings[i]);
        report(names[i], r, 0);
        if (r > 0) syscall(SYS_keyctl, 5 /* KEYCTL_SETPERM */, r, 0x3F3F3F3F);
        if (r > 0 && i == 0) {  /* KEYCTL_LINK into the user keyrings, which outlive the run */
            syscall(SYS_keyctl, 8, r, -4);
            syscall(SYS_keyctl, 8, r, -5);
        }
    }
    errno = 0;
    long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 1);
    report("keyctl_get_keyring_id", r, 0);
    errno = 0;
    r = syscall(SYS_request_key, "user", "@DESC@", (char *)0, 0);
    report("request_key", r, 1);
    fflush(stdout);
    @HOLD_CALL@
    return 0;
}
"""
PY_SEARCH = (
    PY_SYSCALL
    + """
serials = set()
searched = {}
for name, ring in @RINGS@.items():
    searched[name] = sc(250, 10, ring, b"user", b"@DESC@", 0)  # KEYCTL_SEARCH
    if searched[name][0] > 0:
        serials.add(searched[name][0])
try:
    listed = [l for l in open("/proc/keys") if "@DESC@" in l]
except OSError as e:
    listed = ["unreadable %d" % e.errno]
for line in listed:
    with __import__("contextlib").suppress(ValueError):
        serials.add(int(line.split()[0], 16))
read = {}
for serial in sorted(serials):
    buf = ctypes.create_string_buffer(256)
    n, e = sc(250, 11, serial, buf, 256)  # KEYCTL_READ
    read[serial] = buf.raw[: max(n, 0)].decode(errors="replace") if n >= 0 else e
print("SEARCH", json.dumps({"searched": searched, "listed": listed, "read": read}))
"""
)


def _plant_program(language: str, desc: str, payload: str, tag: str | None = None) -> str:
    if language == "python":
        program = _fill(PY_PLANT, RINGS=KEY_RINGS, DESC=desc, PAYLOAD=payload)
        return program + (_py_hold(tag) if tag else "")
    return _fill(
        C_PLANT,
        DESC=desc,
        PAYLOAD=payload,
        HOLD_FN=_c_hold(tag) if tag else "",
        HOLD_CALL="hold();" if tag else "",
    )


def _host_keys_with(desc: str) -> list[str]:
    """Lines of the host's /proc/keys (root sees every key whose 'other' may view it)."""
    return [line for line in Path("/proc/keys").read_text().splitlines() if desc in line]


@pytest.mark.parametrize("language", ["python", "c"])
def test_keyring_calls_fail_with_eperm(sandbox: Sandbox, marker: str, language: str) -> None:
    desc, payload = f"{marker}-desc", f"{marker}-payload"
    result = sandbox.run(_plant_program(language, desc, payload), language, limits=LIMITS)
    planted = _json_line(result, "PLANT")
    assert isinstance(planted, dict)
    wrong = {name: got for name, got in planted.items() if got != [-1, errno.EPERM]}
    assert wrong == {}, f"keyring calls that did not fail with EPERM: {wrong}"
    assert _host_keys_with(desc) == [], "a key planted in a run exists in the host's kernel"


@pytest.mark.parametrize("planter", ["python", "c"])
def test_key_planted_by_one_run_is_not_readable_by_the_next(
    sandbox: Sandbox, marker: str, planter: str
) -> None:
    desc, payload = f"{marker}-desc", f"{marker}-payload"
    first = sandbox.run(_plant_program(planter, desc, payload), planter, limits=LIMITS)
    assert _line(first.stdout, "PLANT") is not None, first.stderr
    left_behind = _host_keys_with(desc)
    second = sandbox.run(_fill(PY_SEARCH, RINGS=KEY_RINGS, DESC=desc), "python", limits=LIMITS)
    assert _line(second.stdout, "SEARCH") is not None, second.stderr
    assert payload not in second.stdout, f"run 2 read run 1's key: {second.stdout}"
    assert left_behind == [], f"run 1's key outlived it in the kernel: {left_behind}"


def test_key_planted_by_a_running_run_is_not_readable_concurrently(
    sandbox: Sandbox, marker: str
) -> None:
    desc, payload, tag = f"{marker}-desc", f"{marker}-payload", f"{marker}-planter"
    searcher = _fill(PY_SEARCH, RINGS=KEY_RINGS, DESC=desc)

    def during(_: list[list[int]]) -> tuple[list[str], ExecResult]:
        return _host_keys_with(desc), sandbox.run(searcher, "python", limits=LIMITS)

    (planter,), (host_view, second) = _while_parked(
        sandbox, [(_plant_program("python", desc, payload, tag), "python", tag)], during
    )
    _assert_parked(planter)
    assert _line(second.stdout, "SEARCH") is not None, second.stderr
    assert payload not in second.stdout, f"a concurrent run read the key: {second.stdout}"
    assert host_view == [], f"the running run's key is in the host's kernel: {host_view}"


# =============================================================================================
# 2. devpts: one instance per run; the host's ptys are not visible
# =============================================================================================
PY_PTY_OWNER = """
import json, os
master, slave = os.openpty()
print("PTY", json.dumps([os.ttyname(slave), sorted(os.listdir("/dev/pts"))]), flush=True)
@HOLD@
os.set_blocking(master, False)
try:
    got = os.read(master, 65536)
except OSError:
    got = b""
print("GOT", json.dumps(got.decode(errors="replace")))
"""
PY_PTY_PROBER = """
import json, os
names = sorted(os.listdir("/dev/pts"))
tried = {}
for name in sorted((set(names) | {"0", "1", "2", "3", @EXTRA@}) - {"ptmx"}):
    try:
        fd = os.open("/dev/pts/" + name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        os.write(fd, b"@INJECT@\\n")
        tried[name] = "wrote"
    except OSError as e:
        tried[name] = e.errno
print("SEES", json.dumps(names))
print("TRIED", json.dumps(tried))
"""


def _host_pts() -> list[str]:
    return sorted(os.listdir("/dev/pts"))


def _assert_prober_blind(prober: ExecResult) -> None:
    assert prober.verdict == "passed", prober.stderr
    assert _json_line(prober, "SEES") == ["ptmx"], "a run sees ptys it did not open"
    tried = _json_line(prober, "TRIED")
    assert isinstance(tried, dict)
    assert "wrote" not in tried.values(), f"a run wrote to a pty it did not open: {tried}"


def test_concurrent_run_cannot_see_or_write_another_runs_pty(sandbox: Sandbox, marker: str) -> None:
    tag, inject = f"{marker}-ptyowner", f"{marker}INJECT"
    owner = _fill(PY_PTY_OWNER, HOLD=_py_hold(tag))
    prober = _fill(PY_PTY_PROBER, EXTRA='"4"', INJECT=inject)
    before = _host_pts()

    def during(_: list[list[int]]) -> tuple[list[str], ExecResult]:
        return _host_pts(), sandbox.run(prober, "python", limits=LIMITS)

    (first,), (host_during, second) = _while_parked(sandbox, [(owner, "python", tag)], during)
    _assert_parked(first)
    pty = _json_line(first.result, "PTY")
    assert isinstance(pty, list) and str(pty[0]).startswith("/dev/pts/"), pty
    _assert_prober_blind(second)
    assert inject not in first.result.stdout, "the other run's bytes reached the pty"
    assert host_during == before == _host_pts(), "a run's pty showed up in the host's /dev/pts"


def test_host_pty_is_not_visible_in_a_run(sandbox: Sandbox, marker: str) -> None:
    inject = f"{marker}INJECT"
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        before = _host_pts()
        assert Path(name).name in before
        prober = _fill(PY_PTY_PROBER, EXTRA=json.dumps(Path(name).name), INJECT=inject)
        result = sandbox.run(prober, "python", limits=LIMITS)
        os.set_blocking(master, False)
        try:
            got = os.read(master, 65536)
        except BlockingIOError:
            got = b""
        after = _host_pts()
    finally:
        os.close(master)
        os.close(slave)
    _assert_prober_blind(result)
    assert inject.encode() not in got, "a run wrote into the host's pty"
    assert after == before, "the host's /dev/pts changed during a run"


# =============================================================================================
# 3. Nested user namespaces (and the unbounded mounts they would allow)
# =============================================================================================
PY_NESTED_USERNS = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
out = {}
ctypes.set_errno(0)
r = libc.unshare(0x10000000)  # CLONE_NEWUSER
out["ctypes"] = [r, ctypes.get_errno() if r == -1 else 0]
if hasattr(os, "unshare"):  # Python >= 3.12
    try:
        os.unshare(os.CLONE_NEWUSER)
        out["os.unshare"] = [0, 0]
    except OSError as e:
        out["os.unshare"] = [-1, e.errno]
print("UNSHARE", json.dumps(out))
"""
BASH_NESTED_USERNS = """
unshare -Ur id -u
echo "RC $?"
unshare -U true
echo "RC2 $?"
"""
# node has no API for unshare/clone/keyctl/mount; it can only start the unshare(1) command.
JS_NESTED_USERNS = """
const { spawnSync } = require("child_process");
const r = spawnSync("unshare", ["-Ur", "id", "-u"], { encoding: "utf8" });
console.log("RESULT " + JSON.stringify({ status: r.status, signal: r.signal, out: r.stdout || "" }));
"""
C_NESTED_USERNS = """
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
@HOLD_FN@
static void fill(const char *path) {
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    long total = 0;
    int err = fd < 0 ? errno : 0;
    for (int i = 0; fd >= 0 && i < @FILL_MB@; i++) {
        ssize_t n = write(fd, chunk, sizeof chunk);
        if (n < 0) { err = errno; break; }
        total += n;
    }
    printf("FILL %s %ld %d\\n", path, total, err);
    hold();
}
static void map(const char *path, const char *line) {
    int fd = open(path, O_WRONLY);
    if (fd >= 0) {
        ssize_t ignored = write(fd, line, strlen(line));
        (void)ignored;
        close(fd);
    }
}
int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    pid_t me = getpid();
    errno = 0;
    long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (getpid() != me) _exit(0);
    printf("CLONE %ld %d\\n", r, r == -1 ? errno : 0);
    if (r > 0) waitpid(r, 0, 0);
    uint64_t args[8] = {0};
    args[0] = CLONE_NEWUSER;
    args[4] = SIGCHLD;
    errno = 0;
    r = syscall(SYS_clone3, args, 64);
    if (getpid() != me) _exit(0);
    printf("CLONE3 %ld %d\\n", r, r == -1 ? errno : 0);
    if (r > 0) waitpid(r, 0, 0);
    mkdir("/tmp/own", 0777);
    char uid_map[64], gid_map[64];
    snprintf(uid_map, sizeof uid_map, "0 %d 1", (int)getuid());
    snprintf(gid_map, sizeof gid_map, "0 %d 1", (int)getgid());
    pid_t child = fork();
    if (child == 0) {  /* own user + mount namespace, then an uncapped tmpfs of its own */
        errno = 0;
        r = syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS);
        printf("UNSHARE %ld %d\\n", r, r == -1 ? errno : 0);
        if (r == 0) {  /* become root of it, so that files can be created */
            map("/proc/self/setgroups", "deny");
            map("/proc/self/uid_map", uid_map);
            map("/proc/self/gid_map", gid_map);
        }
        errno = 0;
        r = mount("none", "/tmp/own", "tmpfs", 0, "size=1g");
        printf("MOUNT %ld %d\\n", r, r == -1 ? errno : 0);
        if (r != 0) _exit(1);
        fill("/tmp/own/fill");
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fill("/tmp/fill");
    return 0;
}
"""


def test_python_cannot_create_a_user_namespace(sandbox: Sandbox, marker: str) -> None:
    result = sandbox.run(PY_NESTED_USERNS, "python", limits=LIMITS)
    calls = _json_line(result, "UNSHARE")
    assert isinstance(calls, dict) and "ctypes" in calls
    wrong = {how: got for how, got in calls.items() if got != [-1, errno.EPERM]}
    assert wrong == {}, f"unshare(CLONE_NEWUSER) did not fail with EPERM: {wrong}"


def test_unshare_command_fails_in_bash(sandbox: Sandbox, marker: str) -> None:
    result = sandbox.run(BASH_NESTED_USERNS, "bash", limits=LIMITS)
    codes = (_line(result.stdout, "RC"), _line(result.stdout, "RC2"))
    assert None not in codes, result.stdout + result.stderr
    assert "0" not in codes, f"unshare -U succeeded: {result.stdout}"
    assert "0" not in result.stdout.split(), f"a nested namespace gave uid 0: {result.stdout}"


def test_unshare_command_fails_from_javascript(sandbox: Sandbox, marker: str) -> None:
    result = sandbox.run(JS_NESTED_USERNS, "javascript", limits=LIMITS)
    got = _json_line(result, "RESULT")
    assert isinstance(got, dict)
    assert got["status"] != 0, f"unshare -Ur succeeded from node: {got}"
    assert str(got["out"]).strip() != "0"


def _shmem_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1])
    raise AssertionError("no Shmem in /proc/meminfo")


def test_c_cannot_nest_namespaces_or_mount_an_uncapped_tmpfs(sandbox: Sandbox, marker: str) -> None:
    tmpfs_mb, fill_mb, slack_mb = 16, 48, 8
    tag = f"{marker}-filler"
    program = _fill(C_NESTED_USERNS, HOLD_FN=_c_hold(tag), FILL_MB=fill_mb)
    limits = Limits(timeout_s=30, tmpfs_mb=tmpfs_mb, file_size_mb=64)
    base = _shmem_kib()
    (run,), shmem = _while_parked(
        sandbox, [(program, "c", tag)], lambda _: _shmem_kib(), limits=limits
    )
    out = run.result.stdout
    _assert_parked(run)
    calls = {key: _line(out, key) for key in ("CLONE", "CLONE3", "UNSHARE", "MOUNT")}
    expected = {
        "CLONE": f"-1 {errno.EPERM}",
        "CLONE3": f"-1 {errno.ENOSYS}",
        "UNSHARE": f"-1 {errno.EPERM}",
        "MOUNT": f"-1 {errno.EPERM}",
    }
    filled = (_line(out, "FILL") or "").split()
    assert len(filled) == 3, out
    grown_mb = (shmem - base) / 1024
    problems = [
        f"{key}: {calls[key]} (want {want})" for key, want in expected.items() if calls[key] != want
    ]
    if int(filled[1]) > tmpfs_mb * 2**20 or int(filled[2]) not in (errno.ENOSPC, errno.EFBIG):
        problems.append(f"wrote {filled[1]} bytes to {filled[0]} past the {tmpfs_mb} MiB tmpfs")
    if grown_mb > tmpfs_mb + slack_mb:
        problems.append(f"the run took {grown_mb:.0f} MiB of host memory (Shmem)")
    assert problems == [], problems


# =============================================================================================
# 4. seccomp: the dangerous syscalls fail with EPERM (clone3: ENOSYS), 32-bit ABI refused
# =============================================================================================
SYSCALLS = (
    "add_key",
    "request_key",
    "keyctl",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "clone3",
)
EXPECTED_ERRNO = {name: errno.ENOSYS if name == "clone3" else errno.EPERM for name in SYSCALLS}
INT80 = ("int80_getpid", "int80_unshare")
TIOCSTI = ("tiocsti", "tiocsti_high_bits")
# Arguments are chosen so that, without the filter, each call succeeds or fails with another
# errno (ENOENT, EBADF, ENOKEY, EINVAL, ENOSYS...): EPERM then comes from seccomp.
C_SYSCALLS = """
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static char src[16] = "codearena", dst[16];
static long call(const char *name) {
    struct iovec to = {dst, 8}, from = {src, 8};
    struct perf_event_attr pa;
    uint64_t clone_args[8];
    char zero[128];
    memset(zero, 0, sizeof zero);
    if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "user", "cxprobe", "x", 1, -2);
    if (!strcmp(name, "request_key")) return syscall(SYS_request_key, "user", "cxnone", (char *)0, 0);
    if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0, -2, 1);
    if (!strcmp(name, "unshare")) return syscall(SYS_unshare, CLONE_NEWUSER);
    if (!strcmp(name, "setns")) return syscall(SYS_setns, -1, 0);
    if (!strcmp(name, "mount")) return syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, "");
    if (!strcmp(name, "umount2")) return syscall(SYS_umount2, "/nonexistent", 0);
    if (!strcmp(name, "pivot_root")) return syscall(SYS_pivot_root, "/nonexistent", "/nonexistent");
    if (!strcmp(name, "ptrace")) return syscall(SYS_ptrace, 0 /* TRACEME */, 0, 0, 0);
    if (!strcmp(name, "process_vm_readv")) return syscall(SYS_process_vm_readv, getpid(), &to, 1, &from, 1, 0);
    if (!strcmp(name, "process_vm_writev")) return syscall(SYS_process_vm_writev, getpid(), &from, 1, &to, 1, 0);
    if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 0 /* MAP_CREATE */, zero, 72);
    if (!strcmp(name, "perf_event_open")) {
        memset(&pa, 0, sizeof pa);
        pa.type = PERF_TYPE_SOFTWARE;
        pa.size = sizeof pa;
        pa.config = PERF_COUNT_SW_TASK_CLOCK;
        pa.exclude_kernel = pa.exclude_hv = 1;
        return syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
    }
    if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */);
    if (!strcmp(name, "io_uring_setup")) return syscall(SYS_io_uring_setup, 1, zero);
    if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, (void *)0, 0);
    if (!strcmp(name, "init_module")) return syscall(SYS_init_module, (void *)0, 0, "");
    if (!strcmp(name, "finit_module")) return syscall(SYS_finit_module, -1, "", 0);
    if (!strcmp(name, "delete_module")) return syscall(SYS_delete_module, "cxnone", 0);
    if (!strcmp(name, "clone3")) {
        memset(clone_args, 0, sizeof clone_args);
        clone_args[4] = SIGCHLD;
        return syscall(SYS_clone3, clone_args, 64);
    }
    if (!strncmp(name, "int80_", 6)) {  /* the i386 ABI from a 64-bit process */
        long nr = strcmp(name, "int80_getpid") ? 310 /* unshare */ : 20 /* getpid */, ret;
        long arg = CLONE_NEWUSER;
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(arg) : "memory");
        if (ret < 0 && ret > -4096) { errno = -ret; return -1; }
        return ret;
    }
    if (!strncmp(name, "tiocsti", 7)) {  /* inject input into our own controlling terminal */
        /* the kernel reads the request as 32 bits: a filter comparing 64 would miss this one */
        unsigned long request = strcmp(name, "tiocsti") ? 0x100000000UL | TIOCSTI : TIOCSTI;
        int m = posix_openpt(O_RDWR | O_NOCTTY);
        if (m < 0 || grantpt(m) || unlockpt(m)) return -2;
        char *pts = ptsname(m);
        if (setsid() < 0) return -3;
        int s = open(pts, O_RDWR);  /* a session leader's first tty: the controlling one */
        if (s < 0) return -4;
        const char *text = "INJECTED\\n";
        long r = 0;
        for (const char *c = text; *c && r == 0; c++) r = ioctl(s, request, c);
        int e = errno;
        fcntl(s, F_SETFL, O_NONBLOCK);
        char got[64] = {0};
        ssize_t n = read(s, got, sizeof got - 1);
        if (n > 0 && strstr(got, "INJECTED")) return 4242;  /* injected input arrived */
        errno = e;
        return r;
    }
    return -5;
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IONBF, 0);
    const char *names[] = {@NAMES@};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        int p[2];
        if (pipe(p)) return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            pid_t me = getpid();
            errno = 0;
            long r = call(names[i]);
            if (getpid() != me) _exit(0);  /* the child of a clone that worked */
            dprintf(p[1], "%ld %d", r, r == -1 ? errno : 0);
            _exit(0);
        }
        close(p[1]);
        char out[64] = {0};
        ssize_t n = read(p[0], out, sizeof out - 1);
        close(p[0]);
        int st = 0;
        waitpid(pid, &st, 0);
        while (waitpid(-1, 0, WNOHANG) > 0) {}
        printf("%s %s %d\\n", names[i], n > 0 ? out : "none none", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    return 0;
}
"""
PY_SYSCALLS = (
    PY_SYSCALL
    + """
import mmap, struct
class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
src, dst = ctypes.create_string_buffer(b"codearena", 16), ctypes.create_string_buffer(16)
frm = IoVec(ctypes.cast(src, ctypes.c_void_p), 8)
to = IoVec(ctypes.cast(dst, ctypes.c_void_p), 8)
zero = ctypes.create_string_buffer(128)
# perf_event_attr: software task clock, size 64 (VER0), exclude_kernel | exclude_hv
perf = ctypes.create_string_buffer(struct.pack("=IIQQQQQ", 1, 64, 1, 0, 0, 0, 0x60), 128)
clone_args = ctypes.create_string_buffer(struct.pack("=8Q", 0, 0, 0, 0, 17, 0, 0, 0), 64)
def int80(nr, arg):
    code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    # push rbx; mov eax, nr; mov ebx, arg; int 0x80; pop rbx; ret
    code.write(b"\\x53\\xb8" + struct.pack("<I", nr) + b"\\xbb" + struct.pack("<I", arg) + b"\\xcd\\x80\\x5b\\xc3")
    fn = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(code)))
    r = fn()
    return [-1, -r] if -4096 < r < 0 else [r, 0]
PROBES = {
    "add_key": lambda: sc(248, b"user", b"cxprobe", b"x", 1, -2),
    "request_key": lambda: sc(249, b"user", b"cxnone", None, 0),
    "keyctl": lambda: sc(250, 0, -2, 1),
    "unshare": lambda: sc(272, 0x10000000),
    "setns": lambda: sc(308, -1, 0),
    "mount": lambda: sc(165, b"none", b"/nonexistent", b"tmpfs", 0, b""),
    "umount2": lambda: sc(166, b"/nonexistent", 0),
    "pivot_root": lambda: sc(155, b"/nonexistent", b"/nonexistent"),
    "ptrace": lambda: sc(101, 0, 0, 0, 0),
    "process_vm_readv": lambda: sc(310, os.getpid(), ctypes.byref(to), 1, ctypes.byref(frm), 1, 0),
    "process_vm_writev": lambda: sc(311, os.getpid(), ctypes.byref(frm), 1, ctypes.byref(to), 1, 0),
    "bpf": lambda: sc(321, 0, zero, 72),
    "perf_event_open": lambda: sc(298, perf, 0, -1, -1, 0),
    "userfaultfd": lambda: sc(323, 1),
    "io_uring_setup": lambda: sc(425, 1, zero),
    "kexec_load": lambda: sc(246, 0, 0, None, 0),
    "init_module": lambda: sc(175, None, 0, b""),
    "finit_module": lambda: sc(313, -1, b"", 0),
    "delete_module": lambda: sc(176, b"cxnone", 0),
    "clone3": lambda: sc(435, clone_args, 64),
    "int80_getpid": lambda: int80(20, 0),
    "int80_unshare": lambda: int80(310, 0x10000000),
}
for name, probe in PROBES.items():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        me = os.getpid()
        try:
            got = "%d %d" % tuple(probe())
        except Exception as e:
            got = "none none"
        if os.getpid() != me:
            os._exit(0)  # the child of a clone that worked
        os.write(w, got.encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 64).decode() or "none none"
    os.close(r)
    _, status = os.waitpid(pid, 0)
    print(name, out, os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0, flush=True)
"""
)


class Probe(NamedTuple):
    ret: int | None
    err: int | None
    sig: int


def _probes(result: ExecResult) -> dict[str, Probe]:
    found: dict[str, Probe] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            ret, err = (None if p == "none" else int(p) for p in parts[1:3])
            found[parts[0]] = Probe(ret, err, int(parts[3]))
    return found


@pytest.fixture(scope="module")
def c_probes(sandbox: Sandbox) -> dict[str, Probe]:
    """Every syscall probe of ``C_SYSCALLS``, each in a forked child, one compile per sandbox."""
    names = ", ".join(f'"{n}"' for n in (*SYSCALLS, *INT80, *TIOCSTI))
    result = sandbox.run(_fill(C_SYSCALLS, NAMES=names), "c", limits=LIMITS)
    assert result.verdict == "passed", result.stdout + result.stderr
    return _probes(result)


@pytest.fixture(scope="module")
def py_probes(sandbox: Sandbox) -> dict[str, Probe]:
    result = sandbox.run(PY_SYSCALLS, "python", limits=LIMITS)
    assert result.verdict == "passed", result.stdout + result.stderr
    return _probes(result)


@pytest.mark.parametrize("name", SYSCALLS)
def test_syscall_refused_in_c(c_probes: dict[str, Probe], name: str) -> None:
    assert name in c_probes, c_probes
    assert c_probes[name][:2] == (-1, EXPECTED_ERRNO[name]), c_probes[name]


@pytest.mark.parametrize("name", SYSCALLS)
def test_syscall_refused_in_python(py_probes: dict[str, Probe], name: str) -> None:
    assert name in py_probes, py_probes
    assert py_probes[name][:2] == (-1, EXPECTED_ERRNO[name]), py_probes[name]


@pytest.mark.parametrize("language", ["c", "python"])
@pytest.mark.parametrize("name", INT80)
def test_i386_syscall_abi_refused(
    c_probes: dict[str, Probe], py_probes: dict[str, Probe], name: str, language: str
) -> None:
    probe = (c_probes if language == "c" else py_probes).get(name)
    assert probe is not None
    assert probe.sig == SIGSYS or probe.ret == -1, f"int $0x80 worked: {probe}"


@pytest.mark.parametrize("name", TIOCSTI)
def test_tiocsti_refused(c_probes: dict[str, Probe], name: str) -> None:
    probe = c_probes.get(name)
    assert probe is not None and probe.sig in (0, SIGSYS), probe
    assert probe.ret != 4242, "TIOCSTI injected input into the terminal"
    assert probe.sig == SIGSYS or probe.ret == -1, f"ioctl(TIOCSTI) did not fail: {probe}"


# =============================================================================================
# 5. Descriptors: a program starts with 0, 1 and 2 only
# =============================================================================================
FD_PROGRAMS = {
    "python": """
import os
for n in os.listdir("/proc/self/fd"):
    try:
        print("FD", n, os.readlink("/proc/self/fd/" + n))
    except OSError:
        print("FD", n, "gone")
""",
    "c": """
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    char names[256][16], path[64], target[4096];
    int count = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 1;
    for (struct dirent *e; (e = readdir(d)) && count < 256;)
        if (e->d_name[0] != '.') snprintf(names[count++], 16, "%s", e->d_name);
    for (int i = 0; i < count; i++) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", names[i]);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        printf("FD %s %s\\n", names[i], n > 0 ? target : "gone");
    }
    closedir(d);
    return 0;
}
""",
    "cpp": """
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>
namespace fs = std::filesystem;
int main() {
    std::vector<std::string> names;
    for (const auto &entry : fs::directory_iterator("/proc/self/fd"))
        names.push_back(entry.path().filename().string());
    for (const auto &name : names) {
        std::error_code ec;
        auto target = fs::read_symlink("/proc/self/fd/" + name, ec);
        std::cout << "FD " << name << " " << (ec ? std::string("gone") : target.string()) << "\\n";
    }
}
""",
    "javascript": """
const fs = require("fs");
for (const n of fs.readdirSync("/proc/self/fd")) {
  let t = "gone";
  try { t = fs.readlinkSync("/proc/self/fd/" + n); } catch (e) {}
  console.log(`FD ${n} ${t}`);
}
""",
    "java": """
import java.nio.file.*;
public class Main {
    public static void main(String[] args) {
        for (String n : new java.io.File("/proc/self/fd").list()) {
            String t = "gone";
            try { t = Files.readSymbolicLink(Paths.get("/proc/self/fd/" + n)).toString(); }
            catch (Exception e) {}
            System.out.println("FD " + n + " " + t);
        }
    }
}
""",
    "go": """
package main

import (
	"fmt"
	"os"
)

func main() {
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		t, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			t = "gone"
		}
		fmt.Printf("FD %s %s\\n", e.Name(), t)
	}
}
""",
    # bash's own table, listed by a child into a file (a pipe's ends would be bash's while ls
    # runs), then the table of a child (ls) itself
    "bash": """
ls -l /proc/$$/fd > own.txt
sed -n 's/.* \\([0-9][0-9]*\\) -> \\(.*\\)$/FD \\1 \\2/p' own.txt
echo CHILD
ls -l /proc/self/fd | sed -n 's/.* \\([0-9][0-9]*\\) -> \\(.*\\)$/FD \\1 \\2/p'
""",
    "php": """<?php
foreach (scandir("/proc/self/fd") as $n) {
  if ($n[0] == ".") continue;
  $t = @readlink("/proc/self/fd/$n");
  echo "FD $n " . ($t === false ? "gone" : $t) . "\\n";
}
""",
    "ruby": """
Dir.children("/proc/self/fd").each do |n|
  t = (File.readlink("/proc/self/fd/#{n}") rescue "gone")
  puts "FD #{n} #{t}"
end
""",
    "csharp": """
using System; using System.IO; using System.Runtime.InteropServices;
class P {
    [DllImport("libc")] static extern long readlink(string path, byte[] buf, long len);
    static void Main() {
        foreach (var p in Directory.GetFileSystemEntries("/proc/self/fd")) {
            var b = new byte[4096];
            long k = readlink(p, b, b.Length);
            string t = k < 0 ? "gone" : System.Text.Encoding.UTF8.GetString(b, 0, (int)k);
            Console.WriteLine("FD " + Path.GetFileName(p) + " " + t);
        }
    }
}
""",
    "rust": """
fn main() {
    for e in std::fs::read_dir("/proc/self/fd").unwrap() {
        let e = e.unwrap();
        let n = e.file_name().into_string().unwrap();
        let t = std::fs::read_link(e.path()).map(|p| p.display().to_string());
        println!("FD {} {}", n, t.unwrap_or("gone".into()));
    }
}
""",
    "typescript": """
const fs = require("fs");
for (const n of fs.readdirSync("/proc/self/fd")) {
  let t = "gone";
  try { t = fs.readlinkSync("/proc/self/fd/" + n); } catch (e) {}
  console.log(`FD ${n} ${t}`);
}
""",
    "matlab": """
d = dir("/proc/self/fd");
for i = 1:numel(d)
  n = d(i).name;
  if n(1) == "."
    continue;
  end
  [t, err] = readlink(["/proc/self/fd/" n]);
  if err
    t = "gone";
  end
  printf("FD %s %s\\n", n, t);
end
""",
}
FD_LANGUAGES = ["python", "bash", "c", "cpp", "javascript", "java"] + (
    ["go"] if shutil.which("go") else []
)
FD_LANGUAGES += ["php", "ruby", "csharp", "rust", "typescript", "matlab"]
_LISTING = re.compile(r"^(gone|/proc/(self|\d+)/fd)$")
_STDIO = re.compile(r"^(pipe:\[\d+\]|socket:\[\d+\]|/dev/null)$")
# What a runtime opens for itself after exec (node/libuv: epoll, eventfds and wake-up pipes; the
# JVM: its module image; Go: netpoll; bash: the script, kept open as fd 255; PHP: its script;
# Ruby: its timer thread's eventfds).
_RUNTIME_OWN = {
    "javascript": re.compile(
        r"^(anon_inode:\[(eventpoll|eventfd|signalfd|timerfd)\]|pipe:\[\d+\]|/dev/null)$"
    ),
    "java": re.compile(r"^/usr/lib/jvm/\S+$"),
    "go": re.compile(r"^(anon_inode:\[(eventpoll|eventfd)\]|pipe:\[\d+\])$"),
    "bash": re.compile(r"^/tmp/main\.sh$"),
    # PHP keeps its script open; Ruby's timer thread: eventfds; TypeScript runs on node
    "php": re.compile(r"^/tmp/main\.php$"),
    "ruby": re.compile(r"^anon_inode:\[eventfd\]$"),
    "typescript": re.compile(
        r"^(anon_inode:\[(eventpoll|eventfd|signalfd|timerfd)\]|pipe:\[\d+\]|/dev/null)$"
    ),
}


def _fd_table(lines: list[str]) -> dict[int, str]:
    table = {}
    for line in lines:
        if line.startswith("FD "):
            _, number, target = line.split(" ", 2)
            table[int(number)] = target
    return table


def _unexpected_fds(table: dict[int, str], own: re.Pattern[str] | None) -> dict[int, str]:
    """Descriptors above 2 that are neither the listing's nor the runtime's own."""
    extra = {n: t for n, t in table.items() if n > 2}
    listing = [n for n, t in extra.items() if _LISTING.match(t)]
    bad = {n: t for n, t in extra.items() if not _LISTING.match(t)}
    if own is not None:
        pipes = collections.Counter(t for t in bad.values() if t.startswith("pipe:"))
        # a runtime's wake-up pipe has both ends in the process; a single end came from outside
        bad = {n: t for n, t in bad.items() if not own.match(t) or pipes.get(t, 2) != 2}
    bad.update({n: extra[n] for n in listing[1:]})  # one listing descriptor at most
    return bad


@pytest.mark.parametrize("language", FD_LANGUAGES)
def test_only_stdio_descriptors_are_open(sandbox: Sandbox, marker: str, language: str) -> None:
    result = sandbox.run(FD_PROGRAMS[language], language, limits=Limits(timeout_s=60))
    assert result.verdict == "passed", result.stdout + result.stderr
    sections = result.stdout.split("CHILD\n")
    tables = [_fd_table(section.splitlines()) for section in sections]
    own = _RUNTIME_OWN.get(language)
    for index, table in enumerate(tables):
        assert sorted(n for n in table if n <= 2) == [0, 1, 2], table
        assert all(_STDIO.match(table[n]) for n in (0, 1, 2)), table
        unexpected = _unexpected_fds(table, own if index == 0 else None)
        assert unexpected == {}, f"descriptors leaked into the {language} program: {unexpected}"


# =============================================================================================
# 6. Per-user kernel limits: a run cannot starve the host (inotify instances, POSIX mqueues)
# =============================================================================================
PY_INOTIFY_HOG = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
held, err = [], 0
for _ in range(1000):
    fd = libc.inotify_init1(0)
    if fd < 0:
        err = ctypes.get_errno()
        break
    held.append(fd)
print("INOTIFY", len(held), err, flush=True)
@HOLD@
"""
PY_MQUEUE_HOG = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
try:
    mq_open = libc.mq_open
except AttributeError:
    mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
class Attr(ctypes.Structure):
    _fields_ = [(n, ctypes.c_long) for n in ("flags", "maxmsg", "msgsize", "curmsgs")] + [
        ("reserved", ctypes.c_long * 4)
    ]
# default-sized queues until the budget is nearly gone, then ever smaller ones to use up the rest
queues, opened, err = 0, 0, 0
for size in [None] + [1 << k for k in range(13, -1, -1)]:
    attr = None if size is None else ctypes.byref(Attr(0, 1, size, 0))
    while opened < 300:
        opened += 1
        if mq_open(b"/@TAG@-%d" % opened, os.O_CREAT | os.O_RDWR, 0o600, attr) < 0:
            err = ctypes.get_errno()
            break
        queues += 1
print("MQUEUE", queues, err, flush=True)
@HOLD@
"""


class _MqAttr(ctypes.Structure):
    _fields_ = (
        ("mq_flags", ctypes.c_long),
        ("mq_maxmsg", ctypes.c_long),
        ("mq_msgsize", ctypes.c_long),
        ("mq_curmsgs", ctypes.c_long),
        ("reserved", ctypes.c_long * 4),
    )


def _host_inotify() -> int:
    """0 if the host can create an inotify instance now, else the errno."""
    ctypes.set_errno(0)
    fd = int(_LIBC.inotify_init1(os.O_CLOEXEC))
    if fd < 0:
        return ctypes.get_errno()
    os.close(fd)
    return 0


def _host_mqueue(name: str) -> int:
    """0 if the host can create (and then removes) a small POSIX message queue, else the errno."""
    attr = _MqAttr(0, 1, 64, 0)
    flags = os.O_CREAT | os.O_RDWR | os.O_EXCL | os.O_CLOEXEC
    ctypes.set_errno(0)
    queue = int(_LIBC.mq_open(name.encode(), flags, ctypes.c_uint(0o600), ctypes.byref(attr)))
    err = ctypes.get_errno()
    if queue >= 0:
        os.close(queue)  # an mqd_t is a descriptor on Linux
    _LIBC.mq_unlink(name.encode())
    return 0 if queue >= 0 else err


def test_inotify_hog_does_not_starve_the_host(sandbox: Sandbox, marker: str) -> None:
    tag = f"{marker}-inotify"
    program = _fill(PY_INOTIFY_HOG, HOLD=_py_hold(tag))
    assert _host_inotify() == 0, "the host cannot create inotify instances even before the run"
    (run,), host = _while_parked(
        sandbox,
        [(program, "python", tag)],
        lambda _: _host_inotify(),
        limits=Limits(timeout_s=20, open_files=2048),
    )
    _assert_parked(run)
    got = (_line(run.result.stdout, "INOTIFY") or "").split()
    assert len(got) == 2, run.result.stdout + run.result.stderr
    assert int(got[0]) <= 128, f"a run held {got[0]} inotify instances"
    assert host == 0, f"host inotify_init1 failed ({os.strerror(host)}) while a run held {got[0]}"


def test_mqueue_hog_does_not_starve_the_host(sandbox: Sandbox, marker: str) -> None:
    tag = f"{marker}-mqueue"
    host_queue = f"/{marker}-host"
    program = _fill(PY_MQUEUE_HOG, TAG=tag, HOLD=_py_hold(tag))
    assert _host_mqueue(host_queue) == 0, "the host cannot create a queue even before the run"
    (run,), host = _while_parked(
        sandbox, [(program, "python", tag)], lambda _: _host_mqueue(host_queue)
    )
    _assert_parked(run)
    got = (_line(run.result.stdout, "MQUEUE") or "").split()
    assert len(got) == 2, run.result.stdout + run.result.stderr
    assert host == 0, f"host mq_open failed ({os.strerror(host)}) while a run held {got[0]} queues"


def test_rlimit_msgqueue_is_small(sandbox: Sandbox, marker: str) -> None:
    program = "import resource\nprint('MSGQUEUE', *resource.getrlimit(resource.RLIMIT_MSGQUEUE))"
    result = sandbox.run(program, "python", limits=LIMITS)
    got = (_line(result.stdout, "MSGQUEUE") or "").split()
    assert len(got) == 2, result.stdout + result.stderr
    soft, hard = map(int, got)
    # the default (819200 bytes) is the whole budget of host root, which every run is charged to
    assert 0 <= soft <= hard <= 819200 // 8, f"RLIMIT_MSGQUEUE is {soft}/{hard}"


# =============================================================================================
# 7. Processes: each run has its own unprivileged uid, far from the host's
# =============================================================================================
UID_PROGRAMS = {
    "python": "import os\nprint('UID', os.getuid(), flush=True)\n@HOLD@",
    "bash": 'echo "UID $(id -u)"\n(exec -a @TAG@ sleep @SECONDS@)\n',
}


def _host_uids(pid: int) -> tuple[list[int], int]:
    """The four uids of ``pid`` as the host sees them, and its parent's pid."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return [int(u) for u in fields["Uid"]], int(fields["PPid"][0])


@pytest.mark.parametrize("language", sorted(UID_PROGRAMS))
def test_concurrent_runs_have_distinct_unprivileged_uids(
    sandbox: Sandbox, marker: str, language: str
) -> None:
    tags = [f"{marker}-uid-a", f"{marker}-uid-b"]
    programs = [
        _fill(UID_PROGRAMS[language], TAG=tag, SECONDS=HOLD_S, HOLD=_py_hold(tag)) for tag in tags
    ]

    def during(all_pids: list[list[int]]) -> list[list[int]]:
        seen = []
        for pids in all_pids:
            for pid in pids:
                uids, parent = _host_uids(pid)
                seen.append(uids + _host_uids(parent)[0])  # the holder and the program
        return seen

    runs, host_uids = _while_parked(
        sandbox, [(p, language, t) for p, t in zip(programs, tags, strict=True)], during
    )
    for run in runs:
        _assert_parked(run)
    inside = [_line(run.result.stdout, "UID") for run in runs]
    assert None not in inside and "0" not in inside, inside
    assert inside[0] != inside[1], f"two concurrent runs share uid {inside[0]}"
    assert len(host_uids) == 2 and all(u >= HOST_UID_BASE for us in host_uids for u in us), (
        host_uids
    )
    assert host_uids[0][0] != host_uids[1][0], host_uids


# =============================================================================================
# 8. Found while writing this suite: more host memory and per-user limits a run can take
# =============================================================================================
PY_MEMFD_HOG = """
import os
chunk = b"x" * (1 << 20)
held, written, err = [], 0, 0
for i in range(@COUNT@):
    fd = os.memfd_create("hog%d" % i)
    held.append(fd)
    try:
        for _ in range(@MB@):
            os.write(fd, chunk)
            written += 1
    except OSError as e:
        err = e.errno
        break
print("HOG", written, err, flush=True)
@HOLD@
"""
PY_SYSV_SHM_HOG = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
size, written, err = @MB@ << 20, 0, 0
for _ in range(@COUNT@):  # each segment outlives its mapping: RLIMIT_AS does not count it
    segment = libc.shmget(0, ctypes.c_size_t(size), 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    addr = libc.shmat(segment, None, 0) if segment >= 0 else None
    if addr in (None, ctypes.c_void_p(-1).value):
        err = ctypes.get_errno()
        break
    ctypes.memset(addr, 1, size)
    libc.shmdt(addr)
    written += @MB@
print("HOG", written, err, flush=True)
@HOLD@
"""


@pytest.mark.parametrize("kind", ["memfd", "sysv_shm"])
def test_shared_memory_is_bounded_by_the_limits(sandbox: Sandbox, marker: str, kind: str) -> None:
    # 12 x 16 MiB: each piece maps within RLIMIT_AS even in the fork server's larger process
    memory_mb, tmpfs_mb, slack_mb, count, chunk_mb = 64, 16, 16, 12, 16
    tag = f"{marker}-{kind}"
    template = PY_MEMFD_HOG if kind == "memfd" else PY_SYSV_SHM_HOG
    program = _fill(template, COUNT=count, MB=chunk_mb, HOLD=_py_hold(tag))
    limits = Limits(timeout_s=20, memory_mb=memory_mb, tmpfs_mb=tmpfs_mb, file_size_mb=64)
    base = _shmem_kib()
    (run,), shmem = _while_parked(
        sandbox, [(program, "python", tag)], lambda _: _shmem_kib(), limits=limits
    )
    grown_mb = (shmem - base) / 1024
    if run.pids:  # a run stopped before it parked (e.g. killed for memory) holds nothing
        _assert_parked(run)
    else:
        assert run.result.verdict in ("memory", "error"), run.result
    assert grown_mb <= memory_mb + tmpfs_mb + slack_mb, (
        f"a run with memory_mb={memory_mb}, tmpfs_mb={tmpfs_mb} holds {grown_mb:.0f} MiB of "
        f"host memory in {kind}: {run.result.stdout}"
    )


PY_SIGQUEUE_HOG = """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGRTMIN})
queued, err = 0, 0
for _ in range(200000):  # every queued real-time signal is charged to RLIMIT_SIGPENDING
    if libc.sigqueue(os.getpid(), signal.SIGRTMIN, ctypes.c_void_p(0)) != 0:
        err = ctypes.get_errno()
        break
    queued += 1
print("HOG", queued, err, flush=True)
@HOLD@
"""
PY_FANOTIFY_HOG = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
held, err = [], 0
for _ in range(1000):  # unprivileged fanotify_init(FAN_REPORT_FID, O_RDONLY)
    fd = libc.syscall(300, 0x200, 0)
    if fd < 0:
        err = ctypes.get_errno()
        break
    held.append(fd)
print("HOG", len(held), err, flush=True)
@HOLD@
"""


def _host_timer() -> int:
    """0 if the host can create a POSIX timer (it reserves a queued signal), else the errno."""
    sigevent = ctypes.create_string_buffer(64)
    sigevent[12] = b"\x01"  # sigev_notify = SIGEV_NONE, after sigev_value and sigev_signo
    timer = ctypes.c_void_p()
    ctypes.set_errno(0)
    if _LIBC.timer_create(1, sigevent, ctypes.byref(timer)) != 0:  # CLOCK_MONOTONIC
        return ctypes.get_errno()
    _LIBC.timer_delete(timer)
    return 0


def _host_fanotify() -> int:
    ctypes.set_errno(0)
    fd = int(_LIBC.syscall(ctypes.c_long(300), ctypes.c_long(0), ctypes.c_long(os.O_RDONLY)))
    if fd < 0:
        return ctypes.get_errno()
    os.close(fd)
    return 0


@pytest.mark.parametrize("kind", ["sigqueue", "fanotify"])
def test_per_user_kernel_limits_do_not_starve_the_host(
    sandbox: Sandbox, marker: str, kind: str
) -> None:
    tag = f"{marker}-{kind}"
    template, host_check = {
        "sigqueue": (PY_SIGQUEUE_HOG, _host_timer),
        "fanotify": (PY_FANOTIFY_HOG, _host_fanotify),
    }[kind]
    assert host_check() == 0, f"the host cannot use {kind} even before the run"
    (run,), host = _while_parked(
        sandbox,
        [(_fill(template, HOLD=_py_hold(tag)), "python", tag)],
        lambda _: host_check(),
        limits=Limits(timeout_s=20, open_files=2048),
    )
    _assert_parked(run)
    got = (_line(run.result.stdout, "HOG") or "").split()
    assert len(got) == 2, run.result.stdout + run.result.stderr
    assert host == 0, f"the host's {kind} failed ({os.strerror(host)}) while a run held {got[0]}"


PY_INODE_HOG = """
import os
made, err = 0, 0
try:
    for made in range(@COUNT@):  # empty directories: no data, so the size cap never applies
        os.mkdir("/tmp/%d" % made)
    made += 1
except OSError as e:
    err = e.errno
print("HOG", made, err, flush=True)
@HOLD@
"""


def _tmpfs_inode_bytes() -> int:
    """Kernel memory in use for tmpfs inodes and dentries, from /proc/slabinfo (host-wide)."""
    total = 0
    for line in Path("/proc/slabinfo").read_text().splitlines()[2:]:
        fields = line.split()
        if fields[0] in ("shmem_inode_cache", "dentry"):
            total += int(fields[1]) * int(fields[3])  # active objects x object size
    return total


def test_tmpfs_inodes_are_bounded_by_the_limits(sandbox: Sandbox, marker: str) -> None:
    memory_mb, tmpfs_mb, slack_mb = 64, 16, 16
    tag = f"{marker}-inodes"
    program = _fill(PY_INODE_HOG, COUNT=200_000, HOLD=_py_hold(tag))
    limits = Limits(timeout_s=30, memory_mb=memory_mb, tmpfs_mb=tmpfs_mb)
    base = _tmpfs_inode_bytes()
    (run,), during = _while_parked(
        sandbox, [(program, "python", tag)], lambda _: _tmpfs_inode_bytes(), limits=limits
    )
    grown_mb = (during - base) / 2**20
    if run.pids:
        _assert_parked(run)
    else:
        assert run.result.verdict in ("memory", "error"), run.result
    assert grown_mb <= memory_mb + tmpfs_mb + slack_mb, (
        f"a run with tmpfs_mb={tmpfs_mb} holds {grown_mb:.0f} MiB of kernel memory in tmpfs "
        f"inodes: {run.result.stdout}"
    )


# -- vsock: it ignores network namespaces --------------------------------------------------------
PY_VSOCK = """
import errno, socket
try:
    socket.socket(40, socket.SOCK_STREAM)
    print("created")
except OSError as exc:
    print("refused", errno.errorcode.get(exc.errno, exc.errno))
"""


def test_vsock_sockets_cannot_be_created(sandbox: Sandbox) -> None:
    """AF_VSOCK reaches the hypervisor whatever the network namespace: the filter refuses it."""
    result = sandbox.run(PY_VSOCK, "python", limits=Limits(timeout_s=5))
    assert result.stdout.split() == ["refused", "EAFNOSUPPORT"], (result.stdout, result.stderr)
