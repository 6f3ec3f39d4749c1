"""Votes on answers that name their own model are flagged; ordinary prose is not."""

from __future__ import annotations

import pytest

from codearena.catalog import Catalog
from codearena.config import Settings
from codearena.web.judgements import names_own_model, self_names


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
