from __future__ import annotations

import shutil

import pytest

from codearena.sandbox import (
    ExecResult,
    Limits,
    Sandbox,
    UnsupportedLanguage,
    language_for_path,
    normalize_language,
)

HELLO = {
    "python": 'print("hello")',
    "javascript": 'console.log("hello")',
    "bash": "echo hello",
    "c": '#include <stdio.h>\nint main(void){ puts("hello"); return 0; }',
    "cpp": '#include <iostream>\nint main(){ std::cout << "hello" << std::endl; }',
    "java": 'public class Hello { public static void main(String[] a){ System.out.println("hello"); } }',
    "go": 'package main\nimport "fmt"\nfunc main(){ fmt.Println("hello") }',
}
FAILING = {
    "python": "import sys\nsys.exit(3)",
    "javascript": "process.exit(3)",
    "bash": "exit 3",
    "c": "int main(void){ return 3; }",
    "cpp": "int main(){ return 3; }",
    "java": "class Main { public static void main(String[] a){ System.exit(3); } }",
    "go": 'package main\nimport "os"\nfunc main(){ os.Exit(3) }',
}
BROKEN = {
    "c": "int main(void){ return undefined_name; }",
    "cpp": "int main(){ std::vector<int> v; }",
    "java": "public class Main { public static void main(String[] a){ int x = ; } }",
    "go": "package main\nfunc main(){ x := }",
}
NEEDS = {"javascript": "node", "java": "javac", "go": "go", "c": "gcc", "cpp": "g++"}


def _need(language: str) -> None:
    tool = NEEDS.get(language)
    if tool and shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")


def _limits(language: str) -> Limits:
    return Limits(timeout_s=60 if language in ("java", "go", "cpp") else 20)


@pytest.mark.parametrize("language", sorted(HELLO))
def test_hello_world(sandbox: Sandbox, language: str) -> None:
    _need(language)
    result = sandbox.run(HELLO[language], language, limits=_limits(language))
    assert result.verdict == "passed", result.stderr
    assert result.stdout.strip() == "hello"
    assert result.exit_code == 0 and result.backend == "bwrap" and result.isolated


@pytest.mark.parametrize("language", sorted(FAILING))
def test_failing_program(sandbox: Sandbox, language: str) -> None:
    _need(language)
    result = sandbox.run(FAILING[language], language, limits=_limits(language))
    assert result.verdict == "error"
    assert result.exit_code == 3


@pytest.mark.parametrize("language", sorted(BROKEN))
def test_compile_error(sandbox: Sandbox, language: str) -> None:
    _need(language)
    result = sandbox.run(BROKEN[language], language, limits=_limits(language))
    assert result.verdict == "compile_error"
    assert "error" in result.stderr.lower()


def test_python_exception_is_error(sandbox: Sandbox) -> None:
    result = sandbox.run("raise ValueError('boom')", "py")
    assert result.verdict == "error" and "ValueError: boom" in result.stderr


def test_stdin_and_extra_files(sandbox: Sandbox) -> None:
    program = "import helper\nprint(helper.double(int(input())))"
    result = sandbox.run(
        program, "python", "21\n", files={"helper.py": "def double(x): return 2*x"}
    )
    assert result.verdict == "passed", result.stderr
    assert result.stdout == "42\n"


def test_python_is_stdlib_only(sandbox: Sandbox) -> None:
    result = sandbox.run("import typer", "python")
    assert result.verdict == "error" and "ModuleNotFoundError" in result.stderr


def test_python_paths_extra_site_packages(tmp_path: object) -> None:
    from pathlib import Path

    from codearena.sandbox import BwrapSandbox

    lib = Path(str(tmp_path)) / "lib"
    lib.mkdir()
    (lib / "extra_mod.py").write_text("VALUE = 7\n")
    lib.chmod(0o755)
    Path(str(tmp_path)).chmod(0o755)
    result = BwrapSandbox(python_paths=[str(lib)]).run(
        "import extra_mod; print(extra_mod.VALUE)", "py"
    )
    assert result.verdict == "passed", result.stderr
    assert result.stdout == "7\n"


async def test_arun(sandbox: Sandbox) -> None:
    result = await sandbox.arun("print(6*7)", "python")
    assert isinstance(result, ExecResult)
    assert result.stdout == "42\n"


def test_to_dict_has_contract_keys(sandbox: Sandbox) -> None:
    data = sandbox.run("print(1)", "python").to_dict()
    for key in (
        "verdict",
        "exit_code",
        "signal",
        "stdout",
        "stderr",
        "duration_ms",
        "tests_passed",
        "tests_total",
        "backend",
    ):
        assert key in data


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("py", "python"),
        ("Python3", "python"),
        ("js", "javascript"),
        ("node", "javascript"),
        ("sh", "bash"),
        ("shell", "bash"),
        ("c++", "cpp"),
        ("cxx", "cpp"),
        ("golang", "go"),
        ("java", "java"),
        ("c", "c"),
    ],
)
def test_normalize_language(tag: str, name: str) -> None:
    assert normalize_language(tag) == name


def test_unknown_language() -> None:
    with pytest.raises(UnsupportedLanguage, match="unknown language"):
        normalize_language("cobol")
    assert language_for_path("x/y.cpp") == "cpp"
    with pytest.raises(UnsupportedLanguage, match="--lang"):
        language_for_path("notes.txt")
