"""The HTML pages: forms post to these routes (CSRF-checked), which call the same services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select

from codearena import __version__
from codearena.prompting import REQUIREMENTS, TONES
from codearena.store.platform_models import StudyTask
from codearena.survey.instruments import BUILTIN
from codearena.web import auth, judgements, studies, survey, views
from codearena.web.csrf import issue_token
from codearena.web.deps import Joined, Participant, PlatformDep, Staff, check_csrf, current
from codearena.web.errors import ApiError
from codearena.web.state import platform_of
from codearena.web.tasks import TaskInput, TestsInput, create_task

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
def index(request: Request, platform: PlatformDep) -> HTMLResponse:
    providers = list(platform.context.settings.providers.values())
    configured = any(p.has_key for p in providers if p.needs_key)
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


def _researcher(request: Request, who: Any, status: int = 200, error: str | None = None) -> Any:
    platform = platform_of(request)
    return render(
        request,
        "researcher.html",
        status,
        error=error,
        studies=studies.list_studies(platform.context.store, who),
        prompt_options=studies.PROMPT_OPTIONS,
        surveys=list(BUILTIN),
        catalog=platform.context.catalog.all(),
        default_models="",
    )


@router.get("/researcher")
def researcher(request: Request, who: Staff) -> HTMLResponse:
    return _researcher(request, who)  # type: ignore[no-any-return]


@router.post("/researcher/studies")
async def create_study(request: Request, platform: PlatformDep, who: Staff) -> Response:
    form = await request.form()

    def number(name: str, kind: type) -> Any:
        raw = str(form.get(name) or "").strip()
        try:
            return kind(raw) if raw else None
        except ValueError:
            raise ApiError(400, f"{name} must be a number") from None

    try:
        spec = studies.StudySpec(
            name=str(form.get("name") or ""),
            models=str(form.get("models") or "").replace(",", "\n").splitlines(),
            mode=str(form.get("mode") or "named"),
            description=str(form.get("description") or ""),
            consent_text=str(form.get("consent_text") or ""),
            prompt_options=[str(v) for v in form.getlist("prompt_options")],
            survey=str(form.get("survey") or "") or None,
            budget_tasks=number("budget_tasks", int),
            budget_usd=number("budget_usd", float),
        )
        study = studies.create_study(
            platform.context.store, platform.context.catalog, spec, who.user_id
        )
    except (studies.StudyInputError, ApiError) as exc:
        return _researcher(request, who, 400, str(exc))  # type: ignore[no-any-return]
    return redirect(f"/researcher/studies/{study.id}")


@router.get("/researcher/studies/{study_id}")
def study_admin(study_id: str, request: Request, platform: PlatformDep, who: Staff) -> HTMLResponse:
    study = studies.get_owned_study(platform.context.store, who, study_id)
    return render(
        request,
        "study_admin.html",
        study=study,
        invite=studies.invite_url(platform.secret, study.id, platform.public_base(request)),
        stats=studies.study_stats(platform.context.store, study.id),
    )


@router.post("/researcher/studies/{study_id}/status")
def study_status(study_id: str, platform: PlatformDep, who: Staff, status: FormStr) -> Response:
    studies.get_owned_study(platform.context.store, who, study_id)
    studies.set_status(platform.context.store, study_id, status)
    return redirect(f"/researcher/studies/{study_id}")


@router.get("/join/{token}")
def join_page(token: str, request: Request, platform: PlatformDep) -> HTMLResponse:
    study = studies.study_from_token(platform.context.store, platform.secret, token)
    return render(request, "join.html", study=study, token=token)


@router.post("/join/{token}")
def join(
    token: str, request: Request, platform: PlatformDep, pseudonym: FormStr, email: OptStr = None
) -> Response:
    study = studies.study_from_token(platform.context.store, platform.secret, token)
    try:
        person = studies.join(platform.context.store, study, pseudonym, email)
    except ApiError as exc:
        return render(request, "join.html", 400, study=study, token=token, error=exc.message)
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
    studies.consent(platform.context.store, who.participant_id)
    return redirect("/study")


def _study_page(request: Request, who: Any, status: int = 200, **extra: Any) -> HTMLResponse:
    platform = platform_of(request)
    study = studies.get_study(platform.context.store, who.study_id)
    with platform.context.store.session() as session:
        used = session.scalar(
            select(func.count())
            .select_from(StudyTask)
            .where(StudyTask.participant_id == who.participant_id)
        )
    models = (
        [{"id": m, "label": views.model_label(platform.context.catalog, m)} for m in study.models]
        if study.mode == "named"
        else []
    )
    form = {"text": "", "models": [], "tests_kind": "python", **extra.pop("form", {})}
    return render(
        request,
        "study.html",
        status,
        study=study,
        models=models,
        used=used,
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


def parse_examples(raw: str) -> list[tuple[str, str]]:
    """``input`` / ``=>`` / ``expected`` blocks separated by ``---`` lines."""
    examples = []
    for block in raw.replace("\r\n", "\n").split("\n---\n"):
        if not block.strip():
            continue
        given, sep, expected = block.partition("\n=>\n")
        if not sep:
            raise ApiError(400, "each example needs its input, a line `=>`, then the output")
        examples.append((given + "\n", expected))
    return examples


@router.post("/study/tasks")
async def new_task(request: Request, platform: PlatformDep, who: Participant) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    models = [str(v) for v in form.getlist("models")]
    try:
        kind = "io" if values.get("tests_kind") == "io" else "python"
        tests = TestsInput(
            kind=kind,  # type: ignore[arg-type]
            code=values.get("tests_code", "") if kind == "python" else "",
            examples=parse_examples(values.get("tests_examples", "")) if kind == "io" else [],
        )
        data = TaskInput(
            text=values.get("text", ""),
            models=models or None,
            requirement=values.get("requirement") or None,
            tone=values.get("tone") or None,
            language=values.get("language") or None,
            tests=tests,
        )
        row = await create_task(platform, who, data)
    except ApiError as exc:
        return _study_page(
            request, who, exc.status, error=exc.message, form={**values, "models": models}
        )
    return redirect(f"/tasks/{row.id}")


@router.get("/tasks/{task_id}")
def task_page(
    task_id: str, request: Request, platform: PlatformDep, who: Participant
) -> HTMLResponse:
    assert who.participant_id
    row = views.load_own(platform.context.store, who.participant_id, task_id)
    view = views.task_view(
        platform.context.store, platform.context.catalog, row, platform.hub.get(row.id)
    )
    task_models = row.models if row.mode == "named" else []  # blind: no names in the page
    return render(request, "task.html", task=view, task_models=task_models)


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
    data = survey.survey_view(platform.context.store, study, who.participant_id)
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
    except ApiError as exc:  # already submitted: the answers are locked, nothing is changed
        return _survey_page(request, who, exc.status, [exc.message])
    errors = list(question_errors.values())
    if not errors:
        try:
            survey.submit(store, study, who.participant_id)
        except ApiError as exc:
            errors.append(exc.message)
            question_errors = survey.missing_questions(store, study, who.participant_id)
    if errors:
        return _survey_page(request, who, 400, errors, question_errors)
    return redirect("/thanks")


@router.get("/thanks")
def thanks(request: Request, platform: PlatformDep, who: Participant) -> HTMLResponse:
    assert who.participant_id
    summary = judgements.summary(platform.context.store, who.participant_id)
    return render(request, "thanks.html", summary=summary)
