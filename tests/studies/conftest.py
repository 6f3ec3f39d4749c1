"""A store, the catalog and a study with a participant, for the services without HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from codearena.answers import extract_code
from codearena.catalog import Catalog
from codearena.config import Settings
from codearena.store import Store
from codearena.store.models import Generation, Task
from codearena.store.platform_models import Participant, Study, StudyTask, WebUser
from codearena.studies import participants
from codearena.studies.study import StudySpec, create_study
from tests.conftest import unique


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store(settings.database_url)
    yield store
    store.dispose()


@dataclass
class World:
    """Makes studies, participants and finished tasks in one store."""

    store: Store
    catalog: Catalog

    def study(self, mode: str = "named", n: int = 2, **fields: Any) -> Study:
        models = [unique("ok") for _ in range(n)]
        spec = StudySpec(name=f"study {mode}", models=models, mode=mode, **fields)
        return create_study(self.store, self.catalog, spec)

    def researcher(self) -> str:
        with self.store.session() as session:
            user = WebUser(email=f"{uuid.uuid4().hex[:8]}@example.org", role="researcher")
            user.password_hash = "not used"
            session.add(user)
        return user.id

    def participant(self, study: Study) -> Participant:
        person = participants.join(self.store, study, participants.JoinInput(pseudonym="ada"))
        participants.consent(self.store, person.id)
        return person

    def task(
        self,
        study: Study,
        person: Participant,
        texts: list[str] | None = None,
        status: str = "done",
        tests: dict[str, Any] | None = None,
    ) -> StudyTask:
        """A study task whose answers (``texts``, one per model) are all stored."""
        texts = texts if texts is not None else ["```python\nprint(1)\n```\n", "no code"]
        models = study.models[: len(texts)] or study.models[:2]
        with self.store.session() as session:
            task = Task(prompt="t", source="web", tests=tests)
            session.add(task)
            session.flush()
            for i, text in enumerate(texts):
                code = [b.to_dict() for b in extract_code(text)] if "```" in text else []
                session.add(
                    Generation(
                        task_id=task.id,
                        position=i,
                        model=models[i],
                        provider="fake",
                        status="ok",
                        text=text,
                        code=code,
                    )
                )
            row = StudyTask(
                study_id=study.id,
                participant_id=person.id,
                mode=study.mode,
                models=models,
                prompt="t",
                tests=tests,
                status=status,  # type: ignore[arg-type]
                task_id=task.id,
            )
            session.add(row)
        return row


@pytest.fixture
def world(store: Store, catalog: Catalog) -> World:
    return World(store, catalog)
