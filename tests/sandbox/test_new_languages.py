"""PHP, C# (Mono), Matlab (GNU Octave), TypeScript (tsc + node), Rust and Ruby in the sandbox.

For each: hello world, input/output examples that pass for a right program and fail for a wrong
one, compile errors (C#, TypeScript, Rust) reported as ``compile_error``, syntax errors of the
interpreted ones as ``error`` with the parser's message, an answer run through the evaluation
step (the language picked by ``codearena.answers`` from its fence tag or its text), and a
missing toolchain named with its Debian package; then hello world and examples under gVisor.
Nothing is skipped: without a toolchain these tests fail and say what to install
(``bash scripts/system-deps.sh``). The escape suite's tests of these languages are in
``test_escapes.py`` and ``test_isolation_attacks.py`` (descriptors)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codearena import evaluation
from codearena.answers import extract_code, select_program
from codearena.sandbox import (
    Limits,
    Sandbox,
    SandboxUnavailable,
    TestSpec,
    UnsupportedLanguage,
    get_sandbox,
    language_for_path,
    normalize_language,
    run_tests,
)
from codearena.sandbox import languages as table
from codearena.sandbox.gvisor import GvisorSandbox
from codearena.sandbox.languages import get_language, matlab_script

from .conftest import wait_gone

NEW = ["csharp", "matlab", "php", "ruby", "rust", "typescript"]
COMPILED = ["csharp", "rust", "typescript"]
INTERPRETED = ["matlab", "php", "ruby"]
LIMITS = Limits(timeout_s=60)

HELLO = {
    "php": '<?php\necho "hello\\n";\n',
    "csharp": 'class Hello { static void Main() { System.Console.WriteLine("hello"); } }\n',
    "matlab": 'disp("hello")\n',
    "typescript": 'const greeting: string = "hello";\nconsole.log(greeting);\n',
    "rust": 'fn main() {\n    println!("hello");\n}\n',
    "ruby": 'puts "hello"\n',
}
# reads numbers (one line, separated by spaces), prints their sum and their count
SUM = {
    "php": """<?php
$nums = array_map('intval', preg_split('/\\s+/', trim(fgets(STDIN))));
echo array_sum($nums) . "\\n" . count($nums) . "\\n";
""",
    "csharp": """using System;
using System.Linq;
class Program {
    static void Main() {
        var nums = Console.ReadLine().Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(int.Parse).ToList();
        Console.WriteLine(nums.Sum());
        Console.WriteLine(nums.Count);
    }
}
""",
    "matlab": """line = fgetl(stdin);
nums = str2num(line);
printf("%d\\n", sum(nums));
printf("%d\\n", numel(nums));
""",
    "typescript": """import * as readline from "readline";
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line: string) => {
  const nums: number[] = line.trim().split(/\\s+/).map(Number);
  const total = nums.reduce((a: number, b: number) => a + b, 0);
  console.log(total);
  console.log(nums.length);
  rl.close();
});
""",
    "rust": """use std::io::{self, BufRead};
fn main() {
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).unwrap();
    let nums: Vec<i64> = line.split_whitespace().map(|t| t.parse().unwrap()).collect();
    println!("{}", nums.iter().sum::<i64>());
    println!("{}", nums.len());
}
""",
    "ruby": """nums = gets.split.map(&:to_i)
puts nums.sum
puts nums.size
""",
}
# the same, with an off-by-one in the sum
WRONG = {
    "php": SUM["php"].replace("array_sum($nums)", "(array_sum($nums) + 1)"),
    "csharp": SUM["csharp"].replace("nums.Sum()", "nums.Sum() + 1"),
    "matlab": SUM["matlab"].replace("sum(nums))", "sum(nums) + 1)"),
    "typescript": SUM["typescript"].replace("console.log(total)", "console.log(total + 1)"),
    "rust": SUM["rust"].replace("sum::<i64>()", "sum::<i64>() + 1"),
    "ruby": SUM["ruby"].replace("puts nums.sum", "puts nums.sum + 1"),
}
EXAMPLES = [("1 2 3\n", "6\n3\n"), ("10\n", "10\n1\n"), ("-4 4 7 0\n", "7\n4\n")]
BROKEN = {
    "csharp": "class P { static void Main() { int x = ; } }\n",
    "rust": 'fn main() {\n    let x: i32 = "text";\n}\n',
    "typescript": 'let count: number = "three";\nconsole.log(count);\n',
}
SYNTAX = {
    "php": '<?php\necho "missing semicolon"\n',
    "ruby": "def broken(\n",
    "matlab": "x = [1 2 3;\n",
}
EXIT_3 = {
    "php": "<?php\nexit(3);\n",
    "csharp": "class P { static int Main() { return 3; } }\n",
    "matlab": "exit(3);\n",
    "typescript": "process.exit(3);\n",
    "rust": "fn main() {\n    std::process::exit(3);\n}\n",
    "ruby": "exit 3\n",
}
# (fence tag an answer may carry, canonical name)
TAGS = [
    ("php", "php"),
    ("csharp", "csharp"),
    ("cs", "csharp"),
    ("c#", "csharp"),
    ("C#", "csharp"),
    ("matlab", "matlab"),
    ("octave", "matlab"),
    ("m", "matlab"),
    ("typescript", "typescript"),
    ("ts", "typescript"),
    ("rust", "rust"),
    ("rs", "rust"),
    ("ruby", "ruby"),
    ("rb", "ruby"),
]
FENCE = {"php": "php", "csharp": "c#", "matlab": "octave", "typescript": "ts"}
FENCE |= {"rust": "rs", "ruby": "rb"}
PACKAGES = {
    "php": "php-cli",
    "csharp": "mono-mcs mono-runtime",
    "matlab": "octave",
    "typescript": "node-typescript nodejs",
    "rust": "rustc",
    "ruby": "ruby",
}


def _toolchain(language: str) -> None:
    """Fail (never skip) with the install hint when the language's toolchain is missing."""
    try:
        get_language(language)
    except UnsupportedLanguage as exc:
        pytest.fail(f"{exc} (or run: bash scripts/system-deps.sh)")


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    """The default backend (bwrap; these languages always take one bwrap per run)."""
    sandbox = get_sandbox("bwrap")
    yield sandbox
    close = getattr(sandbox, "close", None)
    if callable(close):
        close()


# -- the language table ----------------------------------------------------------------------
@pytest.mark.parametrize(("tag", "name"), TAGS)
def test_fence_tags_and_aliases(tag: str, name: str) -> None:
    assert normalize_language(tag) == name


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("x.php", "php"),
        ("x.cs", "csharp"),
        ("x.m", "matlab"),
        ("x.ts", "typescript"),
        ("x.rs", "rust"),
        ("x.rb", "ruby"),
    ],
)
def test_file_extensions(path: str, name: str) -> None:
    assert language_for_path(path) == name


@pytest.mark.parametrize("language", NEW)
def test_a_missing_toolchain_names_its_debian_package(
    language: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setattr(table, "SANDBOX_PATH", str(tmp_path))
    with pytest.raises(UnsupportedLanguage) as info:
        get_language(language)
    message = str(info.value)
    assert "toolchain not installed" in message
    assert f"apt-get install {PACKAGES[language]}" in message
    monkeypatch.undo()
    _toolchain(language)  # and with the real PATH it is there


def test_the_sandbox_path_decides_not_the_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A toolchain only on the host's PATH (rustup's ~/.cargo/bin) is not visible inside."""
    monkeypatch.setenv("PATH", "/nonexistent")
    _toolchain("rust")
    assert table.SANDBOX_PATH.split(":") == ["/usr/local/bin", "/usr/bin", "/bin"]


# -- runs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", NEW)
def test_hello_world(box: Sandbox, language: str) -> None:
    _toolchain(language)
    result = box.run(HELLO[language], language, limits=LIMITS)
    assert result.verdict == "passed", result.stdout + result.stderr
    assert result.stdout == "hello\n"
    assert (result.exit_code, result.language, result.backend) == (0, language, "bwrap")
    assert result.isolated


@pytest.mark.parametrize("language", NEW)
def test_examples_pass_for_a_right_program_and_fail_for_a_wrong_one(
    box: Sandbox, language: str
) -> None:
    _toolchain(language)
    tests = TestSpec("io", examples=EXAMPLES)
    right = run_tests(box, SUM[language], language, tests, LIMITS)
    assert right.verdict == "passed", right.stdout + right.stderr
    assert (right.tests_passed, right.tests_total) == (3, 3)
    wrong = run_tests(box, WRONG[language], language, tests, LIMITS)
    assert WRONG[language] != SUM[language]
    assert wrong.verdict == "failed", wrong.stdout + wrong.stderr
    assert (wrong.tests_passed, wrong.tests_total) == (0, 3)


@pytest.mark.parametrize("language", COMPILED)
def test_a_compile_error_is_a_compile_error(box: Sandbox, language: str) -> None:
    _toolchain(language)
    result = box.run(BROKEN[language], language, limits=LIMITS)
    assert result.verdict == "compile_error", result.stdout + result.stderr
    assert "error" in result.stderr.lower() and result.stdout == ""
    tests = TestSpec("io", examples=EXAMPLES[:1])
    assert run_tests(box, BROKEN[language], language, tests, LIMITS).verdict == "compile_error"


@pytest.mark.parametrize("language", INTERPRETED)
def test_a_syntax_error_of_an_interpreted_language_is_an_error(box: Sandbox, language: str) -> None:
    """As for Python and JavaScript: no compile step, the parser's message on stderr."""
    _toolchain(language)
    result = box.run(SYNTAX[language], language, limits=LIMITS)
    assert result.verdict == "error", result.stdout + result.stderr
    assert "syntax error" in result.stderr.lower() or "parse error" in result.stderr.lower()


@pytest.mark.parametrize("language", NEW)
def test_an_exit_status_is_kept(box: Sandbox, language: str) -> None:
    _toolchain(language)
    result = box.run(EXIT_3[language], language, limits=LIMITS)
    assert (result.verdict, result.exit_code) == ("error", 3), result.stderr


@pytest.mark.parametrize("language", NEW)
def test_an_answer_through_the_evaluation_step(box: Sandbox, language: str) -> None:
    """A model's reply: the block picked by its fence tag, run against the examples."""
    _toolchain(language)
    reply = f"Here is my solution:\n\n```{FENCE[language]}\n{SUM[language]}```\n\nIt reads stdin."
    program = select_program(extract_code(reply))
    assert program is not None and program.language == language
    result = evaluation.execute(box, program, TestSpec("io", examples=EXAMPLES), LIMITS)
    assert result.verdict == "passed", result.stdout + result.stderr
    assert result.language == language and result.tests_passed == 3
    untagged = select_program(extract_code(f"```\n{SUM[language]}```"))
    assert untagged is not None and untagged.language == language  # guessed from the code
    again = evaluation.execute(box, untagged, TestSpec("io", examples=EXAMPLES[:1]), LIMITS)
    assert again.verdict == "passed", again.stdout + again.stderr


def test_typescript_type_errors_in_the_program_are_compile_errors(box: Sandbox) -> None:
    _toolchain("typescript")
    ok = box.run(
        'import { readFileSync } from "fs";\n'
        "const data: string = readFileSync(0, 'utf8');\n"
        "const m = new Map<string, number>([[data.trim(), 1]]);\n"
        "function size(b: Buffer): number { return b.length; }\n"
        "console.log([...m.keys()][0], size(Buffer.from('abc')));\n",
        "typescript",
        stdin="key\n",
        limits=LIMITS,
    )
    assert ok.verdict == "passed", ok.stderr
    assert ok.stdout == "key 3\n"
    bad = box.run(
        "function twice(n: number): number { return n * 2; }\nconsole.log(twice('x'));\n",
        "ts",
        limits=LIMITS,
    )
    assert bad.verdict == "compile_error" and "TS2345" in bad.stderr, bad.stderr


def test_matlab_local_functions_at_the_end_of_a_script(box: Sandbox) -> None:
    _toolchain("matlab")
    program = (
        "% local functions after the script's code, as Matlab requires\n"
        "x = twice(20);\n"
        "printf('%d\\n', plus_one(x));\n"
        "\n"
        "function y = twice(v)\n  y = 2 * v;\nend\n"
        "function y = plus_one(v)\n  y = v + 1;\nend\n"
    )
    result = box.run(program, "matlab", limits=LIMITS)
    assert result.verdict == "passed", result.stderr
    assert result.stdout == "41\n"


def test_matlab_script_moves_local_functions_first() -> None:
    script = "x = f(1);\ndisp(x)\nfunction y = f(v)\n  y = v;\nend\n"
    assert matlab_script(script) == "1;\nfunction y = f(v)\n  y = v;\nend\n\nx = f(1);\ndisp(x)\n"
    function_file = "% doc\nfunction main()\n  disp(1)\nend\n"
    assert matlab_script(function_file) == function_file
    assert matlab_script("disp(1)\n") == "disp(1)\n"


# -- gVisor ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gvisor() -> Iterator[GvisorSandbox]:
    try:
        sandbox = get_sandbox("gvisor")
    except SandboxUnavailable as exc:
        pytest.fail(f"the gvisor backend needs gVisor's runsc (apt-get install runsc): {exc}")
    assert isinstance(sandbox, GvisorSandbox)
    yield sandbox
    assert wait_gone(str(sandbox.base_dir)) == [], "a runsc process outlived its run"
    sandbox.close()


@pytest.mark.parametrize("language", NEW)
def test_gvisor_hello_world_and_examples(gvisor: GvisorSandbox, language: str) -> None:
    _toolchain(language)
    hello = gvisor.run(HELLO[language], language, limits=LIMITS)
    assert hello.verdict == "passed", hello.stdout + hello.stderr
    assert (hello.stdout, hello.backend) == ("hello\n", "gvisor")
    tests = TestSpec("io", examples=EXAMPLES[:2])
    right = run_tests(gvisor, SUM[language], language, tests, LIMITS)
    assert right.verdict == "passed", right.stdout + right.stderr
    wrong = run_tests(gvisor, WRONG[language], language, tests, LIMITS)
    assert (wrong.verdict, wrong.tests_passed) == ("failed", 0), wrong.stderr
    runs = [p.name for p in gvisor.base_dir.iterdir() if not p.name.startswith("rootfs-")]
    assert runs == [], "a run's bundle or state directory was left behind"
