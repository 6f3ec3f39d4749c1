"""The authorization matrix (each role x each endpoint), CSRF, and ownership."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import unique
from tests.web.conftest import Arena, Client

ROLES = ("anonymous", "pending", "participant", "researcher", "admin")
P, STAFF, ADMIN = {"participant"}, {"researcher", "admin"}, {"admin"}
JOINED = {"pending", "participant"}
ALL = set(ROLES)
# (method, path, JSON body, roles allowed). Bodies are invalid on purpose where a valid one
# would change state: an allowed role gets a 4xx other than 401/403, and nothing changes.
ENDPOINTS: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/api/session", None, ALL),
    ("POST", "/api/users", {"email": "x", "role": "nobody", "password": "short"}, ADMIN),
    ("GET", "/api/studies", None, STAFF),
    ("POST", "/api/studies", {"name": "", "models": []}, STAFF),
    ("GET", "/api/studies/{study}", None, STAFF),
    ("POST", "/api/studies/{study}/status", {"status": "open"}, STAFF),
    ("GET", "/api/study", None, JOINED),
    ("POST", "/api/tasks", {"text": ""}, P),
    ("GET", "/api/tasks", None, P),
    ("GET", "/api/tasks/{task}", None, P),
    ("GET", "/api/tasks/{task}/events", None, P),
    ("POST", "/api/tasks/{task}/answers/0/run", {"block_index": 99}, P),
    ("POST", "/api/tasks/{task}/answers/0/rating", {}, P),
    ("POST", "/api/tasks/{task}/vote", {"choice": "a"}, P),
    ("POST", "/api/tasks/{task}/answers/9/upvote", None, P),
    ("POST", "/api/tasks/{task}/answers/0/rating?turn=2", {}, P),
    ("POST", "/api/tasks/{task}/answers/9/upvote?turn=2", None, P),
    ("GET", "/preview/tasks/{task}/answers/0", None, P),
    ("GET", "/api/survey", None, P),
    ("PUT", "/api/survey/answers/q1", {"value": "bogus"}, P),
    ("POST", "/api/survey/submit", None, P),
    ("GET", "/researcher", None, STAFF),
    ("GET", "/researcher/studies/{study}", None, STAFF),
    ("GET", "/consent", None, JOINED),
    ("GET", "/history", None, P),
    ("GET", "/survey", None, P),
    ("GET", "/thanks", None, P),
    ("GET", "/tasks/{task}", None, P),
    ("POST", "/api/consent", None, JOINED),  # last: it changes what "pending" may do
]


async def _setup(arena: Arena) -> tuple[dict[str, Client], dict[str, str]]:
    admin = await arena.staff("admin")
    researcher = await arena.staff("researcher")
    study = (
        await researcher.post("/api/studies", {"name": "m", "models": [unique("ok"), unique("ok")]})
    ).json()["id"]
    participant = await arena.participant(study)
    models = (await participant.get("/api/study")).json()["models"]
    task = (
        await participant.post("/api/tasks", {"text": "t", "models": [m["id"] for m in models]})
    ).json()["id"]
    await arena.finish(participant, task)
    clients = {
        "anonymous": await arena.client(),
        "pending": await arena.participant(study, consent=False),
        "participant": participant,
        "researcher": researcher,
        "admin": admin,
    }
    return clients, {"study": study, "task": task}


async def test_authorization_matrix(arena: Arena) -> None:
    clients, ids = await _setup(arena)
    failures = []
    for method, template, body, allowed in ENDPOINTS:
        path = template.format(**ids)
        for role in ROLES:
            client = clients[role]
            response = await client.http.request(method, path, json=body)
            denied = response.status_code in (401, 403)
            if role in allowed and denied:
                failures.append(f"{role} {method} {path}: {response.status_code} {response.text}")
            if role not in allowed:
                expected = 401 if role == "anonymous" else 403
                if response.status_code != expected:
                    failures.append(f"{role} {method} {path}: {response.status_code}, not denied")
                elif path.startswith("/api/"):
                    assert response.json()["error"]
    assert failures == [], "\n".join(failures)


async def test_participants_see_only_their_own_tasks(arena: Arena) -> None:
    clients, ids = await _setup(arena)
    study = (await clients["researcher"].get("/api/studies")).json()[0]["id"]
    other = await arena.participant(study)
    for method, path, body in [
        ("GET", f"/api/tasks/{ids['task']}", None),
        ("GET", f"/api/tasks/{ids['task']}/events", None),
        ("POST", f"/api/tasks/{ids['task']}/answers/0/rating", {"correctness": 3}),
        ("POST", f"/api/tasks/{ids['task']}/answers/0/upvote", None),
        ("GET", f"/tasks/{ids['task']}", None),
    ]:
        response = await other.http.request(method, path, json=body)
        assert response.status_code == 404, (path, response.text)
    assert (await other.get("/api/tasks")).json() == []
    researcher2 = await arena.staff("researcher")
    assert (await researcher2.get(f"/api/studies/{ids['study']}")).status_code == 404
    assert (await researcher2.get("/api/studies")).json() == []


@pytest.mark.parametrize("variant", ["missing", "wrong", "other-browser", "cross-origin"])
async def test_state_changing_requests_need_the_csrf_token(arena: Arena, variant: str) -> None:
    researcher = await arena.staff("researcher")
    other = await arena.client()
    headers = {"X-CSRF-Token": researcher.csrf}
    if variant == "missing":
        headers = {"X-CSRF-Token": ""}
    elif variant == "wrong":
        headers = {"X-CSRF-Token": "0" * 64}
    elif variant == "other-browser":
        headers = {"X-CSRF-Token": other.csrf}
    else:
        headers["Origin"] = "https://evil.example"
    body = {"name": "csrf", "models": [unique("ok"), unique("ok")]}
    response = await researcher.http.post("/api/studies", json=body, headers=headers)
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    assert (await researcher.get("/api/studies")).json() == []
    ok = await researcher.http.post(
        "/api/studies", json=body, headers={"X-CSRF-Token": researcher.csrf}
    )
    assert ok.status_code == 201


async def test_form_posts_need_the_csrf_field(arena: Arena) -> None:
    client = await arena.client()
    del client.http.headers["X-CSRF-Token"]
    form = {"email": "a@b.c", "password": "x"}
    response = await client.http.post("/login", data=form)
    assert response.status_code == 403
    response = await client.http.post("/login", data={**form, "csrf_token": client.csrf})
    assert response.status_code == 401  # past CSRF: wrong password


async def test_session_cookie_is_httponly_and_samesite(arena: Arena) -> None:
    client = await arena.client()
    from codearena.web.auth import create_user
    from tests.web.conftest import PASSWORD

    create_user(arena.context.store, "c@example.org", "researcher", PASSWORD)
    response = await client.post("/api/login", {"email": "c@example.org", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = await client.http.get("/", headers={"accept": "text/html"})
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]


async def test_before_consent_a_participant_sees_only_the_consent_text(arena: Arena) -> None:
    study = arena.study([unique("ok"), unique("ok")], description="secret plan")
    pending = await arena.participant(study, consent=False)
    before = (await pending.get("/api/study")).json()
    assert before["consented"] is False and before["consent_text"]
    assert "description" not in before and "models" not in before
    assert (await pending.post("/api/tasks", {"text": "x"})).status_code in (401, 403)
    assert (await pending.post("/api/consent")).status_code == 200
    after = (await pending.get("/api/study")).json()
    assert after["consented"] is True and after["description"] == "secret plan"
