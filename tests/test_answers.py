"""The one language rule and program selection of ``codearena.answers``."""

from __future__ import annotations

import pytest

from codearena.answers import (
    CodeBlock,
    answer_language,
    extract_code,
    file_extension,
    program_language,
    select_program,
    stored_blocks,
)


@pytest.mark.parametrize(
    ("reply", "task_language", "test_kind", "expected"),
    [
        ("```js\nconsole.log(1)\n```", "Python", None, ("python", None)),  # task language first
        ("```js\nconsole.log(1)\n```", None, "python", ("python", None)),  # then Python tests
        ("```js\nconsole.log(1)\n```", "Rust", None, ("javascript", 0)),  # unknown: the answer
        ("```golang\npackage main\n```", None, None, ("go", 0)),  # the tag, canonical
        ("```\nconsole.log(1);\n```", None, None, ("javascript", 0)),  # the guess
        ("```\nx = 1\n```\n```cpp\nint x;\n```", None, None, ("cpp", 0)),  # the answer's
        ("```rust\nfn main() {}\n```", None, None, ("python", None)),  # nothing runnable
        ("no code here", None, None, ("python", None)),
    ],
)
def test_language_rule(
    reply: str,
    task_language: str | None,
    test_kind: str | None,
    expected: tuple[str, int | None],
) -> None:
    blocks = extract_code(reply)
    language = answer_language(blocks, task_language=task_language, test_kind=test_kind)
    program = select_program(blocks, task_language=task_language, test_kind=test_kind)
    assert (language, program.block_index if program else None) == expected
    if program is not None:
        assert program.language == language


def test_a_chosen_block_keeps_its_own_tag() -> None:
    blocks = extract_code(
        "```py\nprint(1)\n```\n```js\nconsole.log(1)\n```\n```rust\nfn x(){}\n```"
    )
    assert [program_language(blocks, i) for i in range(3)] == ["python", "javascript", "rust"]
    assert program_language(blocks, 1, test_kind="python") == "python"
    assert select_program(blocks, block_index=5) is None


def test_entry_point_and_prefix() -> None:
    blocks = extract_code(
        "```python\nimport os\n```\n```python\ndef add(a, b):\n    return a + b\n```"
    )
    program = select_program(blocks, task_language="python", entry_point="add", prefix="# p\n")
    assert program is not None and program.block_index == 1
    assert program.source == "# p\n\n\ndef add(a, b):\n    return a + b\n"
    body = select_program(
        extract_code("    return a + b\n"), entry_point="add", prefix="def add(a, b):\n"
    )
    assert body is not None and body.source == "def add(a, b):\n    return a + b\n"


def test_stored_blocks_round_trip_and_are_not_re_extracted() -> None:
    block = CodeBlock("python", "x = 1", variant=2, complete=False)
    assert stored_blocks([block.to_dict()], "```js\nignored\n```") == [block]
    assert stored_blocks([], "```js\nignored\n```") == []
    assert stored_blocks(None, "```js\nconsole.log(1)\n```") == [CodeBlock("js", "console.log(1)")]


@pytest.mark.parametrize(
    ("language", "extension"),
    [
        ("python", "py"),
        ("py", "py"),
        ("js", "js"),
        ("c++", "cpp"),
        ("golang", "go"),
        ("sh", "sh"),
        ("java", "java"),
        ("typescript", "ts"),
        ("rust", "rs"),
        (None, "txt"),
        ("brainfuck", "txt"),
    ],
)
def test_file_extension_from_the_language_table(language: str | None, extension: str) -> None:
    assert file_extension(language) == extension
