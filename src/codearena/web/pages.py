"""The HTML pages: forms post to these routes (CSRF-checked), which call the same handlers as
the JSON API. A form's fields go through the API's input model (``errors.validate``) and a
refused action shows the message :func:`codearena.web.errors.translate` gives the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from codearena import __version__
from codearena.answers import stored_blocks
from codearena.asgi.security import task_page_csp
from codearena.catalog import probe_reachability, provider_status
from codearena.prompting import REQUIREMENTS, TONES
from codearena.studies import judgements, participants, survey
from codearena.studies import study as studies
from codearena.studies.access import generation_at, own_task
from codearena.studies.errors import StudyError, UnknownItem
from codearena.studies.followups import FollowUpInput, RepairInput
from codearena.studies.invites import Invite, invite_url, resolve_invite
from codearena.studies.participants import JoinInput
from codearena.studies.schedule import design_progress, schedule_of
from codearena.studies.study import StudySpec
from codearena.studies.tasks import TaskInput, budget_reason, tasks_used
from codearena.survey.instruments import BUILTIN
from codearena.web import auth, views
from codearena.web.csrf import issue_token
from codearena.web.deps import Joined, Participant, PlatformDep, Staff, check_csrf, current
from codearena.web.errors import ApiError, translate, validate
from codearena.web.followups import follow_up, repair
from codearena.web.limits import JOINS_LIMITED
from codearena.web.preview import PREVIEW_HEADERS, preview_document
from codearena.web.state import platform_of
from codearena.web.tasks import create_task

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
FormStr = Annotated[str, Form()]
OptStr = Annotated[str | None, Form()]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    platform = platform_of(request)
    holder = Response()
    token = issue_token(platform.secret, request, holder)
    html = platform.templates.get_template(name).render(
        request=request, csrf_token=token, who=current(request), **context
    )
    response = HTMLResponse(html, status_code=status_code)
    for value in holder.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status, status=status, message=message)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/")
async def index(request: Request, platform: PlatformDep) -> HTMLResponse:
    """The home page; the providers' status (as ``codearena info`` gives it, an unreachable
    Ollama included) only for a signed-in researcher or admin."""
    who = current(request)
    settings = platform.context.settings
    providers: list[dict[str, str]] = []
    # the setup hint (no key at all) for everyone; each provider's status for staff only
    configured = any(p.has_key for p in settings.providers.values() if p.needs_key)
    if who is not None and who.is_staff:
        reachable = await probe_reachability(settings)
        providers = [
            {"name": p.name, "status": provider_status(p, reachable)}
            for p in settings.providers.values()
        ]
    return render(
        request, "index.html", version=__version__, providers=providers, configured=configured
    )


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
def login(request: Request, platform: PlatformDep, email: FormStr, password: FormStr) -> Response:
    client = request.client.host if request.client else "?"
    if not platform.limiter.allow(f"login:{client}", platform.limits.logins_per_minute):
        return render(request, "login.html", 429, error="too many sign-in attempts: wait a minute")
    user = auth.authenticate(platform.context.store, email, password)
    if user is None:
        return render(request, "login.html", 401, error="wrong e-mail or password")
    response = redirect("/researcher")
    auth.start_session(platform.context.store, request, response, user_id=user.id)
    return response


@router.post("/logout")
def logout(request: Request, platform: PlatformDep) -> Response:
    response = redirect("/")
    auth.end_session(platform.context.store, request, response)
    return response


def _researcher(
    request: Request,
    who: Any,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> Any:
    """The studies and the new-study form; after a refused form, ``form`` holds what was typed
    (so nothing has to be typed again)."""
    platform = platform_of(request)
    typed: dict[str, Any] = {
        "mode": "named",
        "prompt_options": list(studies.PROMPT_OPTIONS),
        "model_picks": [],
        **(form or {}),
    }
    return render(
        request,
        "researcher.html",
        status,
        error=error,
        studies=studies.list_studies(platform.context.store, auth.owner_filter(who)),
        prompt_options=studies.PROMPT_OPTIONS,
        surveys=list(BUILTIN),
        catalog=platform.context.catalog.all(),
        default_models=typed.get("models", ""),
        form=typed,
    )


@router.get("/researcher")
def researcher(request: Request, who: Staff) -> HTMLResponse:
    return _researcher(request, who)  # type: ignore[no-any-return]


def _fields(form: FormData, *names: str) -> dict[str, str]:
    """The form's filled-in text fields among ``names`` (an empty field is left out)."""
    return {n: str(v) for n in names if isinstance(v := form.get(n), str) and v}


@router.post("/researcher/studies")
async def create_study(request: Request, platform: PlatformDep, who: Staff) -> Response:
    form = await request.form()
    given = ("name", "models", "mode", "description", "consent_text", "survey", "pairing")
    numbers = ("budget_tasks", "budget_usd", "spend_cap_usd")
    picks = [str(v) for v in form.getlist("model_picks") if str(v).strip()]
    fields: dict[str, object] = {
        "name": "",
        "models": "",
        **_fields(form, *given, *numbers),
        "prompt_options": [str(v) for v in form.getlist("prompt_options")],
    }
    if picks:  # the catalog picker adds to the ids typed in the text area
        fields["models"] = "\n".join([str(fields["models"]), *picks])
    try:
        spec = validate(StudySpec, fields)
        study = studies.create_study(
            platform.context.store, platform.context.catalog, spec, who.user_id
        )
    except (StudyError, ApiError) as exc:
        error = translate(exc)
        typed = {
            **_fields(form, *given, *numbers),
            "prompt_options": [str(v) for v in form.getlist("prompt_options")],
            "model_picks": picks,
        }
        return _researcher(  # type: ignore[no-any-return]
            request, who, error.status, error.message, typed
        )
    return redirect(f"/researcher/studies/{study.id}")


@router.get("/researcher/studies/{study_id}")
def study_admin(study_id: str, request: Request, platform: PlatformDep, who: Staff) -> HTMLResponse:
    study = studies.owned_study(platform.context.store, study_id, auth.owner_filter(who))
    return render(
        request,
        "study_admin.html",
        study=study,
        invite=invite_url(platform.secret, study.id, platform.public_base(request)),
        stats=studies.study_stats(platform.context.store, study.id),
        spend=studies.spend_view(platform.context.store, study),
        design=design_progress(platform.context.store, study) if study.design != "open" else None,
    )


@router.post("/researcher/studies/{study_id}/status")
def study_status(study_id: str, platform: PlatformDep, who: Staff, status: FormStr) -> Response:
    studies.owned_study(platform.context.store, study_id, auth.owner_filter(who))
    studies.set_status(platform.context.store, study_id, status)
    return redirect(f"/researcher/studies/{study_id}")


def _continue(request: Request, invite: Invite) -> Response | None:
    """A browser that already joined the invite's study goes on as the same participant."""
    who = current(request)
    person = participants.returning(
        platform_of(request).context.store, invite, who.participant_id if who else None
    )
    if person is None:
        return None
    return redirect("/study" if person.consented_at is not None else "/consent")


def _join_page(
    request: Request, invite: Invite, token: str, status: int = 200, error: str | None = None
) -> HTMLResponse:
    who = current(request)
    return render(
        request,
        "join.html",
        status,
        study=invite.study,
        token=token,
        error=error,
        signed_in=who if who is not None and who.is_staff else None,
    )


@router.get("/join/{token}")
def join_page(token: str, request: Request, platform: PlatformDep) -> Response:
    invite = resolve_invite(platform.context.store, platform.secret, token)
    again = _continue(request, invite)
    if again is not None:
        return again
    participants.check_free(invite)
    return _join_page(request, invite, token)


@router.post("/join/{token}")
def join(
    token: str, request: Request, platform: PlatformDep, pseudonym: FormStr, email: OptStr = None
) -> Response:
    invite = resolve_invite(platform.context.store, platform.secret, token)
    again = _continue(request, invite)
    if again is not None:
        return again
    client = request.client.host if request.client else "?"
    if not platform.limiter.allow(f"join:{client}", platform.joins_per_minute):
        return _join_page(request, invite, token, 429, JOINS_LIMITED)
    try:
        data = validate(JoinInput, {"pseudonym": pseudonym, "email": email})
        person = participants.join(platform.context.store, invite.study, data, invite)
    except (StudyError, ApiError) as exc:
        error = translate(exc)
        return _join_page(request, invite, token, error.status, error.message)
    response = redirect("/consent")
    auth.start_session(platform.context.store, request, response, participant_id=person.id)
    return response


@router.get("/consent")
def consent_page(request: Request, platform: PlatformDep, who: Joined) -> HTMLResponse:
    assert who.study_id
    study = studies.get_study(platform.context.store, who.study_id)
    return render(request, "consent.html", study=study)


@router.post("/consent")
def consent(platform: PlatformDep, who: Joined) -> Response:
    assert who.participant_id
    participants.consent(platform.context.store, who.participant_id)
    return redirect("/study")


def _study_page(request: Request, who: Any, status: int = 200, **extra: Any) -> HTMLResponse:
    platform = platform_of(request)
    study = studies.get_study(platform.context.store, who.study_id)
    used = tasks_used(platform.context.store, who.participant_id)
    models = (
        [{"id": m, "label": views.model_label(platform.context.catalog, m)} for m in study.models]
        if study.mode == "named"
        else []
    )
    # named mode: the study's models are ticked until the participant changes the choice
    chosen = [m["id"] for m in models]
    form = {"text": "", "models": chosen, "tests_kind": "python", **extra.pop("form", {})}
    blocked = (
        "this study is closed"
        if study.status != "open"
        else budget_reason(platform.context.store, study, who.participant_id)
    )
    schedule = schedule_of(platform.context.store, who.participant_id)
    return render(
        request,
        "study.html",
        status,
        study=study,
        models=models,
        schedule=schedule,
        upcoming=schedule.next_item() if schedule is not None else None,
        label=lambda model: views.model_label(platform.context.catalog, model),
        used=used,
        blocked=blocked,
        requirements=REQUIREMENTS,
        tones=TONES,
        form=form,
        **extra,
    )


@router.get("/study")
def study_page(request: Request, who: Joined) -> Response:
    if not who.consented:
        return redirect("/consent")
    return _study_page(request, who)


def task_fields(form: FormData) -> dict[str, object]:
    """The task form as the body of ``POST /api/tasks``: the tests are the chosen kind's field
    (asserts, or the examples' text, which ``TestsInput`` parses)."""
    fields: dict[str, object] = {
        "text": "",
        **_fields(form, "text", "requirement", "tone", "language"),
    }
    if form.get("item"):
        return {"item": str(form.get("item"))}  # a controlled study's next task: nothing else
    models = [str(v) for v in form.getlist("models")]
    if models:
        fields["models"] = models
    if form.get("tests_kind") == "io":
        fields["tests"] = {"kind": "io", "examples": str(form.get("tests_examples") or "")}
    else:
        fields["tests"] = {"kind": "python", "code": str(form.get("tests_code") or "")}
    return fields


@router.post("/study/tasks")
async def new_task(request: Request, platform: PlatformDep, who: Participant) -> Response:
    form = await request.form()
    try:
        row = await create_task(platform, who, validate(TaskInput, task_fields(form)))
    except (StudyError, ApiError) as exc:
        error = translate(exc)
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        models = [str(v) for v in form.getlist("models")]
        return _study_page(
            request, who, error.status, error=error.message, form={**values, "models": models}
        )
    return redirect(f"/tasks/{row.id}")


@router.get("/tasks/{task_id}")
def task_page(
    task_id: str, request: Request, platform: PlatformDep, who: Participant
) -> HTMLResponse:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    view = views.task_view(
        platform.context.store, platform.context.catalog, row, platform.hub.get(row.id)
    )
    task_models = row.models if row.mode == "named" else []  # blind: no names in the page
    return _framing_previews(
        request, render(request, "task.html", task=view, task_models=task_models)
    )


def _framing_previews(request: Request, response: HTMLResponse) -> HTMLResponse:
    """The task page may frame its answers' previews, and nothing else."""
    response.headers["Content-Security-Policy"] = task_page_csp(str(request.base_url))
    return response


@router.get("/preview/tasks/{task_id}/answers/{position}")
def answer_preview(
    task_id: str,
    position: int,
    platform: PlatformDep,
    who: Participant,
    turn: int = Query(default=1, ge=1, description="the answer's turn (default 1, the answer)"),
) -> HTMLResponse:
    """An answer that is a web page, as one document under its own sandboxing policy
    (``web/preview.py``); the task page frames it when the participant asks for it."""
    assert who.participant_id
    store = platform.context.store
    row = own_task(store, who.participant_id, task_id)
    generation = generation_at(store, row, position, turn)
    try:
        document = preview_document(stored_blocks(generation.code, generation.text))
    except LookupError as exc:
        raise UnknownItem(str(exc)) from None
    return HTMLResponse(document, headers=PREVIEW_HEADERS)


def _task_error(request: Request, row: Any, exc: StudyError | ApiError) -> HTMLResponse:
    platform = platform_of(request)
    error = translate(exc)
    view = views.task_view(
        platform.context.store, platform.context.catalog, row, platform.hub.get(row.id)
    )
    task_models = row.models if row.mode == "named" else []
    page = render(
        request,
        "task.html",
        error.status,
        task=view,
        task_models=task_models,
        follow_up_error=error.message,
    )
    return _framing_previews(request, page)


@router.post("/tasks/{task_id}/follow-up")
async def follow_up_form(
    task_id: str, request: Request, platform: PlatformDep, who: Participant
) -> Response:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    form = await request.form()
    try:
        follow_up(platform, who, row, validate(FollowUpInput, {"text": str(form.get("text", ""))}))
    except (StudyError, ApiError) as exc:
        return _task_error(request, row, exc)
    return redirect(f"/tasks/{row.id}")


@router.post("/tasks/{task_id}/answers/{position}/repair")
async def repair_form(
    task_id: str, position: int, request: Request, platform: PlatformDep, who: Participant
) -> Response:
    assert who.participant_id
    row = own_task(platform.context.store, who.participant_id, task_id)
    form = await request.form()
    turn = str(form.get("turn") or "")
    try:
        data = validate(RepairInput, {"turn": int(turn)} if turn.isdigit() else {})
        repair(platform, who, row, position, data)
    except (StudyError, ApiError) as exc:
        return _task_error(request, row, exc)
    return redirect(f"/tasks/{row.id}")


@router.get("/history")
def history(request: Request, platform: PlatformDep, who: Participant) -> HTMLResponse:
    assert who.participant_id
    tasks = views.history(platform.context.store, platform.context.catalog, who.participant_id)
    return render(request, "history.html", tasks=tasks)


def _survey_page(
    request: Request,
    who: Any,
    status: int = 200,
    errors: Any = (),
    question_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    platform = platform_of(request)
    study = studies.get_study(platform.context.store, who.study_id)
    data = views.survey_view(platform.context.store, study, who.participant_id)
    return render(
        request,
        "survey.html",
        status,
        errors=list(errors),
        question_errors=question_errors or {},
        **data,
    )


@router.get("/survey")
def survey_page(request: Request, who: Participant) -> HTMLResponse:
    return _survey_page(request, who)


@router.post("/survey")
async def survey_submit(request: Request, platform: PlatformDep, who: Participant) -> Response:
    assert who.participant_id and who.study_id
    study = studies.get_study(platform.context.store, who.study_id)
    form = await request.form()
    instrument = survey.instrument_of(study)
    values: dict[str, Any] = {}
    for question in instrument.questions:
        given = [str(v) for v in form.getlist(question.id)]
        values[question.id] = given if question.kind == "multi" else (given[0] if given else None)
    store = platform.context.store
    try:
        question_errors = survey.save_each(store, study, who.participant_id, values)
    except StudyError as exc:  # already submitted: the answers are locked, nothing is changed
        error = translate(exc)
        return _survey_page(request, who, error.status, [error.message])
    errors = list(question_errors.values())
    if not errors:
        try:
            survey.submit(store, study, who.participant_id)
        except StudyError as exc:
            errors.append(translate(exc).message)
            question_errors = survey.missing_questions(store, study, who.participant_id)
    if errors:
        return _survey_page(request, who, 400, errors, question_errors)
    return redirect("/thanks")


@router.get("/thanks")
def thanks(request: Request, platform: PlatformDep, who: Participant) -> HTMLResponse:
    assert who.participant_id
    summary = judgements.summary(platform.context.store, who.participant_id)
    return render(request, "thanks.html", summary=summary)
