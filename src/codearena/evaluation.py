"""Running a generation's code in the sandbox against a task's tests, and storing the result."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from codearena.answers import (
    CodeBlock,
    Program,
    answer_language,
    code_for_checks,
    select_program,
)
from codearena.checks import CheckReport, acheck_code
from codearena.config import SandboxSettings
from codearena.sandbox import (
    ExecResult,
    Limits,
    Sandbox,
    TestSpec,
    get_sandbox,
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
    store: Store, generation_id: str, blocks: Sequence[CodeBlock], language: str | None
) -> CheckReport | None:
    """Run the static checks on an answer's stored code blocks (in a thread) and store them."""
    source, lang = code_for_checks(blocks, language)
    if not source.strip():
        return None
    report = await acheck_code(source, lang)
    await asyncio.to_thread(record_checks, store, generation_id, report)
    return report


async def execute_answer(
    store: Store,
    sandbox: Sandbox,
    *,
    task_id: str,
    generation_id: str,
    blocks: Sequence[CodeBlock],
    language: str | None,
    tests: TestSpec | None,
    source: str,
    limits: Limits | None = None,
) -> ExecResult:
    """Pick the answer's code from its stored blocks (:func:`codearena.answers.select_program`),
    run it (against ``tests`` when given) and store the execution."""
    kind = tests.kind if tests else None
    entry = tests.entry_point if tests else None
    program = select_program(blocks, task_language=language, test_kind=kind, entry_point=entry)
    lang = (
        program.language
        if program
        else answer_language(blocks, task_language=language, test_kind=kind)
    )
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
