"""The rows of one study: the one definition of which rows of each table belong to a study.

``codearena.analysis`` (the dashboard, ``codearena report``, ``leaderboard``), the survey
summary (``survey.summary``), open coding (``coding``: the free-text answers to code and the
codebook's counts) and ``codearena.exports`` all select a study's rows with these statements, so
they can never disagree about which tasks, generations, executions, ratings, votes, survey
answers or codes a study has. What a figure then counts among them (a battle vote with a valid
choice, a run against tests, a non-blank answer, ...) is the reader's business; the export
writes every selected row.

The rules, each following the row's foreign key to the study:

* participants, survey answers, imported votes, imported ratings, coding categories, concepts and codes: their
  ``study_id``;
* study tasks: their ``study_id``; pipeline tasks: the ``task_id`` of a study task;
* generations: of a pipeline task of the study (every status: ``ok``, ``error``, ``pending``);
* executions: of one of those generations, whoever ran them (the pipeline or a participant;
  an execution of another study's generation is not the study's even if linked to it), except
  the runs of a participant's edited code (``source = "fix"``, the fix editor): they measure the
  participant's code, not the model's, and are summed up in ``fixes``;
* study-execution links: from a study task of the study to one of its executions;
* code metrics and findings: of one of the study's generations;
* ratings and votes: on a study task of the study (a vote's own ``study_id`` column is a copy
  of its study task's and is not what decides);
* fixes (fix-it-yourself attempts): on one of the study's generations;
* API calls (``api_task_ids``): the tasks of calls made with one of the study's API tokens; they
  count in the study's spend and its cap, and are not among its tasks or generations;
* code assignments: of one of the study's codes.

Every statement is a subquery-based ``Select`` (no id lists, which a large study would push past
the drivers' parameter limits), ordered oldest first with the id as tie-break.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select

from codearena.store.api_models import ApiCall, ApiToken
from codearena.store.models import (
    CodeMetrics,
    Execution,
    ExecutionArtifact,
    Finding,
    Generation,
    Task,
)
from codearena.store.platform_models import (
    DesignAssignment,
    DesignTask,
    Fix,
    Participant,
    Rating,
    StudyExecution,
    StudyTask,
    SurveyAnswer,
    Vote,
)
from codearena.store.research_models import (
    CodeAssignment,
    CodingCategory,
    CodingCode,
    CodingConcept,
    ImportedRating,
    ImportedVote,
)
from codearena.store.vocabulary import FIX_RUN_SOURCE


def participants(study_id: str) -> Select[Participant]:
    return (
        select(Participant)
        .where(Participant.study_id == study_id)
        .order_by(Participant.created_at, Participant.id)
    )


def study_task_ids(study_id: str) -> Select[str]:
    return select(StudyTask.id).where(StudyTask.study_id == study_id)


def study_tasks(study_id: str) -> Select[StudyTask]:
    return (
        select(StudyTask)
        .where(StudyTask.study_id == study_id)
        .order_by(StudyTask.created_at, StudyTask.id)
    )


def task_ids(study_id: str) -> Select[str | None]:
    return select(StudyTask.task_id).where(
        StudyTask.study_id == study_id, StudyTask.task_id.is_not(None)
    )


def tasks(study_id: str) -> Select[Task]:
    return select(Task).where(Task.id.in_(task_ids(study_id))).order_by(Task.created_at, Task.id)


def api_task_ids(study_id: str) -> Select[str]:
    """The tasks of calls made through the OpenAI-compatible endpoint with one of the study's
    API tokens: counted in the study's spend (and its cap), not among its tasks."""
    return (
        select(ApiCall.task_id)
        .join(ApiToken, ApiToken.id == ApiCall.token_id)
        .where(ApiToken.study_id == study_id)
    )


def api_calls(study_id: str) -> Select[ApiCall]:
    """The links of the study's API calls to their tokens."""
    return select(ApiCall).where(ApiCall.task_id.in_(api_task_ids(study_id)))


def api_generations(study_id: str) -> Select[Generation]:
    """The answers of the calls made with the study's API tokens, in the order they were made."""
    return (
        select(Generation)
        .where(Generation.task_id.in_(api_task_ids(study_id)))
        .order_by(Generation.created_at, Generation.id)
    )


def generation_ids(study_id: str) -> Select[str]:
    return select(Generation.id).where(Generation.task_id.in_(task_ids(study_id)))


def generations(study_id: str) -> Select[Generation]:
    return (
        select(Generation)
        .where(Generation.task_id.in_(task_ids(study_id)))
        .order_by(Generation.task_id, Generation.position, Generation.id)
    )


def _answer_runs(study_id: str) -> list[ColumnElement[bool]]:
    """The conditions of the study's executions: of its generations, not a fix run."""
    return [
        Execution.generation_id.in_(generation_ids(study_id)),
        Execution.source != FIX_RUN_SOURCE,
    ]


def executions(study_id: str) -> Select[Execution]:
    return (
        select(Execution)
        .where(*_answer_runs(study_id))
        .order_by(Execution.created_at, Execution.id)
    )


def execution_artifacts(study_id: str) -> Select[ExecutionArtifact]:
    """The images the study's executions wrote."""
    execution_ids = select(Execution.id).where(*_answer_runs(study_id))
    return (
        select(ExecutionArtifact)
        .where(ExecutionArtifact.execution_id.in_(execution_ids))
        .order_by(ExecutionArtifact.execution_id, ExecutionArtifact.position)
    )


def execution_links(study_id: str) -> Select[StudyExecution]:
    """Who ran which of the study's executions, from which of its study tasks."""
    execution_ids = select(Execution.id).where(*_answer_runs(study_id))
    return select(StudyExecution).where(
        StudyExecution.study_task_id.in_(study_task_ids(study_id)),
        StudyExecution.execution_id.in_(execution_ids),
    )


def code_metrics(study_id: str) -> Select[CodeMetrics]:
    return (
        select(CodeMetrics)
        .where(CodeMetrics.generation_id.in_(generation_ids(study_id)))
        .order_by(CodeMetrics.created_at, CodeMetrics.id)
    )


def findings(study_id: str) -> Select[Finding]:
    return (
        select(Finding)
        .where(Finding.generation_id.in_(generation_ids(study_id)))
        .order_by(Finding.generation_id, Finding.id)
    )


def ratings(study_id: str) -> Select[Rating]:
    return (
        select(Rating)
        .where(Rating.study_task_id.in_(study_task_ids(study_id)))
        .order_by(Rating.updated_at, Rating.id)
    )


def votes(study_id: str) -> Select[Vote]:
    return (
        select(Vote)
        .where(Vote.study_task_id.in_(study_task_ids(study_id)))
        .order_by(Vote.created_at, Vote.id)
    )


def fixes(study_id: str) -> Select[Fix]:
    """The fix-it-yourself attempts on the study's answers."""
    return (
        select(Fix)
        .where(Fix.generation_id.in_(generation_ids(study_id)))
        .order_by(Fix.started_at, Fix.id)
    )


def design_tasks(study_id: str) -> Select[DesignTask]:
    """A controlled study's task file, in its order."""
    return (
        select(DesignTask)
        .where(DesignTask.study_id == study_id)
        .order_by(DesignTask.position, DesignTask.id)
    )


def design_assignments(study_id: str) -> Select[DesignAssignment]:
    """Each participant's stored schedule, by join slot."""
    return (
        select(DesignAssignment)
        .where(DesignAssignment.study_id == study_id)
        .order_by(DesignAssignment.slot)
    )


def imported_votes(study_id: str) -> Select[ImportedVote]:
    return (
        select(ImportedVote)
        .where(ImportedVote.study_id == study_id)
        .order_by(ImportedVote.source, ImportedVote.line, ImportedVote.id)
    )


def imported_ratings(study_id: str) -> Select[ImportedRating]:
    return (
        select(ImportedRating)
        .where(ImportedRating.study_id == study_id)
        .order_by(ImportedRating.source, ImportedRating.line, ImportedRating.id)
    )


def survey_answers(study_id: str) -> Select[SurveyAnswer]:
    return (
        select(SurveyAnswer)
        .where(SurveyAnswer.study_id == study_id)
        .order_by(SurveyAnswer.updated_at, SurveyAnswer.id)
    )


def coding_categories(study_id: str) -> Select[CodingCategory]:
    return select(CodingCategory).where(CodingCategory.study_id == study_id)


def coding_concepts(study_id: str) -> Select[CodingConcept]:
    return select(CodingConcept).where(CodingConcept.study_id == study_id)


def coding_codes(study_id: str) -> Select[CodingCode]:
    return select(CodingCode).where(CodingCode.study_id == study_id)


def code_assignments(study_id: str) -> Select[CodeAssignment]:
    code_ids = select(CodingCode.id).where(CodingCode.study_id == study_id)
    return select(CodeAssignment).where(CodeAssignment.code_id.in_(code_ids))


__all__ = [
    "api_task_ids",
    "code_assignments",
    "code_metrics",
    "coding_categories",
    "coding_codes",
    "coding_concepts",
    "design_assignments",
    "design_tasks",
    "execution_links",
    "executions",
    "findings",
    "fixes",
    "generation_ids",
    "generations",
    "imported_ratings",
    "imported_votes",
    "participants",
    "ratings",
    "study_task_ids",
    "study_tasks",
    "survey_answers",
    "task_ids",
    "tasks",
    "votes",
]
