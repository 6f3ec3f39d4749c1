"""``codearena plan``: the command around ``stats.planning.plan_votes``."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from codearena.analysis.cli import plan_command
from codearena.stats.planning import plan_votes

runner = CliRunner()
app = typer.Typer()
app.command("plan")(plan_command)
app.command("other")(lambda: None)


def test_plan_json_is_the_stats_plan() -> None:
    args = ["plan", "--models", "5", "--target-ci-width", "90", "--json", "--seed", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out == plan_votes(5, 90.0, seed=2).to_dict()
    assert out["models"] == 5 and out["target_ci_width"] == 90.0
    assert out["votes_needed"] > 0 and out["simulated"]


def test_plan_text_and_errors() -> None:
    result = runner.invoke(app, ["plan", "--models", "3", "--target-ci-width", "100"])
    assert result.exit_code == 0, result.output
    needed = plan_votes(3, 100.0).votes_needed
    assert f"about {needed:,} votes" in result.stdout and "uniform pairing" in result.stdout
    zero = runner.invoke(app, ["plan", "--models", "3", "--target-ci-width", "0"])
    assert zero.exit_code == 2 and "positive" in zero.stderr
    one = runner.invoke(app, ["plan", "--models", "1", "--target-ci-width", "50"])
    assert one.exit_code == 2
