"""The sandbox starts Python as ``-I -S -B -c BOOT``: it must behave like ``python main.py``."""

from __future__ import annotations

import os

from codearena.sandbox import Limits, Sandbox


def test_exit_and_quit_work(sandbox: Sandbox) -> None:
    assert sandbox.run("exit(3)", "python").exit_code == 3
    assert sandbox.run("quit()", "python").verdict == "passed"
    result = sandbox.run("import sys\nprint('x')\nsys.exit('bye')", "python")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "x\n", "bye\n")


def test_main_module_argv_and_path(sandbox: Sandbox) -> None:
    program = (
        "import sys, pickle\n"
        "class A: pass\n"
        "pickle.loads(pickle.dumps(A()))\n"
        "if __name__ == '__main__':\n"
        "    print(__file__, sys.argv, sys.path[0], sorted(k for k in globals() if 'boot' in k))\n"
    )
    result = sandbox.run(program, "python")
    assert result.verdict == "passed", result.stderr
    assert result.stdout == "/tmp/main.py ['main.py'] /tmp []\n"


def test_traceback_shows_program_lines_only(sandbox: Sandbox) -> None:
    result = sandbox.run("def f():\n    1 / 0\n\nf()\n", "python")
    assert result.verdict == "error"
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert 'File "/tmp/main.py", line 4, in <module>' in result.stderr
    assert 'File "/tmp/main.py", line 2, in f' in result.stderr
    assert "<string>" not in result.stderr
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")


def test_syntax_error_printed_like_a_script(sandbox: Sandbox) -> None:
    result = sandbox.run("x = 1\ndef f(:\n", "python")
    assert result.verdict == "error" and result.exit_code == 1
    assert result.stderr.startswith('  File "/tmp/main.py", line 2\n'), result.stderr
    assert "Traceback" not in result.stderr and "SyntaxError" in result.stderr


def test_limits_privileges_and_fds_in_the_program(sandbox: Sandbox) -> None:
    program = (
        "import os, resource as r\n"
        "print([r.getrlimit(x) for x in (r.RLIMIT_AS, r.RLIMIT_CPU, r.RLIMIT_FSIZE,"
        " r.RLIMIT_NOFILE, r.RLIMIT_NPROC, r.RLIMIT_CORE)])\n"
        "print(os.getresuid(), os.getresgid(), os.getgroups())\n"
        "status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines()"
        " if ':\\t' in l)\n"
        "print(status['CapEff'], status['CapPrm'], status['CapAmb'], status['NoNewPrivs'])\n"
        "print(status['CapInh'], status['CapBnd'])\n"
        "print(sorted(os.listdir('/proc/self/fd')))\n"
    )
    limits = Limits(memory_mb=300, timeout_s=4, file_size_mb=5, open_files=99, processes=7)
    result = sandbox.run(program, "python", limits=limits)
    assert result.verdict == "passed", result.stderr
    rlimits, ids, caps, more_caps, fds = result.stdout.splitlines()
    mib = 1024 * 1024
    # CPU: soft limit (SIGXCPU, a timeout) one second below the hard one (SIGKILL)
    expected = [(300 * mib,) * 2, (5, 6), (5 * mib,) * 2, (99, 99), (7, 7), (0, 0)]
    assert rlimits == str(expected)
    assert caps == "0000000000000000 0000000000000000 0000000000000000 1"
    if getattr(sandbox, "fork_server", False):  # also the inheritable and bounding sets
        assert more_caps == "0000000000000000 0000000000000000"
    if os.geteuid() == 0:
        uid = eval(ids.split(")")[0] + ")")
        assert len(set(uid)) == 1 and uid[0] != 0
        assert ids.endswith("[]")
    assert fds == "['0', '1', '2', '3']"  # 3 is the listdir's own fd
