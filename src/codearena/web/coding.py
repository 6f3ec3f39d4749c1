"""The open-coding workbench: a page of plain HTML forms and the same actions as JSON.

A ``CodingError`` a JSON route lets through is answered by the app's handler
(``codearena.web.errors.translate``); a form shows it as its flash message.

Every route needs the study's researcher (or an admin) and, for POST/DELETE, the CSRF token.
Forms answer with a redirect back to the page (filters kept) and a one-shot flash message in a
signed cookie; the JSON routes under ``/api/studies/{id}/coding`` answer ``{"error": ...}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from starlette.datastructures import UploadFile

from codearena import coding
from codearena.coding import AnswerFilter, CodingError, FreeAnswer
from codearena.coding.actions import apply_action, create_item
from codearena.coding.answers import study_questions
from codearena.store import Store
from codearena.store.platform_models import Rating, Study, StudyTask
from codearena.studies.study import owned_study
from codearena.web.auth import Principal, owner_filter
from codearena.web.deps import PlatformDep, Staff, check_csrf
from codearena.web.errors import ApiError
from codearena.web.pages import render
from codearena.web.state import Platform


async def _csrf(request: Request) -> AsyncIterator[None]:
    """The platform's CSRF check; an uploaded form's temporary file is closed even if refused."""
    try:
        await check_csrf(request)
        yield
    finally:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            await (await request.form()).close()


router = APIRouter(dependencies=[Depends(_csrf)])
PAGE = "/researcher/studies/{study_id}/coding"
API = "/api/studies/{study_id}/coding"
FLASH_COOKIE = "codearena_coding_flash"
FILTER_KEYS = ("question", "code", "uncoded", "search")
MAX_UPLOAD = 2_000_000


class TagInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    codes: list[str]


class ItemInput(BaseModel):
    """Fields of the create and action calls; each call reads the ones it needs."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    question: str | None = None
    concept: str | None = None
    category: str | None = None
    into: str | None = None


def _owned(platform: Platform, who: Principal, study_id: str) -> Study:
    return owned_study(platform.context.store, study_id, owner_filter(who))


def answer_context(
    store: Store, study: Study, answers: list[FreeAnswer]
) -> dict[str, dict[str, str | None]]:
    """What a coder reads beside each answer (by ``kind:id``): the question's text and, for a
    rating comment, the rated answer's model and its task (id and text)."""
    texts = {q.id: q.text for q in study_questions(study)}
    comments = [a.id for a in answers if a.kind == "comment"]
    rated: dict[str, tuple[str, str, str]] = {}
    if comments:
        with store.session() as session:
            rows = session.execute(
                select(Rating.id, Rating.model, StudyTask.id, StudyTask.prompt)
                .join(StudyTask, StudyTask.id == Rating.study_task_id)
                .where(Rating.id.in_(comments), StudyTask.study_id == study.id)
            ).all()
        rated = {r[0]: (r[1], r[2], r[3]) for r in rows}
    context: dict[str, dict[str, str | None]] = {}
    for answer in answers:
        model, task_id, task_text = rated.get(answer.id, (None, None, None))
        if answer.kind != "comment":
            model = task_id = task_text = None
        context[f"{answer.kind}:{answer.id}"] = {
            "question_text": texts.get(answer.question),
            "model": model,
            "task_id": task_id,
            "task_text": task_text,
        }
    return context


# ----------------------------------------------------------------------------- page


def _filters(values: Mapping[str, str]) -> dict[str, str]:
    return {k: values[k] for k in FILTER_KEYS if values.get(k)}


def _answer_filter(values: Mapping[str, str]) -> AnswerFilter:
    return AnswerFilter(
        question=values.get("question") or None,
        code_id=values.get("code") or None,
        uncoded=values.get("uncoded") in ("1", "on", "true"),
        search=values.get("search") or None,
    )


def _serializer(platform: Platform) -> URLSafeSerializer:
    return URLSafeSerializer(platform.secret, salt="codearena-coding-flash")


def _back(
    platform: Platform, study_id: str, form: Mapping[str, Any], kind: str, text: str
) -> Response:
    raw = form.get("back")
    query = _filters(dict(parse_qsl(raw if isinstance(raw, str) else "")))
    url = PAGE.format(study_id=study_id) + (f"?{urlencode(query)}" if query else "")
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLASH_COOKIE,
        _serializer(platform).dumps({"study": study_id, "kind": kind, "text": text[:500]}),
        max_age=120,
        httponly=True,
        samesite="lax",
        path="/",
    )
    return response


def _flash(platform: Platform, request: Request, study_id: str) -> dict[str, str]:
    """The message of the last form of this study's workbench, if any (shown once)."""
    try:
        data = _serializer(platform).loads(request.cookies.get(FLASH_COOKIE, ""))
    except BadSignature:
        return {}
    if not isinstance(data, dict) or data.get("study") != study_id:
        return {}
    return {str(k): str(v) for k, v in data.items()}


async def _form_action(
    request: Request, platform: Platform, who: Any, study_id: str, call: Callable[..., str]
) -> Response:
    _owned(platform, who, study_id)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        message = call(platform.context.store, fields)
    except (CodingError, ApiError) as exc:
        return _back(platform, study_id, fields, "error", str(exc))
    return _back(platform, study_id, fields, "notice", message)


@router.get(PAGE, include_in_schema=False)
def workbench(study_id: str, request: Request, platform: PlatformDep, who: Staff) -> HTMLResponse:
    study = _owned(platform, who, study_id)
    store = platform.context.store
    values = {k: v for k, v in request.query_params.items() if k in FILTER_KEYS}
    everything = coding.list_answers(store, study_id)
    chosen = _answer_filter(values)
    book = coding.codebook(store, study_id)
    questions = [q for q in study_questions(study) if q.free_text]
    by_question: dict[str, list[coding.CodeCount]] = {q.id: [] for q in questions}
    for code in book.codes:
        by_question.setdefault(code.question, []).append(code)
    concepts = book.ungrouped_concepts + [c for g in book.categories for c in g.concepts]
    flash = _flash(platform, request, study_id)
    shown = [a for a in everything if chosen.keep(a)]
    response = render(
        request,
        "coding.html",
        study=study,
        questions=questions,
        filters=values,
        back=urlencode(_filters(values)),
        answers=shown,
        context=answer_context(store, study, shown),
        book=book,
        groups=coding.group_by_category(everything),
        codes_by_question=by_question,
        concepts=sorted(concepts, key=lambda c: c.name.casefold()),
        error=flash.get("text") if flash.get("kind") == "error" else None,
        notice=flash.get("text") if flash.get("kind") == "notice" else None,
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


@router.post(PAGE + "/answers/{kind}/{answer_id}/codes", include_in_schema=False)
async def page_tag(
    study_id: str, kind: str, answer_id: str, request: Request, platform: PlatformDep, who: Staff
) -> Response:
    def call(store: Store, form: Mapping[str, str]) -> str:
        names = (form.get("codes") or "").split(",")
        refs = coding.tag_answer(store, study_id, kind, answer_id, names)
        return "the answer now has " + ", ".join(repr(r.name) for r in refs)

    return await _form_action(request, platform, who, study_id, call)


@router.post(PAGE + "/answers/{kind}/{answer_id}/codes/{code_id}/remove", include_in_schema=False)
async def page_untag(
    study_id: str,
    kind: str,
    answer_id: str,
    code_id: str,
    request: Request,
    platform: PlatformDep,
    who: Staff,
) -> Response:
    def call(store: Store, _form: Mapping[str, str]) -> str:
        coding.untag_answer(store, study_id, kind, answer_id, code_id)
        return "code removed from the answer"

    return await _form_action(request, platform, who, study_id, call)


@router.post(PAGE + "/codebook", include_in_schema=False)
async def page_import(
    study_id: str, request: Request, platform: PlatformDep, who: Staff
) -> Response:
    _owned(platform, who, study_id)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _back(platform, study_id, form, "error", "choose a CSV file to import")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return _back(platform, study_id, form, "error", "the file is larger than 2 MB")
    try:
        report = coding.import_codebook(platform.context.store, study_id, data)
    except CodingError as exc:
        return _back(platform, study_id, form, "error", str(exc))
    return _back(platform, study_id, form, "notice", _report_text(report))


def _report_text(report: coding.ImportReport) -> str:
    return (
        f"imported {report.rows} rows: {report.codes_created} new codes, "
        f"{report.concepts_created} new concepts, {report.categories_created} new categories"
    )


@router.get(PAGE + "/codebook.csv", include_in_schema=False)
@router.get(API + "/codebook.csv", tags=["coding"])
def export(study_id: str, platform: PlatformDep, who: Staff) -> Response:
    """The study's codebook as CSV (question,code,concept,category)."""
    _owned(platform, who, study_id)
    text = coding.export_codebook(platform.context.store, study_id)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="codebook-{study_id}.csv"'},
    )


@router.post(PAGE + "/{entity}", include_in_schema=False)
async def page_create(
    study_id: str, entity: str, request: Request, platform: PlatformDep, who: Staff
) -> Response:
    def call(store: Store, form: Mapping[str, str]) -> str:
        return create_item(store, study_id, entity, form)

    return await _form_action(request, platform, who, study_id, call)


@router.post(PAGE + "/{entity}/{item_id}/{action}", include_in_schema=False)
async def page_act(
    study_id: str,
    entity: str,
    item_id: str,
    action: str,
    request: Request,
    platform: PlatformDep,
    who: Staff,
) -> Response:
    def call(store: Store, form: Mapping[str, str]) -> str:
        return apply_action(store, study_id, entity, item_id, action, form)

    return await _form_action(request, platform, who, study_id, call)


# ----------------------------------------------------------------------------- JSON API


def answer_dict(
    answer: FreeAnswer, context: Mapping[str, dict[str, str | None]] | None = None
) -> dict[str, Any]:
    """An answer as JSON; with ``context`` (:func:`answer_context`) also ``question_text``,
    ``model``, ``task_id`` and ``task_text``."""
    data: dict[str, Any] = {
        "kind": answer.kind,
        "id": answer.id,
        "question": answer.question,
        "participant_id": answer.participant_id,
        "text": answer.text,
        "codes": [asdict(c) for c in answer.codes],
    }
    if context is not None:
        data.update(context.get(f"{answer.kind}:{answer.id}", {}))
    return data


@router.get(API, tags=["coding"])
def api_workbench(
    study_id: str,
    platform: PlatformDep,
    who: Staff,
    question: Annotated[str | None, Query()] = None,
    code: Annotated[str | None, Query()] = None,
    uncoded: Annotated[bool, Query()] = False,
    search: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """The filtered free-text answers, the codebook with counts, and answers by category."""
    study = _owned(platform, who, study_id)
    store = platform.context.store
    everything = coding.list_answers(store, study_id)
    chosen = AnswerFilter(question, code, uncoded, search)
    shown = [a for a in everything if chosen.keep(a)]
    context = answer_context(store, study, shown)
    return {
        "answers": [answer_dict(a, context) for a in shown],
        "codebook": asdict(coding.codebook(store, study_id)),
        "by_category": [
            {"category": g.name, "answers": [f"{a.kind}:{a.id}" for a in g.answers]}
            for g in coding.group_by_category(everything)
        ],
    }


@router.post(API + "/answers/{kind}/{answer_id}/codes", tags=["coding"])
def api_tag(
    study_id: str, kind: str, answer_id: str, body: TagInput, platform: PlatformDep, who: Staff
) -> dict[str, Any]:
    """Add codes (by name, created for the answer's question when new) to an answer."""
    _owned(platform, who, study_id)
    refs = coding.tag_answer(platform.context.store, study_id, kind, answer_id, body.codes)
    return {"codes": [asdict(r) for r in refs]}


@router.delete(API + "/answers/{kind}/{answer_id}/codes/{code_id}", tags=["coding"])
def api_untag(
    study_id: str, kind: str, answer_id: str, code_id: str, platform: PlatformDep, who: Staff
) -> dict[str, Any]:
    """Remove a code from an answer."""
    _owned(platform, who, study_id)
    store = platform.context.store
    coding.untag_answer(store, study_id, kind, answer_id, code_id)
    refs = coding.answer_codes(store, study_id, kind, answer_id)
    return {"codes": [asdict(r) for r in refs]}


@router.post(API + "/codebook", tags=["coding"])
async def api_import(
    study_id: str, request: Request, platform: PlatformDep, who: Staff
) -> JSONResponse:
    """Import a codebook CSV sent as the request body (all or nothing)."""
    _owned(platform, who, study_id)
    data = await request.body()
    if len(data) > MAX_UPLOAD:
        raise ApiError(413, "the file is larger than 2 MB")
    try:
        report = coding.import_codebook(platform.context.store, study_id, data)
    except coding.CodebookError as exc:
        return JSONResponse({"error": str(exc), "problems": exc.problems}, status_code=400)
    return JSONResponse(asdict(report))


@router.post(API + "/{entity}", tags=["coding"], status_code=201)
def api_create(
    study_id: str, entity: str, body: ItemInput, platform: PlatformDep, who: Staff
) -> dict[str, str]:
    """Create a code (``question``, ``name``, optional ``concept``), a concept (``name``,
    optional ``category``) or a category (``name``)."""
    _owned(platform, who, study_id)
    message = create_item(platform.context.store, study_id, entity, body.model_dump())
    return {"message": message}


@router.post(API + "/{entity}/{item_id}/{action}", tags=["coding"])
def api_act(
    study_id: str,
    entity: str,
    item_id: str,
    action: str,
    platform: PlatformDep,
    who: Staff,
    body: ItemInput | None = None,
) -> dict[str, str]:
    """``rename`` (``name``), ``merge`` (``into``: the id of the item to keep), ``delete``,
    ``concept`` for a code (``concept`` name, blank: none), ``category`` for a concept."""
    _owned(platform, who, study_id)
    message = apply_action(
        platform.context.store,
        study_id,
        entity,
        item_id,
        action,
        (body or ItemInput()).model_dump(),
    )
    return {"message": message}
