"""Untrusted text on a terminal: ``codearena.terminal`` and every command that prints such text.

Program output, model answers, survey answers, imported files and study names reach the
terminal with their control characters escaped (``\\x1b``, ``\\u202e``); ``--json`` output
decodes to exactly the original text and carries no raw control character either.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import codearena.terminal
from codearena.store import Store
from codearena.terminal import UNSAFE, escape_json, printable
from tests.survey.conftest import HEADERS, ROWS, make_study, write_csv
from tests.test_cli import run
from tests.test_cli import unique as fake_model

# What an attacker prints: a clipboard write (OSC 52), a window title, a carriage return over a
# fake verdict, erase-line + cursor-up over the real verdict, a one-character C1 CSI, Rich markup
# and an emoji code, and a bidi override.
OSC52 = "\x1b]52;c;SGVsbG8=\x07"
TITLE = "\x1b]0;owned\x07"
OVERWRITE = "verdict failed\rverdict passed"
CURSOR = "\x1b[2K\x1b[1Averdict passed"
C1 = "\x9b2J"
MARKUP = "[bold red]markup[/] :thumbs_up:"
BIDI = "\u202eevil\u202c"
HOSTILE = [OSC52, TITLE, OVERWRITE, CURSOR, C1, MARKUP, BIDI]
RAW = ("\x1b", "\x07", "\r", "\x9b", "\u202e", "\u202c")


def assert_clean(*outputs: str) -> None:
    """No raw control character of the attack reaches the terminal."""
    for output in outputs:
        for char in RAW:
            assert char not in output, f"raw {char!r} in {output!r}"
        assert not UNSAFE & set(output)


# --- codearena.terminal ------------------------------------------------------------------------


def test_every_c0_control_but_tab_and_newline_is_escaped() -> None:
    for cp in range(0x20):
        char = chr(cp)
        if char in "\t\n":
            assert printable(char) == char
        else:
            assert printable(char) == f"\\x{cp:02x}"
    assert printable("a\x1bb") == "a\\x1bb"
    assert printable("\r") == "\\x0d" and printable("\x07") == "\\x07"


def test_del_and_c1_controls_are_escaped() -> None:
    assert printable("\x7f") == "\\x7f"
    for cp in range(0x80, 0xA0):
        assert printable(chr(cp)) == f"\\x{cp:02x}"
    assert printable("\xa0\xe9\xff") == "\xa0\xe9\xff"  # NBSP and Latin-1 letters stay


@pytest.mark.parametrize(
    "cp",
    [
        *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
        *range(0x2066, 0x206A),  # LRI RLI FSI PDI
        0x200E,  # LRM
        0x200F,  # RLM
        0x061C,  # ALM
        0x200B,  # zero-width space
        *range(0x2060, 0x2065),  # word joiner, invisible operators
        *range(0x206A, 0x2070),  # deprecated format characters
        0xFEFF,  # byte order mark
        *range(0xFFF9, 0xFFFC),  # interlinear annotation
        0x2028,  # line separator
        0x2029,  # paragraph separator
        0xD800,  # a lone surrogate (cannot be encoded for the terminal)
        0xDFFF,
    ],
)
def test_bidi_and_invisible_formatting_characters_are_escaped(cp: int) -> None:
    assert printable(f"a{chr(cp)}b") == f"a\\u{cp:04x}b"


def test_ordinary_text_is_returned_unchanged() -> None:
    for text in [
        "",
        "plain ASCII: def f(x):\n\treturn x * 2  # {braces} [brackets] ~!@#$%^&*()",
        "Straße, façade, naïve, Ærøskøbing, Ελληνικά, русский, עברית, العربية, 中文, 日本語, 한국어",
        "emoji: 😀 🎉 👍🏽 👨‍👩‍👧 🏳️‍🌈 🇩🇪 ❤️ 🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # modifiers, ZWJ, flags, tags, VS16
        "combining: e\u0301 a\u0308; ZWNJ in Persian: \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        'backslashes stay: "\\x1b" and C:\\path\\to and \\n',
        "\xa0non-breaking\u2003em space\u3000ideographic",
        "line one\nline two\n\n\tindented\n",
    ]:
        assert printable(text) is text or printable(text) == text
        assert printable(text) == text


def test_no_unsafe_character_survives_and_escapes_are_ascii() -> None:
    every = "".join(chr(cp) for cp in range(0x30000))
    shown = printable(every)
    assert not UNSAFE & set(shown)
    assert shown.count("\\x") + shown.count("\\u") >= len(UNSAFE)
    for cp in UNSAFE:
        escaped = printable(chr(cp))
        assert escaped.isascii() and escaped.isprintable() and escaped.startswith("\\")
        # the escape is the code point as Python writes it in a string literal
        assert ast.literal_eval(f'"{escaped}"') == chr(cp)


def test_large_outputs_are_handled() -> None:
    clean = "ordinary program output, line after line\n" * 100_000
    assert printable(clean) is clean
    dense = "\x1b[31mred\x1b[0m\r\n" * 50_000
    shown = printable(dense)
    assert shown.count("\\x1b") == 100_000 and "\x1b" not in shown


def test_escape_json_keeps_the_value_exact() -> None:
    # Each character on its own: a high surrogate escape followed by a low one would decode as
    # one astral character (JSON's rule, whatever writes the escapes).
    value = {"text": " ".join(chr(cp) for cp in sorted(UNSAFE)) + " ok é 😀", "n": [1, None]}
    for ensure_ascii in (False, True):
        dumped = json.dumps(value, indent=2, ensure_ascii=ensure_ascii)
        safe = escape_json(dumped)
        assert json.loads(safe) == value
        assert not UNSAFE & set(safe)
    dumped = json.dumps({"a": "\x9b\u202e\x7f"}, ensure_ascii=False)
    assert "\x9b" in dumped, "json.dumps leaves C1 raw without ensure_ascii"
    assert escape_json(dumped) == '{"a": "\\u009b\\u202e\\u007f"}'
    assert json.dumps("\x1b\x07\r") == '"\\u001b\\u0007\\r"'  # C0: json.dumps escapes them
    plain = json.dumps({"a": "é 😀"}, ensure_ascii=False)
    assert escape_json(plain) is plain


def test_terminal_is_a_leaf_module() -> None:
    tree = ast.parse(Path(codearena.terminal.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(not a.name.startswith("codearena") for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("codearena")


# --- codearena sandbox run ---------------------------------------------------------------------

PROGRAM = (
    "import sys\n"
    + "".join(f"sys.stdout.write({text!r} + '\\n')\n" for text in HOSTILE[:-1])
    + f"sys.stderr.write({BIDI!r} + '\\n')\n"
)
EXPECTED_STDOUT = "".join(text + "\n" for text in HOSTILE[:-1])


def _codearena(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS")
    }
    return subprocess.run(
        [sys.executable, "-m", "codearena", *args],
        capture_output=True,
        text=True,
        env={**environ, **env},
        timeout=120,
        check=False,
    )


@pytest.fixture
def hostile_program(env: Path) -> Path:
    path = env / "hostile.py"
    path.write_text(PROGRAM, encoding="utf-8")
    return path


def test_sandbox_run_shows_program_output_escaped(hostile_program: Path) -> None:
    done = _codearena(["sandbox", "run", str(hostile_program)])
    assert done.returncode == 0, done.stderr
    assert_clean(done.stdout, done.stderr)
    for text in HOSTILE:
        assert printable(text) in done.stdout
    assert "\\x1b]52;c;SGVsbG8=\\x07" in done.stdout
    assert "verdict failed\\x0dverdict passed" in done.stdout
    assert "\\x1b[2K\\x1b[1Averdict passed" in done.stdout
    assert "\\x9b2J" in done.stdout and "\\u202eevil\\u202c" in done.stdout
    assert "[bold red]markup[/] :thumbs_up:" in done.stdout  # neither markup nor an emoji code
    assert re.search(r"^ ?verdict +passed", done.stdout, re.M)


def test_sandbox_run_on_a_colour_terminal_emits_only_colour_codes(hostile_program: Path) -> None:
    done = _codearena(
        ["sandbox", "run", str(hostile_program)],
        FORCE_COLOR="1",
        TERM="xterm-256color",
        COLUMNS="200",
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" in done.stdout, "Rich styles the verdict on a terminal"
    # Every escape sequence left is Rich's own SGR (colour and bold): ESC [ digits ; ... m.
    assert re.sub(r"\x1b\[[0-9;]*m", "", done.stdout).count("\x1b") == 0
    for char in ("\x07", "\r", "\x9b", "\u202e"):
        assert char not in done.stdout
    assert "\\x1b]52;c;SGVsbG8=\\x07" in done.stdout


def test_sandbox_run_json_is_exact(hostile_program: Path) -> None:
    done = _codearena(["sandbox", "run", str(hostile_program), "--json"])
    assert done.returncode == 0, done.stderr
    assert_clean(done.stdout)
    data = json.loads(done.stdout)
    assert data["stdout"] == EXPECTED_STDOUT
    assert data["stderr"].endswith(BIDI + "\n")


def test_sandbox_errors_echo_their_input_as_written(env: Path, hostile_program: Path) -> None:
    done = _codearena(["sandbox", "run", str(hostile_program), "--lang", "[red]zz\x1b"])
    assert done.returncode == 2
    assert_clean(done.stdout, done.stderr)
    assert "error: unknown language '[red]zz\\x1b'" in done.stderr  # not read as markup
    program = env / "x\x1b]0;t\x07.unknown"
    program.write_text("print(1)", encoding="utf-8")
    done = _codearena(["sandbox", "run", str(program)])
    assert done.returncode == 2 and "error:" in done.stderr
    assert_clean(done.stdout, done.stderr)


# --- codearena generate and history ------------------------------------------------------------

ANSWER = " ".join(HOSTILE) + " &#x202e;decoded&#x202c;"


def test_generate_and_history_show_the_answer_escaped(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = fake_model("ok")
    code, out, err = run(capsys, "generate", f"ECHO: {ANSWER}", "--plain", "-m", model)
    assert code == 0, err
    assert_clean(out, err)
    for token in ("\\x1b]52;c;SGVsbG8=\\x07", "\\x1b]0;owned\\x07", "failed\\x0dverdict"):
        assert token in out
    assert "\\x9b2J" in out and "\\u202eevil\\u202c" in out
    assert "\\u202edecoded\\u202c" in out, "character references Markdown decodes are escaped"

    code, out, err = run(capsys, "generate", f"ECHO: {ANSWER}", "--plain", "-m", model, "--json")
    assert code == 0, err
    assert_clean(out)
    result = json.loads(out)["results"][0]
    assert result["text"] == ANSWER

    code, out, err = run(capsys, "history")
    assert code == 0, err
    assert_clean(out, err)
    assert "\\x1b]0;owned\\x07" in out  # the prompt, escaped (the table crops long words)

    code, out, _ = run(capsys, "history", "--json")
    assert_clean(out)
    tasks = json.loads(out)
    assert tasks[0]["prompt"] == f"ECHO: {ANSWER}"
    assert tasks[0]["generations"][0]["text"] == ANSWER


def test_generate_shows_links_with_their_address(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = "See [https://docs.python.org](https://evil.example/steal)."
    code, out, _ = run(capsys, "generate", f"ECHO: {answer}", "--plain", "-m", fake_model("ok"))
    assert code == 0 and "evil.example/steal" in out and "\x1b]8;" not in out


# --- codearena survey --------------------------------------------------------------------------


@pytest.fixture
def db(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    url = f"sqlite:///{env / 'cli.db'}"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    store = Store(url)
    yield store
    store.dispose()


def test_survey_free_text_and_headers_are_escaped(
    db: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = make_study(db, "hostile survey")
    answer = f"great tool {OSC52}{CURSOR} {C1} {BIDI}"
    rows = [[*row, "x"] for row in ROWS]
    rows[0][15] = answer
    export = write_csv(tmp_path / "form.csv", [*HEADERS, f"Notes {TITLE}"], rows)
    code, out, err = run(capsys, "survey", "import", str(export), "--study", study)
    assert code == 0, err
    assert_clean(out, err)
    assert "Notes \\x1b]0;owned\\x07" in out  # the unmatched column's header

    code, out, err = run(capsys, "survey", "summary", "--study", study)
    assert code == 0, err
    assert_clean(out, err)
    assert "great tool \\x1b]52;c;SGVsbG8=\\x07\\x1b[2K\\x1b[1Averdict passed" in out
    assert "\\x9b2J \\u202eevil\\u202c" in out

    code, out, _ = run(capsys, "survey", "summary", "--study", study, "--json")
    assert_clean(out)
    answers = [a for q in json.loads(out)["questions"] for a in q.get("answers") or []]
    assert answer in answers


# --- codearena coding codebook ----------------------------------------------------------------


def test_codebook_export_is_exact_in_a_pipe_and_escaped_on_a_terminal(
    db: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.coding.seed import make_study as make_coding_study

    study = make_coding_study(db, name="coded")
    book = tmp_path / "book.csv"
    code_name = f"fast{TITLE}{C1}"
    book.write_text(f"question,code,concept,category\nq14,{code_name},{BIDI},\n", "utf-8")
    code, out, err = run(capsys, "coding", "codebook", "import", str(book), "--study", study)
    assert code == 0, err
    code, out, _ = run(capsys, "coding", "codebook", "export", "--study", study, "--out", "-")
    assert code == 0 and f"q14,{code_name},{BIDI}," in out  # a pipe gets the exact CSV
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = run(capsys, "coding", "codebook", "export", "--study", study, "--out", "-")
    assert code == 0
    assert_clean(out)
    assert f"q14,{printable(code_name)},{printable(BIDI)}," in out

    bad = tmp_path / "bad.csv"
    bad.write_text(f"question,code,concept,category\nq99{OSC52},x,,\n", "utf-8")
    code, out, err = run(capsys, "coding", "codebook", "import", str(bad), "--study", study)
    assert code == 2 and "nothing was imported" in err
    assert_clean(out, err)


# --- leaderboard, votes import and study list ---------------------------------------------------


def test_leaderboard_and_votes_errors_escape_model_names(
    db: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = make_study(db, "arena")
    evil = f"evil{TITLE}{C1}/model"
    votes = tmp_path / "votes.csv"
    votes.write_text(f'model_a,model_b,winner\nm/a,"{evil}",b\nm/a,"{evil}",b\n', "utf-8")
    code, out, err = run(capsys, "votes", "import", str(votes), "--study", study)
    assert code == 0, err
    code, out, err = run(capsys, "leaderboard", "--study", study, "--rounds", "20")
    assert code == 0, err
    assert_clean(out, err)
    assert "evil\\x1b]0;owned\\x07\\x9b2J/model" in out
    code, out, _ = run(capsys, "leaderboard", "--study", study, "--rounds", "20", "--json")
    assert_clean(out)
    assert evil in {row["model"] for row in json.loads(out)}

    bad = tmp_path / "bad.csv"
    bad.write_text(f"model_a,model_b,winner\nm/a,m/b,{OSC52}\n", "utf-8")
    code, out, err = run(capsys, "votes", "import", str(bad), "--study", study)
    assert code == 2
    assert_clean(out, err)
    assert "nothing was imported" in err


def test_study_list_escapes_names_and_json_is_exact(
    db: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"pilot {OSC52} {C1} {BIDI} \x7f"
    make_study(db, name)
    code, out, err = run(capsys, "study", "list")
    assert code == 0, err
    assert_clean(out, err)
    assert printable(name) in out
    code, out, _ = run(capsys, "study", "list", "--json")
    assert_clean(out)  # C1, DEL and bidi controls are \\uXXXX escapes in the JSON text
    assert [row["name"] for row in json.loads(out)] == [name]


def test_sandbox_run_saves_the_images_and_shows_their_names_escaped(env: Path) -> None:
    program = env / "plot.py"
    program.write_text(
        "open('\\x1b]0;pwned\\x07title.svg', 'w').write('<svg></svg>')\n"
        "open('ok.svg', 'w').write('<svg>ok</svg>')\n",
        encoding="utf-8",
    )
    out_dir = env / "images"
    done = _codearena(["sandbox", "run", str(program), "--artifacts-dir", str(out_dir)])
    assert done.returncode == 0, done.stderr
    assert_clean(done.stdout, done.stderr)
    assert "\\x1b]0;pwned\\x07title.svg (11 bytes)" in done.stdout
    assert (out_dir / "ok.svg").read_text() == "<svg>ok</svg>"
    assert (out_dir / "_]0;pwned_title.svg").read_text() == "<svg></svg>"  # no escape in a name
    again = _codearena(["sandbox", "run", str(program), "--artifacts-dir", str(out_dir)])
    assert again.returncode == 2 and "cannot write the images" in again.stderr  # never overwrites
