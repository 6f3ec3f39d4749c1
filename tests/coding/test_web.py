"""The workbench over HTTP: authorization, CSRF, escaping, filters, forms and the JSON API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from codearena import coding
from codearena.store.platform_models import WebUser
from tests.coding.seed import add_answer, add_comment, make_study
from tests.web.conftest import Arena, Client

SCRIPT = '<script>alert("x")</script> & fast'
HTML = {"accept": "text/html"}


def owned_study(arena: Arena, client: Client) -> str:
    store = arena.context.store
    with store.session() as session:
        user = session.scalars(select(WebUser).where(WebUser.email == client.info["email"])).one()
    study = make_study(store, owner_id=user.id)
    client.info["study"] = study
    return study


def page(study: str) -> str:
    return f"/researcher/studies/{study}/coding"


async def test_authorization_matrix(arena: Arena) -> None:
    owner = await arena.staff()
    study = owned_study(arena, owner)
    answer = add_answer(arena.context.store, study, "q14", "fast")
    anonymous = await arena.client()
    participant = await arena.participant(study)
    other = await arena.staff()
    admin = await arena.staff("admin")
    base, api = page(study), f"/api/studies/{study}/coding"
    tag_form = {"codes": "fast"}
    expected = [(anonymous, 401), (participant, 403), (other, 404), (owner, 200), (admin, 200)]
    for client, status in expected:
        assert (await client.get(base)).status_code == status
        assert (await client.get(api)).status_code == status
        assert (await client.get(f"{base}/codebook.csv")).status_code == status
        form = await client.http.post(f"{base}/answers/survey/{answer}/codes", data=tag_form)
        assert form.status_code == (303 if status == 200 else status)
        tagged = await client.post(f"{api}/answers/survey/{answer}/codes", {"codes": ["quick"]})
        assert tagged.status_code == status
        if status != 200:
            assert "error" in tagged.json()
    anonymous_page = await anonymous.http.get(base, headers=HTML)
    assert (anonymous_page.status_code, anonymous_page.headers["location"]) == (303, "/login")
    assert [r.name for r in coding.answer_codes(arena.context.store, study, "survey", answer)] == [
        "fast",
        "quick",
    ]


async def test_posts_need_the_csrf_token(arena: Arena) -> None:
    owner = await arena.staff()
    study = owned_study(arena, owner)
    answer = add_answer(arena.context.store, study, "q14", "fast")
    url = f"{page(study)}/answers/survey/{answer}/codes"
    owner.http.headers.pop("X-CSRF-Token")
    assert (await owner.http.post(url, data={"codes": "fast"})).status_code == 403
    bad = await owner.http.post(url, data={"codes": "fast", "csrf_token": "forged"})
    assert bad.status_code == 403 and "CSRF" in bad.json()["error"]
    api = await owner.post(f"/api/studies/{study}/coding/categories", {"name": "x"})
    assert api.status_code == 403
    upload = await owner.http.post(
        f"{page(study)}/codebook", files={"file": ("b.csv", b"question,code,concept,category\n")}
    )
    assert upload.status_code == 403
    assert coding.codebook(arena.context.store, study).codes == []
    good = await owner.http.post(url, data={"codes": "fast", "csrf_token": owner.csrf})
    assert good.status_code == 303


async def test_answer_text_is_escaped(arena: Arena) -> None:
    owner = await arena.staff()
    study = owned_study(arena, owner)
    store = arena.context.store
    answer = add_answer(store, study, "q14", SCRIPT)
    add_comment(store, study, "<img src=x onerror=alert(1)>")
    coding.tag_answer(store, study, "survey", answer, ["<b>bold</b>"])
    response = await owner.http.get(page(study), headers=HTML)
    assert response.status_code == 200
    html = response.text
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; fast" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # only external scripts: /static/app.js and the workbench's /static/coding.js
    assert html.count("<script") == 2 and '<script src="/static/coding.js" defer>' in html


async def test_filters_narrow_the_answers(arena: Arena) -> None:
    owner = await arena.staff()
    study = owned_study(arena, owner)
    store = arena.context.store
    fast = add_answer(store, study, "q14", "Fast model")
    cheap = add_answer(store, study, "q15", "Cheap model")
    comment = add_comment(store, study, "Nice and fast")
    [code] = coding.tag_answer(store, study, "survey", fast, ["speed"])

    async def shown(query: str) -> list[str]:
        html = (await owner.http.get(page(study) + query, headers=HTML)).text
        return [k for k, a in (("fast", fast), ("cheap", cheap), ("comment", comment)) if a in html]

    assert await shown("") == ["fast", "cheap", "comment"]
    assert await shown("?question=q15") == ["cheap"]
    assert await shown("?question=comments") == ["comment"]
    assert await shown("?uncoded=1") == ["cheap", "comment"]
    assert await shown("?search=FAST") == ["fast", "comment"]
    codes_only = await owner.get(f"/api/studies/{study}/coding?code={code.id}")
    assert [a["id"] for a in codes_only.json()["answers"]] == [fast]
    assert (await shown(f"?code={code.id}&search=fast&uncoded=")) == ["fast"]


async def test_forms_tag_group_and_flash(arena: Arena) -> None:
    owner = await arena.staff()
    study = owned_study(arena, owner)
    store = arena.context.store
    answer = add_answer(store, study, "q14", "fast and cheap")
    base = page(study)
    back = "question=q14&search=fast&evil=https://x"
    response = await owner.http.post(
        f"{base}/answers/survey/{answer}/codes", data={"codes": "fast, cheap", "back": back}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{base}?question=q14&search=fast"
    html = (await owner.http.get(response.headers["location"], headers=HTML)).text
    assert "the answer now has &#39;cheap&#39;, &#39;fast&#39;" in html
    assert "the answer now has" not in (await owner.http.get(base, headers=HTML)).text  # one shot
    codes = {c.name: c.id for c in coding.codebook(store, study).codes}
    await owner.http.post(f"{base}/codes/{codes['fast']}/concept", data={"concept": "Speed"})
    [concept] = coding.codebook(store, study).ungrouped_concepts
    await owner.http.post(f"{base}/concepts/{concept.id}/category", data={"category": "Perf"})
    renamed = await owner.http.post(f"{base}/codes/{codes['cheap']}/rename", data={"name": "FAST"})
    html = (await owner.http.get(renamed.headers["location"], headers=HTML)).text
    assert "merge instead" in html and 'data-testid="error"' in html
    await owner.http.post(f"{base}/codes/{codes['cheap']}/merge", data={"into": codes["fast"]})
    book = coding.codebook(store, study)
    assert [(g.name, g.count) for g in book.categories] == [("Perf", 1)]
    assert [(c.name, c.count) for c in book.codes] == [("fast", 1)]
    html = (await owner.http.get(base, headers=HTML)).text
    assert "Answers by category" in html and "Perf" in html
    removed = await owner.http.post(f"{base}/answers/survey/{answer}/codes/{codes['fast']}/remove")
    assert removed.status_code == 303
    assert coding.codebook(store, study).coded == 0
    unknown = await owner.http.post(f"{base}/widgets/x/rename", data={"name": "y"})
    assert unknown.status_code == 303
    assert "no such kind" in (await owner.http.get(base, headers=HTML)).text


async def test_codebook_upload_and_download(arena: Arena) -> None:
    owner = await arena.staff()
    study = owned_study(arena, owner)
    base = page(study)
    good = b"question,code,concept,category\nq14,fast,Speed,Performance\ncomments,slow,Speed,\n"
    response = await owner.http.post(f"{base}/codebook", files={"file": ("book.csv", good)})
    assert response.status_code == 303
    html = (await owner.http.get(base, headers=HTML)).text
    assert "imported 2 rows: 2 new codes, 1 new concepts, 1 new categories" in html
    download = await owner.get(f"{base}/codebook.csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.text == good.decode().replace(
        "comments,slow,Speed,", "comments,slow,Speed,Performance"
    )
    bad = b"question,code,concept,category\nq14,other,,\nq77,x,,\n"
    await owner.http.post(f"{base}/codebook", files={"file": ("bad.csv", bad)})
    html = (await owner.http.get(base, headers=HTML)).text
    assert "line 3: unknown question &#39;q77&#39;" in html
    assert len(coding.codebook(arena.context.store, study).codes) == 2
    api = await owner.http.post(f"/api/studies/{study}/coding/codebook", content=bad)
    assert api.status_code == 400 and api.json()["problems"][0].startswith("line 3:")


async def test_json_api(arena: Arena) -> None:
    owner = await arena.staff()
    study = owned_study(arena, owner)
    store = arena.context.store
    answer = add_answer(store, study, "q14", "fast")
    api = f"/api/studies/{study}/coding"
    tagged = await owner.post(f"{api}/answers/survey/{answer}/codes", {"codes": ["fast", "quick"]})
    assert [c["name"] for c in tagged.json()["codes"]] == ["fast", "quick"]
    quick = tagged.json()["codes"][1]["id"]
    fast = tagged.json()["codes"][0]["id"]
    created = await owner.post(f"{api}/codes", {"question": "q15", "name": "slow"})
    assert created.status_code == 201
    conflict = await owner.post(f"{api}/codes/{quick}/rename", {"name": "Fast"})
    assert conflict.status_code == 409 and "merge instead" in conflict.json()["error"]
    merged = await owner.post(f"{api}/codes/{quick}/merge", {"into": fast})
    assert merged.status_code == 200, merged.text
    grouped = await owner.post(f"{api}/codes/{fast}/concept", {"concept": "Speed"})
    assert grouped.json() == {"message": "code 'fast' grouped"}
    view = (await owner.get(api)).json()
    assert [c["name"] for c in view["codebook"]["codes"]] == ["fast", "slow"]
    assert view["by_category"] == [{"category": None, "answers": [f"survey:{answer}"]}]
    untagged = await owner.http.delete(f"{api}/answers/survey/{answer}/codes/{fast}")
    assert untagged.json() == {"codes": []}
    missing = await owner.post(f"{api}/answers/survey/nope/codes", {"codes": ["x"]})
    assert missing.status_code == 404
    assert (await owner.post(f"{api}/codes/{fast}/explode", {})).status_code == 404
    assert (await owner.post(f"{api}/codes", {"name": "x", "bogus": 1})).status_code == 422
    await owner.post(f"{api}/categories", {"name": "Doomed"})
    [category] = coding.codebook(store, study).categories
    deleted = await owner.http.post(f"{api}/categories/{category.id}/delete")  # no body needed
    assert deleted.json() == {"message": "category deleted"}
    assert coding.codebook(store, study).categories == []


@pytest.mark.parametrize("kind", ["survey", "comment"])
async def test_foreign_answers_are_not_found(arena: Arena, kind: str) -> None:
    owner = await arena.staff()
    study = owned_study(arena, owner)
    other = make_study(arena.context.store, name="foreign")
    store = arena.context.store
    answer = (
        add_answer(store, other, "q14", "x") if kind == "survey" else add_comment(store, other, "x")
    )
    response = await owner.post(
        f"/api/studies/{study}/coding/answers/{kind}/{answer}/codes", {"codes": ["x"]}
    )
    assert response.status_code == 404
