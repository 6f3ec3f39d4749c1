"""Settings: the config file's sandbox table, and what a configured environment offers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codearena.config import ConfigError, load_settings
from codearena.sandboxes import open_sandbox


def test_sandbox_python_paths_are_importable_read_only(env: Path) -> None:
    lib = env / "site"
    lib.mkdir()
    (lib / "teamlib.py").write_text("ANSWER = 42\n")
    (env / "codearena.toml").write_text(f'[sandbox]\npython_paths = ["{lib}"]\n')
    settings = load_settings()
    assert settings.sandbox.python_paths == (str(lib),)
    sandbox = open_sandbox(settings.sandbox)
    program = (
        "import teamlib\nprint(teamlib.ANSWER)\n"
        "try:\n    open(teamlib.__file__, 'a').write('x')\n    print('WROTE')\n"
        "except OSError:\n    print('read-only')\n"
    )
    result = sandbox.run(program, "python")
    assert result.verdict == "passed", result.stderr
    assert result.stdout.split() == ["42", "read-only"]
    assert (lib / "teamlib.py").read_text() == "ANSWER = 42\n"


def test_without_python_paths_only_the_standard_library(env: Path) -> None:
    sandbox = open_sandbox(load_settings().sandbox)
    result = sandbox.run("import json, sqlite3\nimport httpx\n", "python")
    assert result.verdict == "error" and "No module named 'httpx'" in result.stderr


def test_bad_sandbox_table(env: Path) -> None:
    (env / "codearena.toml").write_text('[sandbox]\npython_paths = ["/nonexistent/dir"]\n')
    with pytest.raises(ConfigError, match=r"line 2.*not a directory"):
        load_settings()
    (env / "codearena.toml").write_text('[sandbox]\nbackend = "bwrap"\nmemory = 3\n')
    with pytest.raises(ConfigError, match=r"line 3.*memory"):
        load_settings()


def test_sandbox_run_command_uses_the_configured_python_paths(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_cli import run

    lib = env / "site"
    lib.mkdir()
    (lib / "teamlib.py").write_text("ANSWER = 42\n")
    (env / "codearena.toml").write_text(f'[sandbox]\npython_paths = ["{lib}"]\n')
    (env / "main.py").write_text("import teamlib\nprint(teamlib.ANSWER)\n")
    code, out, _ = run(capsys, "sandbox", "run", str(env / "main.py"), "--json")
    assert code == 0 and json.loads(out)["stdout"] == "42\n"


def test_model_prices_and_context_must_be_numbers(env: Path) -> None:
    (env / "codearena.toml").write_text(
        '[[models]]\nid = "ollama:x"\nlabel = "X"\ncontext_length = "big"\n'
    )
    with pytest.raises(ConfigError, match=r"line 4.*context_length.*expected int"):
        load_settings()
    (env / "codearena.toml").write_text('[[models]]\nid = "ollama:x"\nprice_input_per_m = -1\n')
    with pytest.raises(ConfigError, match=r"price_input_per_m.*negative"):
        load_settings()


def test_a_config_table_named_like_a_later_preset_replaces_it(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A [providers.groq] declared before the preset existed keeps working; the first three
    built-in providers stay refused."""
    monkeypatch.delenv("GROQ_BASE_URL", raising=False)
    (env / "codearena.toml").write_text(
        '[providers.groq]\nbase_url = "http://127.0.0.1:8001/v1/"\napi_key_env = "MY_GROQ"\n'
    )
    groq = load_settings().providers["groq"]
    assert groq.base_url == "http://127.0.0.1:8001/v1" and groq.key_env == "MY_GROQ"
    (env / "codearena.toml").write_text('[providers.openai]\nbase_url = "http://x/v1"\n')
    with pytest.raises(ConfigError, match="is a built-in provider"):
        load_settings()


def test_a_cached_input_price_is_a_model_field(env: Path) -> None:
    (env / "codearena.toml").write_text(
        '[[models]]\nid = "deepseek:deepseek-chat"\nlabel = "DS"\nprice_input_per_m = 0.28\n'
        "price_output_per_m = 0.42\nprice_cached_input_per_m = 0.028\n"
    )
    (model,) = load_settings().models
    assert model.price_cached_input_per_m == 0.028
    (env / "codearena.toml").write_text(
        '[[models]]\nid = "deepseek:x"\nprice_cached_input_per_m = "cheap"\n'
    )
    with pytest.raises(ConfigError, match=r"line 3.*price_cached_input_per_m"):
        load_settings()


def test_the_request_body_limit_is_a_web_setting(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().web.max_request_mb == 32.0  # the default
    (env / "codearena.toml").write_text("[web]\nmax_request_mb = 1.5\n")
    assert load_settings().web.max_request_mb == 1.5
    # the public URL from the environment keeps the file's other [web] settings
    monkeypatch.setenv("CODEARENA_PUBLIC_URL", "https://arena.example.org")
    web = load_settings().web
    assert (web.public_url, web.max_request_mb) == ("https://arena.example.org", 1.5)
    for bad in ("0", "-2", '"32"', "true"):
        (env / "codearena.toml").write_text(f"[web]\nmax_request_mb = {bad}\n")
        with pytest.raises(ConfigError, match="max_request_mb"):
            load_settings()
