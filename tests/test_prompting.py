from __future__ import annotations

import itertools

import pytest

from codearena.answers import CodeBlock, extract_code, guess_language
from codearena.prompting import (
    DEFAULT_TEMPERATURE,
    GUIDELINES,
    REQUIREMENTS,
    SYSTEM_MESSAGE,
    TONES,
    PromptOptions,
    build_messages,
    normalize_requirement,
    normalize_tone,
)

TASK = "Write a function that returns the n-th Fibonacci number."


# --- options and constants ---------------------------------------------------------------


def test_constants_match_the_study() -> None:
    assert REQUIREMENTS == (
        "Generate code",
        "Generate code with error handling",
        "Generate code with explanation",
        "Generate 3 codes",
        "Generate code (as short as possible)",
    )
    assert TONES == ("Professional", "Academic", "Direct", "Helpful", "Friendly")
    assert DEFAULT_TEMPERATURE == 0.5
    assert "advanced programming assistant" in SYSTEM_MESSAGE


def test_default_options() -> None:
    options = PromptOptions()
    assert (options.requirement, options.tone, options.language, options.prompt_style) == (
        "Generate code",
        "Professional",
        None,
        "study",
    )


def test_options_are_normalised_case_insensitively() -> None:
    options = PromptOptions(requirement="generate 3 CODES", tone="friendly", language="  Go ")
    assert options.requirement == "Generate 3 codes"
    assert options.tone == "Friendly"
    assert options.language == "Go"
    assert normalize_requirement("generate code as short as possible") == REQUIREMENTS[4]
    assert normalize_tone("ACADEMIC") == "Academic"
    assert PromptOptions(language="   ").language is None


def test_invalid_tone_lists_choices() -> None:
    with pytest.raises(ValueError) as info:
        PromptOptions(tone="Sarcastic")
    message = str(info.value)
    assert "Sarcastic" in message
    for tone in TONES:
        assert tone in message


def test_invalid_requirement_lists_choices() -> None:
    with pytest.raises(ValueError) as info:
        PromptOptions(requirement="Generate tests")
    for requirement in REQUIREMENTS:
        assert requirement in str(info.value)


def test_invalid_prompt_style_rejected() -> None:
    with pytest.raises(ValueError, match="plain"):
        PromptOptions(prompt_style="fancy")  # type: ignore[arg-type]


def test_options_are_frozen() -> None:
    options = PromptOptions()
    with pytest.raises(AttributeError):
        options.tone = "Direct"  # type: ignore[misc]


# --- build_messages ----------------------------------------------------------------------


@pytest.mark.parametrize(("requirement", "tone"), list(itertools.product(REQUIREMENTS, TONES)))
def test_study_prompt_for_every_combination(requirement: str, tone: str) -> None:
    messages = build_messages(TASK, PromptOptions(requirement, tone, "Rust"))
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == SYSTEM_MESSAGE
    user = messages[1]["content"]
    assert TASK in user
    assert f"Requirement: {requirement}" in user
    assert f"Tone: {tone}" in user
    assert "Output language: Rust" in user
    assert "```rust" in user
    for guideline in GUIDELINES:
        assert f"- {guideline}" in user
    assert "explanation" in user and "then give the code" in user
    assert user.index(TASK) > user.index(GUIDELINES[-1])


def test_study_prompt_guidelines_cover_the_study_bullets() -> None:
    user = build_messages(TASK, PromptOptions())[1]["content"].lower()
    for phrase in (
        "accurate and efficient",
        "comments",
        "best practices",
        "libraries",
        "dependencies",
    ):
        assert phrase in user
    assert "fenced" in user and "language tag" in user


def test_three_codes_asks_for_variant_headings() -> None:
    user = build_messages(TASK, PromptOptions("Generate 3 codes"))[1]["content"]
    assert "exactly three" in user
    for n in (1, 2, 3):
        assert f"### Variant {n}" in user
    other = build_messages(TASK, PromptOptions("Generate code"))[1]["content"]
    assert "### Variant" not in other


def test_requirements_produce_distinct_instructions() -> None:
    users = {build_messages(TASK, PromptOptions(r))[1]["content"] for r in REQUIREMENTS}
    assert len(users) == len(REQUIREMENTS)


def test_no_language_lets_model_choose() -> None:
    user = build_messages(TASK, PromptOptions())[1]["content"]
    assert "Output language: the most suitable" in user


def test_plain_prompt_style_sends_task_verbatim() -> None:
    task = "  fizzbuzz in C, please\n\nno explanation  "
    messages = build_messages(task, PromptOptions(tone="Friendly", prompt_style="plain"))
    assert messages == [{"role": "user", "content": task}]


def test_empty_task_rejected() -> None:
    with pytest.raises(ValueError):
        build_messages("   \n", PromptOptions())


# --- extract_code ------------------------------------------------------------------------


def test_single_tagged_block() -> None:
    reply = "Here you go:\n\n```python\ndef f(n):\n    return n\n```\n\nDone."
    assert extract_code(reply) == [CodeBlock("python", "def f(n):\n    return n")]


def test_untagged_block() -> None:
    blocks = extract_code("Code:\n```\nx = 1\nprint(x)\n```\n")
    assert len(blocks) == 1
    assert blocks[0].language is None
    assert blocks[0].source == "x = 1\nprint(x)"
    assert blocks[0].complete


def test_several_blocks_in_order_with_languages() -> None:
    reply = (
        "Install:\n```bash\npip install requests\n```\n"
        "Then:\n```Python\nimport requests\n```\n"
        'And:\n```js title="app.js"\nconsole.log(1);\n```\n'
        "Finally:\n```c++\nint main() {}\n```\n"
    )
    blocks = extract_code(reply)
    assert [b.language for b in blocks] == ["bash", "python", "js", "c++"]
    assert [b.source for b in blocks] == [
        "pip install requests",
        "import requests",
        "console.log(1);",
        "int main() {}",
    ]


def test_tilde_fence() -> None:
    blocks = extract_code("~~~ruby\nputs 1\n```\nstill ruby\n~~~\n")
    assert blocks == [CodeBlock("ruby", "puts 1\n```\nstill ruby")]


def test_four_backtick_fence_with_inner_fence() -> None:
    reply = "````markdown\n# Title\n```python\nprint(1)\n```\n````\nafter"
    blocks = extract_code(reply)
    assert len(blocks) == 1
    assert blocks[0].language == "markdown"
    assert blocks[0].source == "# Title\n```python\nprint(1)\n```"


def test_closing_fence_must_use_same_character_and_length() -> None:
    blocks = extract_code("````sh\necho a\n```\n~~~~\necho b\n`````\n")
    assert blocks == [CodeBlock("sh", "echo a\n```\n~~~~\necho b")]


def test_indented_fence_in_list_item() -> None:
    reply = (
        "1. Create the file:\n"
        "   ```python\n"
        "   def add(a, b):\n"
        "       return a + b\n"
        "   ```\n"
        "2. Run it.\n"
    )
    blocks = extract_code(reply)
    assert blocks == [CodeBlock("python", "def add(a, b):\n    return a + b")]


def test_inline_triple_backticks_are_not_a_fence() -> None:
    assert extract_code("Use ```x``` for fences, as in prose.") == []


def test_no_fences_but_code() -> None:
    reply = "import sys\n\n\ndef main():\n    print(sys.argv)\n\n\nmain()\n"
    blocks = extract_code(reply)
    assert len(blocks) == 1
    assert blocks[0].language is None
    assert blocks[0].source.startswith("import sys")
    assert blocks[0].source.endswith("main()")


def test_no_fences_code_with_short_intro_line() -> None:
    reply = "Here is the code:\n\n#include <stdio.h>\nint main(void) {\n  return 0;\n}\n"
    blocks = extract_code(reply)
    assert len(blocks) == 1
    assert blocks[0].source.startswith("#include <stdio.h>")
    assert blocks[0].source.endswith("}")


def test_no_fences_prose() -> None:
    reply = (
        "To solve this problem you can use dynamic programming.\n"
        "First, store the previous two values.\n"
        "Then, iterate from two up to n, adding them together.\n"
        "This runs in linear time and constant memory."
    )
    assert extract_code(reply) == []


def test_prose_mentioning_one_code_line_is_not_code() -> None:
    reply = (
        "You should first install the library with pip.\n"
        "import numpy as np\n"
        "After that, the array functions are available to your program.\n"
        "Remember that numpy arrays have a fixed element type.\n"
        "That is all you need for this task, good luck."
    )
    assert extract_code(reply) == []


def test_empty_reply() -> None:
    assert extract_code("") == []


def test_unterminated_fence_from_cut_stream() -> None:
    reply = "Sure:\n```python\ndef f():\n    return 1\n\n"
    blocks = extract_code(reply)
    assert blocks == [CodeBlock("python", "def f():\n    return 1", complete=False)]
    assert blocks[0].to_dict()["complete"] is False


def test_terminated_then_unterminated() -> None:
    blocks = extract_code("```go\npackage main\n```\ntext\n```go\nfunc main() {")
    assert [b.complete for b in blocks] == [True, False]
    assert blocks[1].source == "func main() {"


def test_crlf_line_endings() -> None:
    reply = "Intro\r\n```python\r\nx = 1\r\ny = 2\r\n```\r\nOutro\r\n"
    blocks = extract_code(reply)
    assert blocks == [CodeBlock("python", "x = 1\ny = 2")]
    assert "\r" not in blocks[0].source


def test_three_variants() -> None:
    reply = (
        "Three ways to do it.\n\n"
        "### Variant 1\nIterative.\n```python\ndef fib(n):\n    a, b = 0, 1\n```\n\n"
        "### Variant 2: recursive\n```python\n# recursive\ndef fib(n):\n    return n\n```\n\n"
        "### Variant 3\nWith a cache.\n```python\nfrom functools import cache\n```\n"
    )
    blocks = extract_code(reply)
    assert [b.variant for b in blocks] == [1, 2, 3]
    assert blocks[1].source == "# recursive\ndef fib(n):\n    return n"


def test_code_comment_inside_fence_does_not_end_variant() -> None:
    reply = "### Variant 1\n```python\n# step one\nx = 1\n```\n```python\ny = 2\n```\n"
    assert [b.variant for b in extract_code(reply)] == [1, 1]


def test_blocks_outside_variants_have_no_variant() -> None:
    reply = (
        "```bash\npip install x\n```\n"
        "## Variant 1\n```py\na = 1\n```\n"
        "## Summary\n```py\nb = 2\n```\n"
    )
    assert [b.variant for b in extract_code(reply)] == [None, 1, None]


def test_bold_variant_headings() -> None:
    reply = "**Variant 1**\n```c\nint a;\n```\n**Variant 2:**\n```c\nint b;\n```\n"
    assert [b.variant for b in extract_code(reply)] == [1, 2]


def test_to_dict() -> None:
    block = CodeBlock("python", "x = 1", variant=2)
    assert block.to_dict() == {
        "language": "python",
        "source": "x = 1",
        "variant": 2,
        "complete": True,
    }


# --- guess_language ----------------------------------------------------------------------


def test_guess_language_prefers_tag_then_fallback() -> None:
    assert guess_language(CodeBlock("rust", "fn main() {}"), "Python") == "rust"
    assert guess_language(CodeBlock(None, "x"), " Python ") == "python"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import os\n\ndef main():\n    print(os.getcwd())\n", "python"),
        ("const f = (x) => x + 1;\nconsole.log(f(1));\n", "javascript"),
        ("function add(a, b) {\n  return a + b;\n}\n", "javascript"),
        ('#include <stdio.h>\nint main(void) { printf("hi"); }\n', "c"),
        ("#include <iostream>\nint main() { std::cout << 1; }\n", "cpp"),
        ("public class Main {\n  public static void main(String[] a) {}\n}\n", "java"),
        ("hello there", None),
    ],
)
def test_guess_language_heuristics(source: str, expected: str | None) -> None:
    assert guess_language(CodeBlock(None, source), None) == expected


def test_no_fences_code_between_short_intro_and_outro() -> None:
    reply = "Use a dict:\n\nd = {}\nfor k in keys:\n    d[k] = 1\n\nThis runs in linear time."
    assert extract_code(reply) == [CodeBlock(None, "d = {}\nfor k in keys:\n    d[k] = 1")]
