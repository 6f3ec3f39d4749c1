"""Escape attempts: each must be contained, and the host must be unaffected afterwards."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import pytest

from codearena.sandbox import Limits, Sandbox

from .conftest import wait_gone

PROJECT = Path(__file__).resolve().parents[2]


def test_loopback_tcp_to_host_listener_fails(sandbox: Sandbox, marker: str) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    program = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    print('CONNECTED')\n"
        "except OSError as e:\n"
        "    print('blocked', e)\n"
    )
    result = sandbox.run(program, "python")
    with pytest.raises(BlockingIOError):
        server.accept()
    server.close()
    assert "CONNECTED" not in result.stdout
    assert result.stdout.startswith("blocked")


def test_dns_lookup_fails(sandbox: Sandbox, marker: str) -> None:
    program = (
        "import socket\n"
        "try:\n"
        "    print('RESOLVED', socket.getaddrinfo('example.com', 80))\n"
        "except OSError as e:\n"
        "    print('blocked', e)\n"
    )
    result = sandbox.run(program, "python", limits=Limits(timeout_s=20))
    assert result.stdout.startswith("blocked"), result.stdout


def test_writes_outside_workdir_do_not_reach_host(sandbox: Sandbox, marker: str) -> None:
    targets = [
        f"/usr/{marker}",
        f"/etc/{marker}",
        f"/tmp/{marker}",
        f"/root/{marker}",
        f"{PROJECT}/{marker}",
        f"/{marker}",
    ]
    program = "import sys\n" + "".join(
        f"try:\n    open({t!r}, 'w').write('x')\n    print('wrote', {t!r})\n"
        f"except OSError as e:\n    print('denied', {t!r}, e)\n"
        for t in targets
    )
    result = sandbox.run(program, "python")
    assert result.verdict == "passed", result.stderr
    for target in targets:
        assert not Path(target).exists(), f"{target} leaked to the host"
    # the writable working dir is the only place that works, and it lives in the sandbox
    assert f"wrote /tmp/{marker}" in result.stdout
    assert f"denied /usr/{marker}" in result.stdout
    assert f"denied /etc/{marker}" in result.stdout


def test_environment_and_parent_environ_hidden(
    sandbox: Sandbox, marker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-secret-test")
    program = (
        "import os\n"
        "print(dict(os.environ))\n"
        f"for p in ['/proc/{os.getpid()}/environ', '/proc/{os.getppid()}/environ', '/proc/1/environ']:\n"
        "    try:\n"
        "        print(p, open(p, 'rb').read())\n"
        "    except OSError as e:\n"
        "        print(p, 'denied', e)\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        try:\n"
        "            print(pid, open(f'/proc/{pid}/environ', 'rb').read())\n"
        "        except OSError:\n"
        "            pass\n"
    )
    result = sandbox.run(program, "python")
    assert result.verdict == "passed", result.stderr
    assert "sk-secret-test" not in result.stdout + result.stderr
    assert "OPENROUTER_API_KEY" not in result.stdout
    assert "'HOME': '/tmp'" in result.stdout


def test_host_files_unreadable(sandbox: Sandbox, marker: str, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "secret.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (v text)")
        conn.execute("insert into t values (?)", (marker + "dbsecret",))
    conn.close()
    db.chmod(0o644)
    home_secret = Path.home() / f".codearena-{marker}"
    home_secret.write_text(marker + "homesecret")
    targets = [
        str(PROJECT / "pyproject.toml"),
        str(db),
        str(home_secret),
        "/etc/shadow",
        "/etc/passwd",
    ]
    try:
        for target in targets[:-2]:
            assert Path(target).exists()
        program = (
            "".join(
                f"try:\n    print('READ', {t!r}, open({t!r}, 'rb').read()[:200])\n"
                f"except OSError as e:\n    print('denied', {t!r}, type(e).__name__)\n"
                for t in targets
            )
            + "import os\nprint('ROOT', os.listdir('/root') if os.path.isdir('/root') else None)\n"
        )
        result = sandbox.run(program, "python")
    finally:
        home_secret.unlink()
    assert result.verdict == "passed", result.stderr
    assert "READ" not in result.stdout
    assert marker + "homesecret" not in result.stdout
    assert marker + "dbsecret" not in result.stdout
    assert "[project]" not in result.stdout
    assert result.stdout.count("denied") == len(targets)


def test_fork_bomb_is_contained(sandbox: Sandbox, marker: str) -> None:
    program = f"exec -a {marker} bash -c 'f(){{ f | f & }}; f; sleep 1; wait'"
    result = sandbox.run(program, "bash", limits=Limits(timeout_s=5, processes=32))
    assert result.verdict in ("timeout", "error", "passed")
    assert "Resource temporarily unavailable" in result.stderr or "retry" in result.stderr
    # killed processes of a loaded machine can take a moment to be reaped; none may stay
    assert wait_gone(marker, attempts=20) == [], "no fork-bomb process outlives the run"


def test_memory_bomb(sandbox: Sandbox, marker: str) -> None:
    program = f"# {marker}\nx = []\nwhile True:\n    x.append(bytearray(10**7))\n"
    result = sandbox.run(program, "python", limits=Limits(memory_mb=256, timeout_s=20))
    assert result.verdict == "memory", result.stderr


def test_infinite_loop_times_out(sandbox: Sandbox, marker: str) -> None:
    result = sandbox.run(
        f"exec -a {marker} bash -c 'while :; do :; done'", "bash", limits=Limits(timeout_s=1)
    )
    assert result.verdict == "timeout"
    assert result.exit_code is None


def test_filling_tmpfs(sandbox: Sandbox, marker: str) -> None:
    program = (
        "chunk = b'x' * 2**20\n"
        "with open('big', 'wb') as f:\n"
        "    while True:\n"
        "        f.write(chunk)\n"
    )
    result = sandbox.run(program, "python", limits=Limits(tmpfs_mb=8, timeout_s=20))
    assert result.verdict == "error"
    assert "No space left on device" in result.stderr


def test_output_flood_is_capped(sandbox: Sandbox, marker: str) -> None:
    result = sandbox.run(
        "while True:\n    print('x' * 1000)",
        "python",
        limits=Limits(output_bytes=10_000, timeout_s=20),
    )
    assert result.verdict == "output_limit"
    assert result.stdout.endswith("[... output truncated by codearena: limit 10000 bytes ...]")
    assert len(result.stdout.encode()) < 10_100


def test_detached_background_processes_do_not_survive(sandbox: Sandbox, marker: str) -> None:
    program = (
        f"nohup bash -c 'exec -a {marker}a sleep 1000' >/dev/null 2>&1 &\n"
        f"setsid bash -c 'exec -a {marker}b sleep 1000' >/dev/null 2>&1 < /dev/null &\n"
        f"( ( exec -a {marker}c sleep 1000 ) & ) \n"
        "disown -a\n"
        "sleep 0.3\n"
        "echo started\n"
    )
    result = sandbox.run(program, "bash")
    assert result.verdict == "passed", result.stderr
    assert result.stdout == "started\n"
    # the fixture also checks, with polling; this checks the three names explicitly
    from .conftest import wait_gone

    assert wait_gone(marker) == []


@pytest.mark.parametrize("language", ["bash", "python"])
def test_killing_the_parent_leaves_host_fine(sandbox: Sandbox, marker: str, language: str) -> None:
    program = {
        "bash": f"# {marker}\nkill -9 $PPID; kill -9 1; echo alive",
        "python": f"# {marker}\nimport os, signal\nfor p in (os.getppid(), 1):\n"
        "    try:\n        os.kill(p, signal.SIGKILL)\n    except OSError as e:\n        print(e)\n"
        "print('alive')",
    }[language]
    me = os.getpid()
    sandbox.run(program, language)
    assert os.getpid() == me
    again = sandbox.run("print('still works')", "python")
    assert again.verdict == "passed" and again.stdout == "still works\n"


def test_cannot_regain_root(sandbox: Sandbox, marker: str) -> None:
    program = "import os\nprint(os.getuid(), os.geteuid())\ntry:\n    os.setuid(0)\n    print('ROOT')\nexcept OSError as e:\n    print('denied', e)"
    result = sandbox.run(program, "python")
    assert "ROOT" not in result.stdout and "denied" in result.stdout
    assert not result.stdout.startswith("0 ")


def test_unique_markers() -> None:
    assert secrets.token_hex(2) != ""


def test_cpu_limit_is_a_timeout_not_memory(sandbox: Sandbox) -> None:
    program = (
        "#include <pthread.h>\n"
        "void *spin(void *a) { for (;;) {} return 0; }\n"
        "int main(void) { pthread_t t[2]; for (int i = 0; i < 2; i++) "
        "pthread_create(&t[i], 0, spin, 0); for (;;) {} }\n"
    )
    result = sandbox.run(program, "c", limits=Limits(timeout_s=20, cpu_s=1))
    assert result.verdict == "timeout" and result.signal == 24, (result.verdict, result.signal)


def test_a_program_killing_itself_is_an_error_not_memory(sandbox: Sandbox) -> None:
    result = sandbox.run("kill -9 $$\n", "bash")
    assert result.verdict == "error" and result.signal == 9


def test_wall_clock_kill_reports_the_signal(sandbox: Sandbox) -> None:
    result = sandbox.run("while True:\n    pass\n", "python", limits=Limits(timeout_s=1))
    assert result.verdict == "timeout" and result.signal == 9 and result.exit_code is None
