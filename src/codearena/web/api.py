"""The JSON API: every page action as a documented endpoint (OpenAPI at ``/docs``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict

from codearena.store.vocabulary import FixOutcome
from codearena.studies import fixes, judgements, participants, survey
from codearena.studies import study as studies
from codearena.studies.access import own_task
from codearena.studies.fixes import FixActivity, FixCode, FixStart
from codearena.studies.followups import FollowUpInput, RepairInput
from codearena.studies.invites import resolve_invite
from codearena.studies.judgements import RatingInput, VoteInput
from codearena.studies.participants import JoinInput
from codearena.studies.runs import RunInput
from codearena.studies.schedule import design_progress, schedule_of
from codearena.studies.study import StudySpec
from codearena.studies.survey import AnswerInput
from codearena.studies.tasks import TaskInput, budget_reason, tasks_used
from codearena.web import auth, views
from codearena.web.csrf import issue_token
from codearena.web.deps import (
    Admin,
    Joined,
    MaybePrincipal,
    Participant,
    PlatformDep,
    Staff,
    current,
)
from codearena.web.deps import check_csrf as _check_csrf
from codearena.web.errors import ApiError
from codearena.web.execution import run_block, run_fix
from codearena.web.followups import follow_up, repair
from codearena.web.limits import JOINS_LIMITED
from codearena.web.present import study_dict
from codearena.web.streams import sse_stream
from codearena.web.tasks import create_task

router = APIRouter(prefix="/api", dependencies=[Depends(_check_csrf)])


class LoginInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    password: str


class StatusInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str


class UserInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    role: str
    password: str


@router.get("/session", summary="Who is signed in, and the CSRF token for this browser")
def session_info(
    request: Request, response: Response, platform: PlatformDep, who: MaybePrincipal
) -> dict[str, Any]:
    return {
        "csrf_token": issue_token(platform.secret, request, response),
        "role": who.role if who else None,
        "participant_id": who.participant_id if who else None,
        "consented": who.consented if who else False,
    }


@router.post("/login", summary="Sign in as an admin or researcher")
def login(
    data: LoginInput, request: Request, response: Response, platform: PlatformDep
) -> dict[str, Any]:
    client = request.client.host if request.client else "?"
    if not platform.limiter.allow(f"login:{client}", platform.limits.logins_per_minute):
        raise ApiError(429, "too many sign-in attempts: wait a minute")
    user = auth.authenticate(platform.context.store, data.email, data.password)
    if user is None:
        raise ApiError(401, "wrong e-mail or password")
    auth.start_session(platform.context.store, request, response, user_id=user.id)
    return {"role": user.role, "email": user.email}


@router.post("/logout", summary="Sign out")
def logout(request: Request, response: Response, platform: PlatformDep) -> dict[str, Any]:
    auth.end_session(platform.context.store, request, response)
    return {"ok": True}


@router.post("/users", summary="Create an admin or researcher account (admin)", status_code=201)
def create_user(data: UserInput, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    try:
        user = auth.create_user(platform.context.store, data.email, data.role, data.password)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    return {"id": user.id, "email": user.email, "role": user.role}


@router.get("/studies", summary="Studies you own (admins: all)")
def list_studies(request: Request, platform: PlatformDep, who: Staff) -> list[dict[str, Any]]:
    base = platform.public_base(request)
    owned = studies.list_studies(platform.context.store, auth.owner_filter(who))
    return [study_dict(s, platform.secret, base) for s in owned]


@router.post("/studies", summary="Create a study (researcher)", status_code=201)
def create_study(
    data: StudySpec, request: Request, platform: PlatformDep, who: Staff
) -> dict[str, Any]:
    study = studies.create_study(
        platform.context.store, platform.context.catalog, data, who.user_id
    )
    return study_dict(study, platform.secret, platform.public_base(request))


@router.get("/studies/{study_id}", summary="A study with its counts (researcher)")
def get_study(study_id: str, request: Request, platform: PlatformDep, who: Staff) -> dict[str, Any]:
    study = studies.owned_study(platform.context.store, study_id, auth.owner_filter(who))
    data = study_dict(study, platform.secret, platform.public_base(request))
    data["stats"] = studies.study_stats(platform.context.store, study.id)
    data.update(studies.spend_view(platform.context.store, study))
    if study.design != "open":  # completion per cell of the design
        data["design_progress"] = design_progress(platform.context.store, study)
    return data


@router.post("/studies/{study_id}/status", summary="Open or close a study (researcher)")
def set_study_status(
    study_id: str, data: StatusInput, platform: PlatformDep, who: Staff
) -> dict[str, Any]:
    studies.owned_study(platform.context.store, study_id, auth.owner_filter(who))
    status = studies.set_status(platform.context.store, study_id, data.status)
    return {"id": study_id, "status": status}


@router.post("/join/{token}", summary="Join a study through its invite token", status_code=201)
def join(
    token: str, data: JoinInput, request: Request, response: Response, platform: PlatformDep
) -> dict[str, Any]:
    store = platform.context.store
    invite = resolve_invite(store, platform.secret, token)
    who = current(request)
    person = participants.returning(store, invite, who.participant_id if who else None)
    if person is not None:  # this browser already joined: the same participant goes on
        response.status_code = 200
        return {
            "participant_id": person.id,
            "consent_text": invite.study.consent_text,
            "continued": True,
        }
    client = request.client.host if request.client else "?"
    if not platform.limiter.allow(f"join:{client}", platform.joins_per_minute):
        raise ApiError(429, JOINS_LIMITED)
    person = participants.join(store, invite.study, data, invite)
    auth.start_session(store, request, response, participant_id=person.id)
    return {
        "participant_id": person.id,
        "consent_text": invite.study.consent_text,
        "continued": False,
    }


@router.post("/consent", summary="Accept the study's consent text")
def consent(platform: PlatformDep, who: Joined) -> dict[str, Any]:
    assert who.participant_id
    participants.consent(platform.context.store, who.participant_id)
    return {"participant_id": who.participant_id, "consented": True}


@router.get("/study", summary="Your study: options, models (named mode only), budget")
def my_study(platform: PlatformDep, who: Joined) -> dict[str, Any]:
    assert who.study_id and who.participant_id
    study = studies.get_study(platform.context.store, who.study_id)
    if not who.consented:  # before consent, the consent text and nothing else
        return {"name": study.name, "consent_text": study.consent_text, "consented": False}
    return {
        "name": study.name,
        "consented": True,
        "description": study.description,
        "consent_text": study.consent_text,
        "mode": study.mode,
        "status": study.status,
        "prompt_options": study.prompt_options,
        "models": (
            [
                {"id": m, "label": views.model_label(platform.context.catalog, m)}
                for m in study.models
            ]
            if study.mode == "named"
            else None
        ),
        "budget_tasks": study.budget_tasks,
        "budget_usd": study.budget_usd,
        "design": study.design,
        # controlled studies: the participant's tasks in order, with their state
        "schedule": _schedule_json(platform, who.participant_id, study.mode),
        "tasks_used": tasks_used(platform.context.store, who.participant_id),
        # why Generate is disabled (study closed, tasks or USD budget used), else None
        "generate_disabled_reason": (
            "this study is closed"
            if study.status != "open"
            else budget_reason(platform.context.store, study, who.participant_id)
        ),
    }


def _schedule_json(
    platform: PlatformDep, participant_id: str, mode: str
) -> list[dict[str, Any]] | None:
    schedule = schedule_of(platform.context.store, participant_id)
    if schedule is None:
        return None
    return [
        {
            "number": item.number,
            "item": item.key,
            "prompt": item.prompt,
            "category": item.category,
            "language": item.language,
            "status": item.status,
            "task_id": item.study_task_id,
            "models": item.models if mode == "named" else None,  # blind stays blind
        }
        for item in schedule.items
    ]


@router.post("/tasks", summary="Create a task; answers stream from /api/tasks/{id}/events")
async def new_task(data: TaskInput, platform: PlatformDep, who: Participant) -> Response:
    row = await create_task(platform, who, data)
    view = views.task_view(platform.context.store, platform.context.catalog, row, None)
    live = platform.hub.get(row.id)
    if live is not None:
        view["answers"] = live.snapshot()["answers"]
        view["timing"] = live.timing()
    return JSONResponse(view, status_code=202)


@router.get("/tasks", summary="Your own tasks, newest first")
def my_tasks(platform: PlatformDep, who: Participant) -> list[dict[str, Any]]:
    assert who.participant_id
    return views.history(platform.context.store, platform.context.catalog, who.participant_id)


@router.get("/tasks/{task_id}", summary="One of your tasks with its answers")
def get_task(task_id: str, platform: PlatformDep, who: Participant) -> dict[str, Any]:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    live = platform.hub.get(row.id)
    return views.task_view(platform.context.store, platform.context.catalog, row, live)


@router.get(
    "/tasks/{task_id}/events",
    summary="Server-sent events: snapshot, start, delta, retry, done, end",
    response_class=StreamingResponse,
)
def task_events(
    task_id: str,
    platform: PlatformDep,
    who: Participant,
    turn: int = Query(default=1, ge=1, description="1: the answers; N: the round of turn N"),
) -> StreamingResponse:
    assert who.participant_id
    store, catalog = platform.context.store, platform.context.catalog
    row = own_task(store, who.participant_id, task_id)

    def stored() -> dict[str, Any]:
        fresh = own_task(store, row.participant_id, row.id)
        if turn > 1:
            return {
                "type": "snapshot",
                "turn": turn,
                "complete": True,
                "answers": views.stored_turn(store, catalog, fresh, turn),
                "timing": {"elapsed_s": None, "answers": []},
            }
        return {
            "type": "snapshot",
            "complete": True,
            "answers": views.stored_answers(store, catalog, fresh),
            "timing": views.stored_timing(store, fresh),
        }

    live = platform.hub.get(row.id)
    if live is not None and live.round != turn:
        live = None  # another round's stream: this one is stored (or not started)
    return StreamingResponse(
        sse_stream(live, stored),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/tasks/{task_id}/answers/{position}/run", summary="Run a code block in the sandbox")
async def run_code(
    task_id: str,
    position: int,
    data: RunInput,
    platform: PlatformDep,
    who: Participant,
    turn: int = Query(default=1, ge=1, description="the answer's turn (default 1, the answer)"),
) -> dict[str, Any]:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    return await run_block(platform, who, row, position, data.block_index, turn)


@router.post(
    "/tasks/{task_id}/answers/{position}/fix",
    summary="Fix it yourself: start (201) or resume (200) your attempt on an answer's code",
    status_code=201,
)
def start_fix(
    task_id: str,
    position: int,
    platform: PlatformDep,
    who: Participant,
    response: Response,
    data: FixStart | None = None,
    turn: int = Query(default=1, ge=1, description="the answer's turn (default 1, the answer)"),
) -> dict[str, Any]:
    assert who.participant_id
    store = platform.context.store
    row = own_task(store, who.participant_id, task_id)
    view = fixes.start_fix(store, row, position, data or FixStart(), turn, now=platform.clock())
    if view.resumed:
        response.status_code = 200
    return views.fix_dict(view)


@router.get("/tasks/{task_id}/fixes", summary="Your fix attempts on this task's answers")
def list_fixes(task_id: str, platform: PlatformDep, who: Participant) -> list[dict[str, Any]]:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    return [views.fix_dict(view) for view in fixes.task_fixes(platform.context.store, row)]


@router.get("/tasks/{task_id}/fixes/{fix_id}", summary="One of your fix attempts")
def get_fix(task_id: str, fix_id: str, platform: PlatformDep, who: Participant) -> dict[str, Any]:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    return views.fix_dict(fixes.get_fix(platform.context.store, row, fix_id))


@router.post(
    "/tasks/{task_id}/fixes/{fix_id}/activity",
    summary="An input ping of the fix editor (how many inputs, never what was typed)",
)
def fix_activity(
    task_id: str, fix_id: str, data: FixActivity, platform: PlatformDep, who: Participant
) -> dict[str, Any]:
    assert who.participant_id
    store = platform.context.store
    row = own_task(store, who.participant_id, task_id)
    return views.fix_dict(fixes.record_activity(store, row, fix_id, data, now=platform.clock()))


@router.post(
    "/tasks/{task_id}/fixes/{fix_id}/run",
    summary="Run the edited code against the task's tests (the Run button's execution step)",
)
async def fix_run(
    task_id: str, fix_id: str, data: FixCode, platform: PlatformDep, who: Participant
) -> dict[str, Any]:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    return await run_fix(platform, who, row, fix_id, data)


@router.post("/tasks/{task_id}/fixes/{fix_id}/done", summary="End the fix attempt: done")
def fix_done(
    task_id: str, fix_id: str, data: FixCode, platform: PlatformDep, who: Participant
) -> dict[str, Any]:
    return _end_fix(platform, who, task_id, fix_id, "done", data)


@router.post("/tasks/{task_id}/fixes/{fix_id}/abandon", summary="End the fix attempt: give up")
def fix_abandon(
    task_id: str, fix_id: str, data: FixCode, platform: PlatformDep, who: Participant
) -> dict[str, Any]:
    return _end_fix(platform, who, task_id, fix_id, "abandoned", data)


def _end_fix(
    platform: PlatformDep,
    who: Participant,
    task_id: str,
    fix_id: str,
    outcome: FixOutcome,
    data: FixCode,
) -> dict[str, Any]:
    assert who.participant_id
    store = platform.context.store
    row = own_task(store, who.participant_id, task_id)
    view = fixes.end_fix(store, row, fix_id, outcome, data, now=platform.clock())
    return views.fix_dict(view)


def _round_view(platform: PlatformDep, task_id: str, who: Participant) -> JSONResponse:
    assert who.participant_id
    store = platform.context.store
    row = own_task(store, who.participant_id, task_id)
    view = views.task_view(store, platform.context.catalog, row, platform.hub.get(row.id))
    return JSONResponse(view, status_code=202)


@router.post(
    "/tasks/{task_id}/follow-up",
    summary="Send one follow-up to every model; the round streams from events?turn=N",
)
async def send_follow_up(
    task_id: str, data: FollowUpInput, platform: PlatformDep, who: Participant
) -> JSONResponse:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    follow_up(platform, who, row, data)
    return _round_view(platform, task_id, who)


@router.post(
    "/tasks/{task_id}/answers/{position}/repair",
    summary="Send an answer's failed run back to its model (blind: the other side too)",
)
async def send_error(
    task_id: str,
    position: int,
    platform: PlatformDep,
    who: Participant,
    data: RepairInput | None = None,
) -> JSONResponse:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    repair(platform, who, row, position, data or RepairInput())
    return _round_view(platform, task_id, who)


@router.post(
    "/tasks/{task_id}/answers/{position}/rating",
    summary="Rate one answer (?turn=N: the answer of a later turn; default 1)",
)
def rate(
    task_id: str,
    position: int,
    data: RatingInput,
    platform: PlatformDep,
    who: Participant,
    turn: int = Query(default=1, ge=1, description="the answer's turn (default 1, the answer)"),
) -> dict[str, Any]:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    rating = judgements.rate(platform.context.store, row, position, data, turn)
    return views.rating_dict(rating)


@router.post("/tasks/{task_id}/vote", summary="Blind mode: A better, B better, tie or both bad")
def vote(task_id: str, data: VoteInput, platform: PlatformDep, who: Participant) -> dict[str, Any]:
    assert who.participant_id
    store, catalog = platform.context.store, platform.context.catalog
    row = own_task(store, who.participant_id, task_id)
    stored = judgements.vote(store, catalog, row, data.choice)
    return {
        "choice": stored.choice,
        "choice_label": views.CHOICE_LABELS.get(stored.choice or ""),
        "self_identified": stored.self_identified,
        "answers": views.stored_answers(store, catalog, row),
        "turns": views.later_turns(store, catalog, row, None),
    }


@router.post(
    "/tasks/{task_id}/answers/{position}/upvote",
    summary="Named mode: upvote an answer (?turn=N: the answer of a later turn; default 1)",
)
def upvote(
    task_id: str,
    position: int,
    platform: PlatformDep,
    who: Participant,
    turn: int = Query(default=1, ge=1, description="the answer's turn (default 1, the answer)"),
) -> dict[str, Any]:
    assert who.participant_id
    store = platform.context.store
    row = own_task(store, who.participant_id, task_id)
    stored = judgements.upvote(store, platform.context.catalog, row, position, turn)
    return {"position": position, "turn": turn, "model": stored.model}


@router.get("/survey", summary="The survey's questions and your answers so far")
def get_survey(platform: PlatformDep, who: Participant) -> dict[str, Any]:
    assert who.participant_id and who.study_id
    study = studies.get_study(platform.context.store, who.study_id)
    return views.survey_view(platform.context.store, study, who.participant_id)


@router.put("/survey/answers/{question_id}", summary="Save one survey answer")
def save_answer(
    question_id: str, data: AnswerInput, platform: PlatformDep, who: Participant
) -> dict[str, Any]:
    assert who.participant_id and who.study_id
    study = studies.get_study(platform.context.store, who.study_id)
    value = survey.save_answer(
        platform.context.store, study, who.participant_id, question_id, data.value
    )
    return {"question_id": question_id, "value": value}


@router.post("/survey/submit", summary="Finish the survey (required questions are checked)")
def submit_survey(platform: PlatformDep, who: Participant) -> dict[str, Any]:
    assert who.participant_id and who.study_id
    study = studies.get_study(platform.context.store, who.study_id)
    survey.submit(platform.context.store, study, who.participant_id)
    return {
        "completed": True,
        "summary": judgements.summary(platform.context.store, who.participant_id),
    }
