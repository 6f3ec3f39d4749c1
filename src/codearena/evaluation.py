"""Running a generation's code in the sandbox against a task's tests, and storing the result."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from codearena.answers import (
    CodeBlock,
    Program,
    answer_language,
    code_for_checks,
    select_program,
)
from codearena.checks import CheckReport, acheck_many
from codearena.sandbox import (
    Artifact,
    ExecResult,
    Limits,
    Sandbox,
    TestSpec,
    run_tests,
)
from codearena.store import Store
from codearena.store.models import CodeMetrics, Execution, ExecutionArtifact
from codearena.store.models import Finding as FindingRow


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
            details=result.details or None,
            backend=result.backend,
            isolated=result.isolated,
            source=source,
        )
        session.add(row)
        session.flush()
        session.add_all(artifact_rows(row.id, result.artifacts))
        if link is not None:
            link(session, row)
    return row.id


def artifact_rows(execution_id: str, artifacts: Sequence[Artifact]) -> list[ExecutionArtifact]:
    """The stored form of a run's images, in the order the sandbox listed them."""
    return [
        ExecutionArtifact(
            execution_id=execution_id,
            position=position,
            name=artifact.name,
            media_type=artifact.media_type,
            size_bytes=artifact.size_bytes,
            sha256=hashlib.sha256(artifact.data).hexdigest() if artifact.kept else None,
            data_base64=base64.b64encode(artifact.data).decode("ascii") if artifact.kept else None,
            note=artifact.note,
        )
        for position, artifact in enumerate(artifacts)
    ]


def stored_result(row: Execution) -> ExecResult:
    """A stored execution as the sandbox gave it (what a resumed repair round sends back)."""
    return ExecResult(
        verdict=row.verdict,  # type: ignore[arg-type]
        exit_code=row.exit_code,
        signal=row.signal,
        stdout=row.stdout,
        stderr=row.stderr,
        duration_ms=row.duration_ms or 0.0,
        backend=row.backend,
        tests_passed=row.tests_passed,
        tests_total=row.tests_total,
        isolated=row.isolated,
        language=row.language,
        details=list(row.details or []),
    )


def record_checks(store: Store, generation_id: str, report: CheckReport) -> None:
    """Store a generation's static measurements and each finding."""
    record_checks_many(store, [(generation_id, report)])


def record_checks_many(store: Store, reports: Sequence[tuple[str, CheckReport]]) -> None:
    """Store the static measurements and findings of several generations in one transaction."""
    with store.session() as session:
        for generation_id, report in reports:
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
            session.add_all(
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
                for finding in report.findings
            )


@dataclasses.dataclass(frozen=True)
class Answer:
    """An answer to check: its generation, its stored code blocks, the task's language."""

    generation_id: str
    blocks: Sequence[CodeBlock]
    language: str | None


async def check_and_record(
    store: Store, generation_id: str, blocks: Sequence[CodeBlock], language: str | None
) -> CheckReport | None:
    """Run the static checks on an answer's stored code blocks (in a thread) and store them."""
    (report,) = await check_answers(store, [Answer(generation_id, blocks, language)])
    return report


async def check_answers(store: Store, answers: Sequence[Answer]) -> list[CheckReport | None]:
    """The static checks of several answers in one batch (one ruff process, one bandit manager;
    in a thread), stored in one transaction; None for an answer without code."""
    snippets = [code_for_checks(answer.blocks, answer.language) for answer in answers]
    wanted = [i for i, (source, _) in enumerate(snippets) if source.strip()]
    if not wanted:
        return [None] * len(answers)
    reports = await acheck_many([snippets[i] for i in wanted])
    stored = [(answers[i].generation_id, report) for i, report in zip(wanted, reports, strict=True)]
    await asyncio.to_thread(record_checks_many, store, stored)
    found: dict[int, CheckReport] = dict(zip(wanted, reports, strict=True))
    return [found.get(i) for i in range(len(answers))]


@dataclasses.dataclass(frozen=True)
class Executed:
    """One stored execution: the sandbox's result, the execution's id and the program that ran
    (None when the answer had no code to run)."""

    result: ExecResult
    execution_id: str
    program: Program | None


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
    block_index: int | None = None,
    prefix: str | None = None,
    link: Callable[[Session, Execution], None] | None = None,
) -> Executed:
    """The one execution step of ``generate``, ``bench`` and the web Run button: pick the
    answer's code from its stored blocks (:func:`codearena.answers.select_program`: the block
    ``block_index``, else the first in the answer's language; ``prefix`` is HumanEval's prompt),
    run it (against ``tests`` when given; without tests exit 0 is ``ran``) and store the
    execution, with whatever ``link`` adds in the same transaction."""
    kind = tests.kind if tests else None
    entry = tests.entry_point if tests else None
    program = select_program(
        blocks,
        task_language=language,
        test_kind=kind,
        entry_point=entry,
        prefix=prefix,
        block_index=block_index,
    )
    lang = (
        program.language
        if program
        else answer_language(blocks, task_language=language, test_kind=kind)
    )
    if program is None:
        result = no_code_result(lang, sandbox.name)
    else:
        result = await aexecute(sandbox, program, tests, limits)
    execution_id = await asyncio.to_thread(
        record_execution,
        store,
        task_id=task_id,
        generation_id=generation_id,
        program=program,
        language=lang,
        tests=tests,
        result=result,
        source=source,
        link=link,
    )
    return Executed(result, execution_id, program)
