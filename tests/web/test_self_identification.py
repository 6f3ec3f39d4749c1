"""Votes on answers that name their own model are flagged; ordinary prose is not."""

from __future__ import annotations

import pytest

from codearena.catalog import Catalog, ModelInfo
from codearena.config import Settings
from codearena.store.platform_models import Vote
from codearena.studies.selfident import catalog_names, names_own_model, self_identifies, self_names
from codearena.web.views import CHOICE_LABELS
from tests.conftest import unique
from tests.web.conftest import Arena


@pytest.mark.parametrize(
    "text",
    [
        "As GPT-4, I can help you with that.",
        "Sure! I am GPT-4, a model by OpenAI.",
        "I'm an AI model called GPT-4.",
        "Hello.\nAs an OpenAI model I cannot browse.",
        "I was trained by OpenAI, so here is the code:",
        "My name is GPT 4.",
    ],
)
def test_self_identifying_replies_are_flagged(settings: Settings, text: str) -> None:
    names = self_names(Catalog(settings), "openai/gpt-4")
    assert names_own_model(text, names)


@pytest.mark.parametrize(
    "text",
    [
        "This is a GPT tokenizer example.",
        "This is a Google Sheets script.",
        "Use it as a client of openai.ChatCompletion.",
        "A library built by Google handles the parsing.",
        "I am using the requests library here.",
        "def gpt4(): return 4",
    ],
)
def test_ordinary_code_answers_are_not_flagged(settings: Settings, text: str) -> None:
    catalog = Catalog(settings)
    for model in ("openai/gpt-4", "google/gemini-flash-1.5-8b"):
        assert not names_own_model(text, self_names(catalog, model)), (model, text)


@pytest.mark.parametrize(
    "text",
    [
        "I am Claude, an AI assistant made by Anthropic.",
        "As Claude, I would write it like this:",
        "I'm Qwen, created by Alibaba Cloud.",
        "I was trained by Meta.",
        "I am a large language model trained by Google.",
        "My name is DeepSeek.",
        "As Mistral, here is the function.",
        "I'm Llama 3, here is the code.",
        "I am GPT-4o, made by OpenAI.",
    ],
)
def test_any_catalog_model_or_vendor_is_caught_whatever_the_answers_model(
    settings: Settings, text: str
) -> None:
    """A fake model that claims to be Claude is flagged too: the name need not be its own."""
    assert self_identifies(Catalog(settings), text), text


@pytest.mark.parametrize(
    "text",
    [
        "class Meta:\n    ordering = ['name']",
        "As meta-programming goes, this decorator is simple.",
        "I am not sure the parser was built by Google.",
        "I'm using a client created by OpenAI here.",
        "As a result, the model returns 4.",
        "I am going to use the Claude API client.",
        "Llama and Mistral weights are on the hub.",
        "metadata = {'meta': 1}  # I am meta",
        "def deepseek_score(): ...",
    ],
)
def test_code_and_prose_about_models_are_not_caught(settings: Settings, text: str) -> None:
    assert not self_identifies(Catalog(settings), text), text


def test_names_come_from_every_catalog_entry(settings: Settings) -> None:
    catalog = Catalog(settings)
    catalog.add(
        [ModelInfo("acme/zephyrix-7b", "Acme: Zephyrix 7B", "openrouter", "acme/zephyrix-7b")]
    )
    names = catalog_names(catalog)
    for name in ("GPT 4o", "Gemini 1.5 Flash-8B", "Llama", "Meta", "Claude", "Zephyrix 7B", "acme"):
        assert name in names, name
    assert "auto" not in names
    assert self_identifies(catalog, "As Zephyrix 7B, I suggest:")
    assert self_identifies(catalog, "I was developed by Acme.")


async def test_blind_page_warns_before_the_vote_and_the_vote_is_flagged(arena: Arena) -> None:
    study = arena.study([unique("ok"), unique("ok")], mode="blind")
    client = await arena.participant(study)
    text = (
        "ECHO: I am Claude, made by Anthropic.\n\n```python\ndef add(a, b):\n    return a + b\n```"
    )
    task_id = (await client.post("/api/tasks", {"text": text})).json()["id"]
    view = await arena.finish(client, task_id)
    assert view["self_identified"] is True
    assert all(a["self_identified"] for a in view["answers"])
    page = (await client.get(f"/tasks/{task_id}")).text
    notice = page.split('data-testid="self-identified-notice"', 1)[1].split(">", 1)[0]
    assert "hidden" not in notice and "excluded" in page
    voted = await client.post(f"/api/tasks/{task_id}/vote", {"choice": "both_bad"})
    assert voted.status_code == 200, voted.text
    assert voted.json()["self_identified"] is True
    assert voted.json()["choice_label"] == "Both are bad"
    with arena.context.store.session() as session:
        assert session.query(Vote).one().self_identified is True
    page = (await client.get(f"/tasks/{task_id}")).text
    assert "Your vote: Both are bad" in page and "Your vote: both_bad" not in page


async def test_an_ordinary_blind_task_shows_no_notice(arena: Arena) -> None:
    study = arena.study([unique("ok"), unique("ok")], mode="blind")
    client = await arena.participant(study)
    task_id = (await client.post("/api/tasks", {"text": "Write add(a, b)"})).json()["id"]
    view = await arena.finish(client, task_id)
    assert view["self_identified"] is False
    page = (await client.get(f"/tasks/{task_id}")).text
    notice = page.split('data-testid="self-identified-notice"', 1)[1].split(">", 1)[0]
    assert "hidden" in notice
    for choice, label in CHOICE_LABELS.items():  # the status uses the buttons' own wording
        testid = "vote-bothbad" if choice == "both_bad" else f"vote-{choice}"  # kept as it was
        assert f'data-vote="{choice}" data-testid="{testid}" disabled>{label}</button>' in page
    voted = await client.post(f"/api/tasks/{task_id}/vote", {"choice": "tie"})
    assert voted.json()["self_identified"] is False and voted.json()["choice_label"] == "Tie"
