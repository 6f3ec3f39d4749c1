"""Running a generation's code in the sandbox against a task's tests, and storing the result."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from codearena.checks import CheckReport, acheck_code
from codearena.config import SandboxSettings
from codearena.prompting import CodeBlock, extract_code
from codearena.sandbox import (
    ExecResult,
    Limits,
    Sandbox,
    SandboxError,
    TestSpec,
    get_sandbox,
    normalize_language,
    run_tests,
)
from codearena.store import Store
from codearena.store.models import CodeMetrics, Execution
from codearena.store.models import Finding as FindingRow


def open_sandbox(settings: SandboxSettings, backend: str | None = None) -> Sandbox:
    """The configured backend (``bwrap`` unless ``[sandbox] backend`` or ``backend`` says else)."""
    name = backend or settings.backend
    if name in ("bwrap", "gvisor") and settings.python_paths:
        return get_sandbox(name, python_paths=list(settings.python_paths))
    return get_sandbox(name)


@dataclass(frozen=True)
class Program:
    """The code chosen from a reply, ready to run."""

    source: str
    language: str
    block_index: int | None


def _language_of(block: CodeBlock) -> str | None:
    if block.language is None:
        return None
    try:
        return normalize_language(block.language)
    except SandboxError:
        return block.language


def select_program(
    text: str,
    language: str,
    *,
    entry_point: str | None = None,
    prefix: str | None = None,
) -> Program | None:
    """The block to run: in ``language`` (or untagged), defining ``entry_point`` if one is given.

    With a ``prefix`` (HumanEval's prompt), a block that defines the whole function runs after the
    prompt (so the prompt's imports and helper functions stay defined); a bare body continues it.
    """
    blocks = list(enumerate(extract_code(text)))
    fitting = [(i, b) for i, b in blocks if _language_of(b) in (None, language)]
    if entry_point:
        defining = re.compile(rf"^(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.MULTILINE)
        chosen = next(((i, b) for i, b in fitting if defining.search(b.source)), None)
        if chosen is None and fitting:
            chosen = fitting[0]
    else:
        chosen = fitting[0] if fitting else None
    if chosen is None:
        return None
    index, block = chosen
    source = block.source
    if prefix is not None:
        defines = entry_point and re.search(rf"^def\s+{re.escape(entry_point)}\b", source, re.M)
        source = f"{prefix}\n\n{source}\n" if defines else f"{prefix}{source}\n"
    return Program(source, language, index)


def no_code_result(language: str, backend: str) -> ExecResult:
    return ExecResult(
        verdict="error",
        exit_code=None,
        signal=None,
        stdout="",
        stderr=f"the reply contains no {language} code to run",
        duration_ms=0.0,
        tests_passed=0,
        tests_total=None,
        backend=backend,
    )


def untested_verdict(result: ExecResult) -> ExecResult:
    """The result of a run without tests: exit 0 is ``ran``, not ``passed`` (nothing was checked);
    every other verdict (``error``, ``timeout``, ...) stays as the backend gave it."""
    if result.verdict == "passed":
        return dataclasses.replace(result, verdict="ran")
    return result


def execute(
    sandbox: Sandbox,
    program: Program,
    tests: TestSpec | None,
    limits: Limits | None = None,
) -> ExecResult:
    """Run ``program`` against ``tests``; without tests, run it once (verdict ``ran`` at exit 0).

    This is the one place where an execution without tests is decided: ``generate --run``, the
    web Run button and anything else that stores executions go through it. ``codearena sandbox
    run`` calls the backend directly and keeps ``passed`` for exit 0."""
    if tests is None:
        return untested_verdict(sandbox.run(program.source, program.language, "", limits))
    return run_tests(sandbox, program.source, program.language, tests, limits)


async def aexecute(
    sandbox: Sandbox, program: Program, tests: TestSpec | None, limits: Limits | None = None
) -> ExecResult:
    return await asyncio.to_thread(execute, sandbox, program, tests, limits)


def record_execution(
    store: Store,
    *,
    task_id: str,
    generation_id: str,
    program: Program | None,
    language: str,
    tests: TestSpec | None,
    result: ExecResult,
    source: str,
    link: Callable[[Session, Execution], None] | None = None,
) -> str:
    """Store one execution (and whatever ``link`` adds in the same transaction); returns its id."""
    with store.session() as session:
        row = Execution(
            generation_id=generation_id,
            task_id=task_id,
            block_index=program.block_index if program else None,
            language=language,
            test_kind=tests.kind if tests else None,
            verdict=result.verdict,
            exit_code=result.exit_code,
            signal=result.signal,
            stdout=result.stdout,
            stderr=result.stderr,
            duration_ms=result.duration_ms,
            tests_passed=result.tests_passed,
            tests_total=result.tests_total,
            backend=result.backend,
            isolated=result.isolated,
            source=source,
        )
        session.add(row)
        if link is not None:
            session.flush()
            link(session, row)
    return row.id


def code_for_checks(text: str, language: str | None) -> tuple[str, str | None]:
    """The reply's code in its main language (``language`` if given), blocks joined."""
    blocks = extract_code(text)
    if not blocks:
        return "", language
    wanted = language or _language_of(blocks[0])
    chosen = [b.source for b in blocks if _language_of(b) in (wanted, None)]
    return "\n\n".join(chosen) + "\n", wanted


def record_checks(store: Store, generation_id: str, report: CheckReport) -> None:
    """Store a generation's static measurements and each finding."""
    with store.session() as session:
        session.add(
            CodeMetrics(
                generation_id=generation_id,
                language=report.language,
                lines=report.lines,
                lint_count=report.lint_count,
                security_count=report.security_count,
                syntax_ok=report.syntax_ok,
                complexity_max=report.complexity_max,
                complexity_mean=report.complexity_mean,
                findings_per_100_lines=report.findings_per_100_lines,
                lint_by_rule=report.lint_by_rule(),
            )
        )
        for finding in report.findings:
            session.add(
                FindingRow(
                    generation_id=generation_id,
                    tool=finding.tool,
                    kind=finding.kind,
                    rule=finding.rule,
                    severity=finding.severity,
                    confidence=finding.confidence,
                    cwe=finding.cwe,
                    line=finding.line,
                    message=finding.message,
                )
            )


async def check_and_record(
    store: Store, generation_id: str, text: str, language: str | None
) -> CheckReport | None:
    """Run the static checks on a reply's code (in a thread) and store them."""
    source, lang = code_for_checks(text, language)
    if not source.strip():
        return None
    report = await acheck_code(source, lang)
    await asyncio.to_thread(record_checks, store, generation_id, report)
    return report


def answer_language(text: str, language: str | None) -> str | None:
    """The language to run an answer in: the task's output language, else its first tagged block."""
    for candidate in [language, *(b.language for b in extract_code(text))]:
        if candidate:
            try:
                return normalize_language(candidate)
            except SandboxError:
                continue
    return None


async def execute_answer(
    store: Store,
    sandbox: Sandbox,
    *,
    task_id: str,
    generation_id: str,
    text: str,
    language: str | None,
    tests: TestSpec | None,
    source: str,
    limits: Limits | None = None,
) -> ExecResult:
    """Pick the answer's code, run it (against ``tests`` when given) and store the execution."""
    lang = answer_language(text, language) or "python"
    entry = tests.entry_point if tests else None
    program = select_program(text, lang, entry_point=entry)
    if program is None:
        result = no_code_result(lang, sandbox.name)
    else:
        result = await aexecute(sandbox, program, tests, limits)
    await asyncio.to_thread(
        record_execution,
        store,
        task_id=task_id,
        generation_id=generation_id,
        program=program,
        language=lang,
        tests=tests,
        result=result,
        source=source,
    )
    return result
