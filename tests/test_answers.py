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
        ("```js\nconsole.log(1)\n```", "Kotlin", None, ("javascript", 0)),  # unknown: the answer
        ("```js\nconsole.log(1)\n```", "Rust", None, ("rust", None)),  # known: no block fits
        ("```golang\npackage main\n```", None, None, ("go", 0)),  # the tag, canonical
        ("```\nconsole.log(1);\n```", None, None, ("javascript", 0)),  # the guess
        ("```\nx = 1\n```\n```cpp\nint x;\n```", None, None, ("cpp", 0)),  # the answer's
        ("```kotlin\nfun main() {}\n```", None, None, ("python", None)),  # nothing runnable
        ("```rust\nfn main() {}\n```", None, None, ("rust", 0)),
        ("```c#\nclass P {}\n```", None, None, ("csharp", 0)),
        ("```cs\nclass P {}\n```", None, None, ("csharp", 0)),
        ("```ts\nlet x: number = 1;\n```", None, None, ("typescript", 0)),
        ("```rb\nputs 1\n```", None, None, ("ruby", 0)),
        ("```octave\ndisp(1)\n```", None, None, ("matlab", 0)),
        ("```m\ndisp(1)\n```", None, None, ("matlab", 0)),
        ("```php\n<?php echo 1;\n```", None, None, ("php", 0)),
        ("```\nx = 1\n```\n```rs\nfn main() {}\n```", None, None, ("rust", 0)),
        ("```py\nprint(1)\n```\n```ruby\nputs 1\n```", "Matlab", None, ("matlab", None)),
        ("```py\nprint(1)\n```\n```ruby\nputs 1\n```", "Ruby", None, ("ruby", 1)),
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
        ("ts", "ts"),
        ("rust", "rs"),
        ("rs", "rs"),
        ("c#", "cs"),
        ("csharp", "cs"),
        ("php", "php"),
        ("ruby", "rb"),
        ("matlab", "m"),
        ("octave", "m"),
        ("kotlin", "kt"),
        ("sql", "sql"),
        (None, "txt"),
        ("brainfuck", "txt"),
    ],
)
def test_file_extension_from_the_language_table(language: str | None, extension: str) -> None:
    assert file_extension(language) == extension


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<?php\n$n = (int)fgets(STDIN);\necho $n * 2;\n", "php"),
        ("using System;\nclass P { static void Main() { Console.WriteLine(1); } }", "csharp"),
        (
            'use std::io;\nfn main() {\n    let mut s = String::new();\n    println!("{}", s);\n}',
            "rust",
        ),
        ("n = gets.to_i\nputs n * 2\n[1, 2].each do |x|\n  puts x\nend", "ruby"),
        ("% read\nn = str2num(fgetl(stdin));\ndisp(n * 2);", "matlab"),
        (
            'const n: number = parseInt(require("fs").readFileSync(0, "utf8"));\nconsole.log(n);',
            "typescript",
        ),
        (
            'const n = parseInt(require("fs").readFileSync(0, "utf8"));\nconsole.log(n);',
            "javascript",
        ),
        ("def f(x):\n    return x\nprint(f(2))", "python"),
        ('#include <stdio.h>\nint main(void) { printf("%d", 1); }', "c"),
    ],
)
def test_untagged_blocks_of_every_language_are_guessed(source: str, expected: str) -> None:
    blocks = [CodeBlock(None, source)]
    assert answer_language(blocks) == expected
    program = select_program(blocks)
    assert program is not None and program.language == expected
