"""The ``codearena`` command: each command is a thin call into the modules below it.

Every top-level command is listed in :data:`COMMANDS` and imported only when it runs (or shows
its own help), so ``codearena --help`` imports Typer and this package alone, and each command
imports what it uses (see :mod:`codearena.cli.lazy`). The commands of this package:
``info`` and ``models`` (:mod:`~codearena.cli.info`), ``generate``
(:mod:`~codearena.cli.generate`), ``bench`` (:mod:`~codearena.cli.bench`), ``history`` and
``db`` (:mod:`~codearena.cli.store`), ``serve`` (:mod:`~codearena.cli.serve`); packages with
commands of their own keep them in their ``cli.py``.

Errors: a :class:`~codearena.errors.CodearenaError` raised anywhere below a command is caught
once, in :func:`main`, printed as one ``error: ...`` line on stderr and turned into its exit
status; :func:`user_error` is the one place where an error from outside that tree (the
sandbox's ``SandboxError``) is translated.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from codearena.cli.lazy import LazyCommand, LazyGroup
from codearena.errors import CodearenaError

if TYPE_CHECKING:
    from codearena.sandbox import Sandbox

__all__ = ["COMMANDS", "app", "main", "user_error"]

COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand(
        "export",
        "codearena.exports.cli:export_command",
        "Export one study's tables (participants pseudonymised) and a manifest.json.",
    ),
    LazyCommand(
        "leaderboard",
        "codearena.analysis.cli:leaderboard_command",
        "The study's arena leaderboard: Bradley-Terry ratings with 95% bootstrap intervals.",
    ),
    LazyCommand(
        "report",
        "codearena.reports.cli:report_command",
        "Write a study's report: tables, figures (PNG and SVG) and a methods paragraph.",
    ),
    LazyCommand(
        "import",
        "codearena.exports.cli:import_command",
        "Recreate an exported study in the configured database (one transaction).",
    ),
    LazyCommand(
        "info",
        "codearena.cli.info:info",
        "Version, config file, database URL (password masked) and configured providers.",
    ),
    LazyCommand(
        "generate",
        "codearena.cli.generate:generate",
        "Send one task to every model at once, stream the answers and store everything.",
    ),
    LazyCommand(
        "history",
        "codearena.cli.store:history",
        "Stored tasks with their generations, newest first.",
    ),
    LazyCommand(
        "bench",
        "codearena.cli.bench:bench",
        "Run a benchmark suite through the gateway and the sandbox; report pass@k per model.",
    ),
    LazyCommand(
        "latency",
        "codearena.experiments.cli:latency_command",
        "Send the same prompts through several routes, interleaved; compare their latency.",
    ),
    LazyCommand(
        "stress",
        "codearena.experiments.cli:stress_command",
        "Ramp concurrent calls across models; report throughput, latency, errors, threshold.",
    ),
    LazyCommand("serve", "codearena.cli.serve:serve", "Start the web platform."),
    LazyCommand(
        "models",
        "codearena.cli.info:models_app",
        "List known models, or sync OpenRouter's listing.",
    ),
    LazyCommand("db", "codearena.cli.store:db_app", "Database maintenance."),
    LazyCommand("sandbox", "codearena.sandbox.cli:app", "Run programs in the isolated sandbox."),
    LazyCommand("users", "codearena.web.cli:users_app", "Accounts for researchers and admins."),
    LazyCommand("study", "codearena.web.cli:study_app", "Create and list studies."),
    LazyCommand(
        "survey",
        "codearena.survey.cli:survey_app",
        "Import form exports and summarise a study's survey.",
    ),
    LazyCommand("votes", "codearena.analysis.cli:votes_app", "Votes collected elsewhere."),
    LazyCommand("ratings", "codearena.analysis.cli:ratings_app", "Ratings collected elsewhere."),
    LazyCommand(
        "analyze",
        "codearena.analysis.cli:analyze_command",
        "Mixed models of the study's ratings, pass/fail by model (GEE) and pairwise tests.",
    ),
    LazyCommand(
        "plan",
        "codearena.analysis.cli:plan_command",
        "Votes needed for a target leaderboard interval width, by simulation.",
    ),
    LazyCommand(
        "judge",
        "codearena.judging.cli:judge_command",
        "An LLM judges the study's battles in both orders; agreement with the human votes.",
    ),
    LazyCommand("coding", "codearena.coding.cli:coding_app", "Open coding of free-text answers."),
    LazyCommand(
        "tokens",
        "codearena.openai_api.cli:tokens_app",
        "API tokens of the OpenAI-compatible endpoint (/v1).",
    ),
)
"""Every top-level command, in the order ``codearena --help`` lists them."""


class _Commands(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    name="codearena",
    help="Send one coding task to many LLMs, compare, execute and measure.",
    cls=_Commands,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Send one coding task to many LLMs, compare, execute and measure."""
    ctx.obj = Services()


class Services:
    """What sub-commands from self-contained packages get from the application (``ctx.obj``)."""

    @staticmethod
    def sandbox_factory(backend: str | None) -> Sandbox:
        """The configured sandbox (``codearena sandbox run`` uses it)."""
        from codearena.config import load_settings
        from codearena.sandboxes import open_sandbox

        return open_sandbox(load_settings().sandbox, backend)


def user_error(exc: BaseException) -> CodearenaError | None:
    """``exc`` as an error the user can act on, or None for a bug (which keeps its traceback).

    ``SandboxError`` cannot derive from :class:`CodearenaError` (``sandbox/`` imports nothing
    else of codearena), so it is translated here, with exit status 2 as before. Looking it up in
    ``sys.modules`` keeps the sandbox out of commands that never import it: if its module is not
    loaded, ``exc`` cannot be one."""
    if isinstance(exc, CodearenaError):
        return exc
    sandbox_types = sys.modules.get("codearena.sandbox.types")
    if sandbox_types is not None and isinstance(exc, sandbox_types.SandboxError):
        return CodearenaError(str(exc))
    return None


def main() -> None:
    """The console entry point (``codearena``, ``python -m codearena``)."""
    try:
        app()
    except Exception as exc:
        error = user_error(exc)
        if error is None:
            raise
        from codearena.terminal import printable

        sys.stderr.write(printable(f"error: {error}") + "\n")
        sys.exit(error.exit_code)
