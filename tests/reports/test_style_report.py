"""``codearena report --bootstrap`` and ``--control``: the report says which were used."""

from __future__ import annotations

from pathlib import Path

import pytest

from codearena.reports import build_report
from codearena.store import Store
from tests.analysis.data import make_study


def test_report_says_which_bootstrap_and_control(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'style.db'}")
    study_id = make_study(store)
    plain = build_report(store, study_id, tmp_path / "plain", "md", rounds=50).path.read_text()
    assert "95% intervals resample participants, each with all of their votes." in plain
    methods = plain.split("## Methods", 1)[1]
    assert "that resampled participants, each with all of their votes" in methods
    assert "style control" not in plain
    styled = build_report(
        store,
        study_id,
        tmp_path / "styled",
        "md",
        rounds=50,
        bootstrap="votes",
        control="style+objective",
    ).path.read_text()
    assert "95% intervals resample single votes." in styled
    assert "### Style control (style+objective)" in styled
    assert "on 2 battles with both answers stored (3 imported votes" in styled
    assert "| tests_passed |" in styled and "never differ" in styled  # every answer alike
    methods = styled.split("## Methods", 1)[1]
    assert "that resampled single votes" in methods
    assert "Ratings were also fitted with style control (style+objective)" in methods
    assert "3 imported votes (no stored answers)" in methods
    html = build_report(
        store, study_id, tmp_path / "html", "html", rounds=50, control="style"
    ).path.read_text()
    assert "<h3>Style control (style)</h3>" in html and "<td>bold</td>" in html


def test_report_command_options(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from codearena.config import load_settings
    from tests.test_cli import run

    store = Store(load_settings().database_url)
    study_id = make_study(store, name="Style CLI study")
    args = ["report", "--study", study_id, "--out", str(env / "r"), "--rounds", "20"]
    code, out, err = run(capsys, *args, "--bootstrap", "votes", "--control", "style")
    assert code == 0, err
    assert "intervals resample votes, style control style" in out
    assert "Style control (style)" in (env / "r" / "report.html").read_text()
    code, _, err = run(capsys, *args, "--control", "taste")
    assert code == 2 and "--control" in err
    code, _, err = run(capsys, *args, "--bootstrap", "people")
    assert code == 2 and "--bootstrap" in err
