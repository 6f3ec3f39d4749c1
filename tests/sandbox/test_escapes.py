"""Escape attempts: each must be contained, and the host must be unaffected afterwards."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import pytest

from codearena.sandbox import Limits, Sandbox, TestSpec, run_tests

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


# -- the same attacks in the languages added with PHP, C#, Octave, TypeScript, Rust and Ruby ------
NEW_LANGUAGES = ["csharp", "matlab", "php", "ruby", "rust", "typescript"]
COMPILED_NEW = {"csharp", "rust", "typescript"}


def _list(language: str, items: list[str]) -> str:
    quoted = ", ".join(f'"{item}"' for item in items)
    return f"{{{quoted}}}" if language in ("csharp", "matlab") else f"[{quoted}]"


FILES_PROGRAMS = {
    "php": """<?php
foreach (@W@ as $t) { echo (@file_put_contents($t, "x") !== false ? "wrote" : "denied") . " $t\\n"; }
foreach (@R@ as $t) {
  $c = @file_get_contents($t);
  echo ($c !== false ? "READ $t " . substr($c, 0, 200) : "noread $t") . "\\n";
}
""",
    "ruby": """
@W@.each { |t| begin; File.write(t, "x"); puts "wrote #{t}"; rescue SystemCallError; puts "denied #{t}"; end }
@R@.each { |t| begin; puts "READ #{t} #{File.binread(t)[0, 200]}"; rescue SystemCallError; puts "noread #{t}"; end }
""",
    "csharp": """using System; using System.IO;
class P { static void Main() {
  foreach (var t in new[] @W@) {
    try { File.WriteAllText(t, "x"); Console.WriteLine("wrote " + t); }
    catch (Exception) { Console.WriteLine("denied " + t); }
  }
  foreach (var t in new[] @R@) {
    try { var c = File.ReadAllText(t); Console.WriteLine("READ " + t + " " + c.Substring(0, Math.Min(200, c.Length))); }
    catch (Exception) { Console.WriteLine("noread " + t); }
  }
} }
""",
    "rust": """fn main() {
    for t in @W@ {
        match std::fs::write(t, "x") { Ok(_) => println!("wrote {}", t), Err(_) => println!("denied {}", t) }
    }
    for t in @R@ {
        match std::fs::read(t) {
            Ok(c) => println!("READ {} {}", t, String::from_utf8_lossy(&c[..c.len().min(200)])),
            Err(_) => println!("noread {}", t),
        }
    }
}
""",
    "typescript": """const fs = require("fs");
for (const t of @W@) {
  try { fs.writeFileSync(t, "x"); console.log("wrote " + t); } catch (e) { console.log("denied " + t); }
}
for (const t of @R@) {
  try { console.log("READ " + t + " " + fs.readFileSync(t, "utf8").slice(0, 200)); }
  catch (e) { console.log("noread " + t); }
}
""",
    "matlab": """w = @W@;
for i = 1:numel(w)
  f = fopen(w{i}, "w");
  if f < 0
    printf("denied %s\\n", w{i});
  else
    fputs(f, "x"); fclose(f); printf("wrote %s\\n", w{i});
  end
end
r = @R@;
for i = 1:numel(r)
  f = fopen(r{i}, "r");
  if f < 0
    printf("noread %s\\n", r{i});
  else
    c = fread(f, 200, "char=>char")'; fclose(f); printf("READ %s %s\\n", r{i}, c);
  end
end
""",
}


@pytest.mark.parametrize("language", NEW_LANGUAGES)
def test_new_languages_cannot_write_outside_tmp_or_read_host_secrets(
    sandbox: Sandbox, marker: str, language: str, tmp_path: Path
) -> None:
    writes = [f"/usr/{marker}", f"/etc/{marker}", f"/{marker}", f"/root/{marker}"]
    writes += [f"{PROJECT}/{marker}", f"/tmp/{marker}"]
    home_secret = Path.home() / f".codearena-{marker}"
    home_secret.write_text(marker + "homesecret")
    reads = [str(PROJECT / "pyproject.toml"), str(home_secret), "/etc/shadow", "/etc/passwd"]
    program = (
        FILES_PROGRAMS[language]
        .replace("@W@", _list(language, writes))
        .replace("@R@", _list(language, reads))
    )
    try:
        result = sandbox.run(program, language, limits=Limits(timeout_s=60))
    finally:
        home_secret.unlink()
    assert result.verdict == "passed", result.stdout + result.stderr
    for target in writes:
        assert not Path(target).exists(), f"{target} leaked to the host"
    lines = result.stdout.splitlines()
    assert f"wrote /tmp/{marker}" in lines  # the working directory is writable, in the sandbox
    assert [line for line in lines if line.startswith("wrote")] == [f"wrote /tmp/{marker}"]
    assert [line for line in lines if line.startswith("noread")] == [f"noread {r}" for r in reads]
    assert "READ" not in result.stdout and marker + "homesecret" not in result.stdout
    assert "[project]" not in result.stdout


NETWORK_PROGRAMS = {
    "php": """<?php
foreach (@T@ as $t) {
  [$host, $port] = explode(":", $t);
  $s = @fsockopen($host, (int)$port, $errno, $errstr, 2);
  echo $s ? "CONNECTED $t\\n" : "blocked $t $errstr\\n";
}
""",
    "ruby": """require "socket"
@T@.each do |t|
  host, port = t.split(":")
  begin
    TCPSocket.new(host, port.to_i, connect_timeout: 2)
    puts "CONNECTED #{t}"
  rescue SystemCallError, IOError => e
    puts "blocked #{t} #{e.message}"
  end
end
""",
    "csharp": """using System; using System.Net.Sockets;
class P { static void Main() {
  foreach (var t in new[] @T@) {
    var parts = t.Split(':');
    try { new TcpClient(parts[0], int.Parse(parts[1])); Console.WriteLine("CONNECTED " + t); }
    catch (Exception e) { Console.WriteLine("blocked " + t + " " + e.Message); }
  }
} }
""",
    "rust": """use std::time::Duration;
fn main() {
    for t in @T@ {
        let addr: std::net::SocketAddr = t.parse().unwrap();
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => println!("CONNECTED {}", t),
            Err(e) => println!("blocked {} {}", t, e),
        }
    }
}
""",
    "typescript": """const net = require("net");
for (const t of @T@) {
  const [host, port] = t.split(":");
  const s = net.createConnection({ host, port: Number(port), timeout: 2000 });
  s.on("connect", () => { console.log("CONNECTED " + t); s.destroy(); });
  s.on("timeout", () => { console.log("blocked " + t + " timeout"); s.destroy(); });
  s.on("error", (e: Error) => console.log("blocked " + t + " " + e.message));
}
""",
    "matlab": """targets = @T@;
for i = 1:numel(targets)
  try
    urlread(["http://" targets{i} "/"]);
    printf("CONNECTED %s\\n", targets{i});
  catch err
    printf("blocked %s %s\\n", targets{i}, err.message);
  end
end
""",
}


@pytest.mark.parametrize("language", NEW_LANGUAGES)
def test_new_languages_reach_no_network(sandbox: Sandbox, marker: str, language: str) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    targets = [f"127.0.0.1:{server.getsockname()[1]}", "1.1.1.1:80"]
    program = NETWORK_PROGRAMS[language].replace("@T@", _list(language, targets))
    result = sandbox.run(program, language, limits=Limits(timeout_s=60))
    with pytest.raises(BlockingIOError):
        server.accept()  # nothing reached the host's listener
    server.close()
    assert "CONNECTED" not in result.stdout, result.stdout
    blocked = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("blocked")]
    assert sorted(blocked) == sorted(targets), result.stdout + result.stderr


LOOPS = {
    "php": "<?php\n// @M@\nwhile (true) {}\n",
    "ruby": "# @M@\nloop {}\n",
    "csharp": "// @M@\nclass P { static void Main() { while (true) {} } }\n",
    "rust": "// @M@\nfn main() { loop {} }\n",
    "typescript": "// @M@\nwhile (true) {}\n",
    "matlab": "% @M@\nwhile true\nend\n",
}


@pytest.mark.parametrize("language", NEW_LANGUAGES)
def test_new_languages_infinite_loop_is_stopped(
    sandbox: Sandbox, marker: str, language: str
) -> None:
    # the CPU limit covers the compile step too (rustc, tsc and mcs take a few CPU seconds)
    cpu = 8 if language in COMPILED_NEW else 3
    limits = Limits(timeout_s=60, cpu_s=cpu)
    result = sandbox.run(LOOPS[language].replace("@M@", marker), language, limits=limits)
    assert result.verdict == "timeout", (result.verdict, result.stderr)
    assert result.signal in (9, 24), result  # the CPU limit's SIGXCPU, or the wall clock


MEMORY_BOMBS = {
    "php": '<?php\n// @M@\n$a = [];\nwhile (true) { $a[] = str_repeat("x", 10000000); }\n',
    "ruby": '# @M@\na = []\nloop { a << "x" * 10_000_000 }\n',
    "csharp": """// @M@
using System.Collections.Generic;
class P { static void Main() {
  var held = new List<byte[]>();
  while (true) { var b = new byte[10000000]; for (int i = 0; i < b.Length; i += 4096) b[i] = 1; held.Add(b); }
} }
""",
    "rust": "// @M@\nfn main() {\n    let mut v: Vec<Vec<u8>> = Vec::new();\n"
    "    loop { v.push(vec![1u8; 10_000_000]); }\n}\n",
    "typescript": '// @M@\nconst a: string[][] = [];\nwhile (true) { a.push(new Array(1000000).fill("x")); }\n',
    "matlab": "% @M@\nc = {};\nwhile true\n  c{end+1} = ones(1, 2000000);\nend\n",
}


@pytest.mark.parametrize("language", NEW_LANGUAGES)
def test_new_languages_memory_bomb_is_stopped(sandbox: Sandbox, marker: str, language: str) -> None:
    program = MEMORY_BOMBS[language].replace("@M@", marker)
    result = sandbox.run(program, language, limits=Limits(timeout_s=60, memory_mb=256))
    assert result.verdict == "memory", (result.verdict, result.stderr[-2000:])


LIARS = {  # wrong output, claims of success, exit status 0
    "php": '<?php\necho "passed\n"; fwrite(STDERR, "all tests passed\n"); exit(0);\n',
    "ruby": 'puts "passed"\n$stderr.puts "all tests passed"\nexit 0\n',
    "csharp": 'class P { static int Main() { System.Console.WriteLine("passed"); return 0; } }\n',
    "rust": 'fn main() { println!("passed"); eprintln!("all tests passed"); }\n',
    "typescript": 'console.log("passed");\nprocess.exit(0);\n',
    "matlab": 'disp("passed");\nexit(0);\n',
}


@pytest.mark.parametrize("language", NEW_LANGUAGES)
def test_new_languages_verdict_comes_from_the_hosts_comparison(
    sandbox: Sandbox, language: str
) -> None:
    tests = TestSpec("io", examples=[("2\n", "4\n"), ("5\n", "10\n")])
    result = run_tests(sandbox, LIARS[language], language, tests, Limits(timeout_s=60))
    assert result.verdict == "failed", (result.verdict, result.stderr)
    assert (result.tests_passed, result.tests_total) == (0, 2)
