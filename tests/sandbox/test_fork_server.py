"""Risks specific to the Python fork server: runs share one warm server, so nothing may pass
between runs, and no run may reach the server (see docs/sandbox.md)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import threading
import time
from pathlib import Path

from codearena.sandbox import BwrapSandbox, Limits

from .conftest import processes_with, wait_gone


def _server_pids(box: BwrapSandbox) -> list[int]:
    """Host pids of the server's bwrap, bwrap's init and the Python server."""
    assert box._server is not None and box._server.pid is not None
    pids = [box._server.pid]
    for _ in range(2):
        children = Path(f"/proc/{pids[-1]}/task/{pids[-1]}/children").read_text().split()
        pids.append(int(children[0]))
    return pids


def _memory_contains(pid: int, needle: bytes) -> bool:
    """Whether any readable mapping of ``pid`` contains ``needle`` (read from the host)."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("r") or "[vvar" in line or "[vsyscall" in line:
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except OSError:
                continue
    return False


def test_fork_server_is_used_and_warm(forked: BwrapSandbox) -> None:
    forked.run("pass", "python")
    assert forked._server is not None
    starts = forked._server.starts
    for _ in range(3):
        assert forked.run("print(1)", "python").stdout == "1\n"
    assert forked._server.starts == starts  # one server for all runs
    result = forked.run("import os\nprint(os.getpid(), os.getppid())", "python")
    assert result.stdout == "2 1\n"  # its own PID namespace, under a reaper


def test_program_sees_only_its_own_processes(forked: BwrapSandbox) -> None:
    program = (
        "import os\n"
        "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
        "print(open('/proc/1/status').read().split('Uid:')[1].split()[0])\n"
    )
    result = forked.run(program, "python")
    assert result.verdict == "passed", result.stderr
    pids, init_uid = result.stdout.splitlines()
    assert pids == "[1, 2]"
    assert init_uid == "0"  # the reaper is not the program's uid: it cannot be signalled


def test_server_survives_a_run_that_kills_everything(forked: BwrapSandbox) -> None:
    forked.run("pass", "python")
    assert forked._server is not None
    before = _server_pids(forked)
    starts = forked._server.starts
    program = (
        "import os, signal\n"
        "denied = []\n"
        "for pid in range(1, 70000):\n"
        "    if pid == os.getpid():\n"
        "        continue\n"
        "    for sig in (signal.SIGKILL, signal.SIGSTOP):\n"
        "        try:\n"
        "            os.kill(pid, sig)\n"
        "        except ProcessLookupError:\n"
        "            pass\n"
        "        except PermissionError:\n"
        "            denied.append(pid)\n"
        "for sig in (signal.SIGKILL,):\n"
        "    try:\n"
        "        os.kill(-1, sig)\n"
        "    except OSError as e:\n"
        "        print('kill -1:', e)\n"
        "print('alive', sorted(set(denied)))\n"
    )
    result = forked.run(program, "python", limits=Limits(timeout_s=20))
    assert result.stdout.endswith("alive [1]\n"), (result.stdout, result.stderr)  # only PID 1
    assert _server_pids(forked) == before
    again = forked.run("print('still works')", "python")
    assert again.stdout == "still works\n"
    assert forked._server.starts == starts


def test_files_do_not_survive_into_the_next_run(forked: BwrapSandbox) -> None:
    token = secrets.token_hex(8)
    writer = (
        "import os\n"
        f"open('/tmp/left-{token}', 'w').write('x')\n"
        f"os.makedirs('/tmp/dir-{token}')\n"
        "for path in ('/dev/shm/x', '/x', '/usr/x', '/proc/x', '/dev/x'):\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('WROTE', path)\n"
        "    except OSError:\n"
        "        pass\n"
        "print(sorted(os.listdir('/tmp')))\n"
    )
    first = forked.run(writer, "python")
    assert "WROTE" not in first.stdout
    assert token in first.stdout
    second = forked.run("import os\nprint(sorted(os.listdir('/tmp')), os.getcwd())", "python")
    assert second.stdout == "['main.py'] /tmp\n"


def test_reaper_and_server_memory_unreadable(forked: BwrapSandbox) -> None:
    program = (
        "import os\n"
        "for name in ('environ', 'mem', 'maps', 'stack', 'auxv', 'fd', 'root/etc', 'cwd'):\n"
        "    path = '/proc/1/' + name\n"
        "    try:\n"
        "        data = os.listdir(path) if name in ('fd', 'root/etc', 'cwd') else open(path, 'rb').read(64)\n"
        "        print('READ', path, data)\n"
        "    except OSError as e:\n"
        "        print('denied', path, type(e).__name__)\n"
        "print(sorted(os.environ))\n"
    )
    result = forked.run(program, "python")
    assert result.verdict == "passed", result.stderr
    assert "READ" not in result.stdout, result.stdout
    assert result.stdout.count("denied") == 8
    assert b"OPENROUTER" not in result.stdout.encode()


def test_server_never_holds_program_text_or_stdin(forked: BwrapSandbox) -> None:
    secret = "cxsecret" + secrets.token_hex(12)
    given = "cxstdin" + secrets.token_hex(12)
    program = f"SECRET = {secret!r}\nprint(SECRET[:8], input()[:7])\n"
    files = {"helper.py": f"# {secret}helper\n"}
    result = forked.run(program, "python", stdin=given + "\n", files=files)
    assert result.stdout == "cxsecret cxstdin\n", result.stderr
    server = _server_pids(forked)[-1]
    for needle in (secret, given, secret + "helper"):
        assert not _memory_contains(server, needle.encode())
    assert _memory_contains(server, b"_codearena_serve")  # the scan does read the server


def test_previous_programs_are_not_in_a_runs_memory(forked: BwrapSandbox) -> None:
    secret = secrets.token_hex(16)
    forked.run(f"X = {secret!r}\nprint(len(X))", "python")
    # the second run searches its own memory for the first run's text (kept out of its own
    # source by reversing it, and the reversed copy is searched for only once built)
    program = (
        f"needle = {secret[::-1]!r}[::-1].encode()\n"
        "hits = 0\n"
        "import ctypes\n"  # /proc/self/mem is root's: the program is not dumpable
        "for line in open('/proc/self/maps').read().splitlines():\n"
        "    span, perms = line.split()[:2]\n"
        "    if perms.startswith('r') and 'vvar' not in line and 'vsyscall' not in line:\n"
        "        a, b = (int(x, 16) for x in span.split('-'))\n"
        "        hits += ctypes.string_at(a, b - a).count(needle)\n"
        "print(hits)\n"
    )
    result = forked.run(program, "python", limits=Limits(timeout_s=20))
    assert result.verdict == "passed", result.stderr
    assert int(result.stdout) <= 2  # the needle itself (and a copy made by the scan)
    control = forked.run(program.replace("needle = ", f"X = {secret!r}\nneedle = "), "python")
    assert int(control.stdout) > int(result.stdout)  # a run's own text would be found


def test_daemons_do_not_outlive_the_run(forked: BwrapSandbox, marker: str) -> None:
    program = (
        "import os, subprocess, time\n"
        f"subprocess.Popen(['bash', '-c', 'exec -a {marker}a sleep 1000'], start_new_session=True)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execvp('bash', ['bash', '-c', 'exec -a {marker}b sleep 1000'])\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)\n"
        "print('started')\n"
    )
    result = forked.run(program, "python")
    assert result.verdict == "passed", result.stderr
    assert result.stdout == "started\n"
    assert wait_gone(marker) == []


def test_timeout_kills_the_whole_tree(forked: BwrapSandbox, marker: str) -> None:
    program = (
        "import subprocess\n"
        f"subprocess.Popen(['bash', '-c', 'exec -a {marker} sleep 1000'], start_new_session=True)\n"
        "while True:\n"
        "    pass\n"
    )
    result = forked.run(program, "python", limits=Limits(timeout_s=1))
    assert result.verdict == "timeout" and result.exit_code is None
    assert wait_gone(marker) == []


def test_concurrent_runs_stay_separate(forked: BwrapSandbox) -> None:
    tokens = [secrets.token_hex(6) for _ in range(12)]
    results: dict[str, str] = {}
    program = (
        "import os, socket, sys, time\n"
        "token = sys.stdin.read().strip()\n"
        "open('/tmp/mine', 'w').write(token)\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "s.bind('\\0codearena-shared-name')\n"  # abstract sockets are per network namespace
        "time.sleep(0.2)\n"
        "print(token, open('/tmp/mine').read(), sorted(os.listdir('/tmp')), os.getuid())\n"
    )

    def one(token: str) -> None:
        results[token] = forked.run(program, "python", stdin=token + "\n").stdout

    threads = [threading.Thread(target=one, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    uids = set()
    for token in tokens:
        match = re.fullmatch(rf"{token} {token} \['main.py', 'mine'\] (\d+)\n", results[token])
        assert match, results[token]
        uids.add(match.group(1))
    assert len(uids) == len(tokens)  # each concurrent run has its own uid


def test_server_restarts_after_dying(forked: BwrapSandbox) -> None:
    forked.run("pass", "python")
    assert forked._server is not None
    starts = forked._server.starts
    os.kill(_server_pids(forked)[-1], signal.SIGKILL)
    time.sleep(0.1)
    result = forked.run("print('back')", "python")
    assert result.verdict == "passed" and result.stdout == "back\n", result.stderr
    assert forked._server.starts == starts + 1


def test_network_namespace_is_fresh_and_empty(forked: BwrapSandbox) -> None:
    program = "import socket\nprint([name for _, name in socket.if_nameindex()])\n"
    result = forked.run(program, "python")
    assert result.stdout == "['lo']\n", result.stderr


def test_no_leftover_processes_after_many_runs(forked: BwrapSandbox, marker: str) -> None:
    for _ in range(5):
        forked.run(f"# {marker}\nprint(1)", "python")
    assert processes_with(marker) == []


def test_runs_do_not_share_the_servers_random_state(forked: BwrapSandbox) -> None:
    """``random`` is imported by the warm server; each run reseeds it, so no run can predict
    another's numbers from its own."""
    program = "import random\nprint(random.getrandbits(64))"
    seen = {forked.run(program, "python").stdout.strip() for _ in range(4)}
    assert len(seen) == 4
