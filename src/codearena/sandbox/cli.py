"""``codearena sandbox run FILE``: run one source file in a sandbox and show the verdict."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from codearena.terminal import printable

from .languages import language_for_path, normalize_language
from .registry import get_sandbox
from .types import ExecResult, Limits, Sandbox, SandboxError

# The host application can hand in a factory that applies its settings (``codearena.cli`` does:
# the configured backend and read-only Python paths); this package stays free of them.
SandboxFactory = Callable[[str | None], Sandbox]

app = typer.Typer(help="Run code in the isolated sandbox.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Run code in the isolated sandbox."""


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(Text.assemble(("error:", "bold red"), " ", printable(message)))
    return typer.Exit(2)


@app.command()
def run(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Source file to run.")],
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language (default: from extension).")
    ] = None,
    stdin: Annotated[
        Path | None, typer.Option("--stdin", help="File fed to standard input.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Wall-clock limit, seconds.")] = 10.0,
    memory: Annotated[int, typer.Option("--memory", help="Memory limit, MiB.")] = 512,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend", help="bwrap, gvisor or unisolated (default: the configured one)."
        ),
    ] = None,
    artifacts_dir: Annotated[
        Path | None,
        typer.Option(
            "--artifacts-dir",
            help="Write the images the run left (PNG/SVG in its working directory) here.",
        ),
    ] = None,
) -> None:
    """Run FILE; exit 0 if it passed, 1 otherwise, 2 on bad input."""
    factory: SandboxFactory = getattr(ctx.obj, "sandbox_factory", None) or (
        lambda name: get_sandbox(name or "bwrap")
    )
    try:
        program = file.read_text(encoding="utf-8")
        given = stdin.read_text(encoding="utf-8") if stdin is not None else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read input: {exc}") from None
    try:
        language = normalize_language(lang) if lang else language_for_path(file)
        limits = Limits(timeout_s=timeout, memory_mb=memory)
        sandbox = factory(backend)
        result = sandbox.run(program, language, given, limits)
    except (SandboxError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if artifacts_dir is not None:
        try:
            _save_artifacts(result, artifacts_dir)
        except OSError as exc:
            raise _fail(f"cannot write the images to {artifacts_dir}: {exc}") from None
    if as_json:  # ensure_ascii: every control character in the output is a \uXXXX escape
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=True))
    else:
        _show(result)
    raise typer.Exit(0 if result.verdict == "passed" else 1)


def _show(result: ExecResult) -> None:
    """The result for people: the program's output (untrusted) is shown with control characters
    escaped (``codearena.terminal``) and never read as Rich markup or emoji codes."""
    console = Console()
    colour = "green" if result.verdict == "passed" else "red"
    table = Table(show_header=False, box=None)
    table.add_row("verdict", Text(printable(result.verdict), style=f"bold {colour}"))
    table.add_row("language", Text(printable(str(result.language))))
    backend = Text(printable(result.backend))
    if not result.isolated:
        backend.append(" (NOT isolated)", style="red")
    table.add_row("backend", backend)
    table.add_row("exit code", str(result.exit_code))
    if result.signal is not None:
        table.add_row("signal", str(result.signal))
    table.add_row("duration", f"{result.duration_ms:.1f} ms")
    for artifact in result.artifacts:
        size = f"{artifact.size_bytes} bytes"
        what = size if artifact.kept else f"{size}, not kept: {artifact.note}"
        table.add_row("image", Text(printable(f"{artifact.name} ({what})")))
    console.print(table)
    for title, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            console.rule(title)
            console.print(
                Text(printable(text)), soft_wrap=True, end="" if text.endswith("\n") else "\n"
            )


def _save_artifacts(result: ExecResult, directory: Path) -> None:
    """The kept images as files in ``directory`` (created), never overwriting one: a name is
    the file's own (no path part: the sandbox lists top-level files only), with every character
    that is not printable (a terminal's escape sequence) replaced by ``_``."""
    directory.mkdir(parents=True, exist_ok=True)
    for artifact in result.artifacts:
        name = "".join(c if c.isprintable() else "_" for c in artifact.name)
        if artifact.kept and name == Path(name).name and name not in (".", ".."):
            with open(directory / name, "xb") as out:
                out.write(artifact.data)
