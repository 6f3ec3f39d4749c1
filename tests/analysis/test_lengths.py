"""The open question on long descriptions, from the study's rows to the report."""

from __future__ import annotations

from pathlib import Path

from codearena.analysis.lengths import length_effects
from codearena.analysis.load import load_study
from codearena.reports import build_report
from codearena.store import Store
from codearena.store.models import Execution, Generation, Task
from codearena.store.platform_models import Participant, Study, StudyTask
from codearena.survey.instruments import STUDY_2025

MODEL = "m/short-memory"


def _study(store: Store) -> str:
    """A model that passes descriptions up to about 800 characters and fails longer ones (with
    two exceptions each way); a repair turn and a run without tests that must not count."""
    with store.session() as s:
        study = Study(name="lengths", models=[MODEL, "m/other"], mode="named",
                      survey_name=STUDY_2025.name, survey=STUDY_2025.to_dict())  # fmt: skip
        s.add(study)
        s.flush()
        s.add(Participant(id="P-LENGTH01", study_id=study.id, pseudonym="p"))
        for i in range(40):
            length = 100 + i * 50  # 100 to 2050 characters
            passed = (length <= 800) != (i in (3, 30))
            task = Task(prompt="x" * length, source="web")
            s.add(task)
            s.flush()
            s.add(StudyTask(task_id=task.id, study_id=study.id, participant_id="P-LENGTH01",
                            mode="named", models=[MODEL], prompt="x" * length, status="done"))  # fmt: skip
            first = Generation(task_id=task.id, position=0, model=MODEL, provider="openrouter",
                               status="ok", text="```python\npass\n```")  # fmt: skip
            s.add(first)
            s.flush()
            verdict = "passed" if passed else "failed"
            s.add(Execution(generation_id=first.id, task_id=task.id, language="python",
                            test_kind="python", verdict=verdict, backend="bwrap"))  # fmt: skip
            if i == 0:  # a later turn that passed, and a run without tests: neither counts
                repair = Generation(task_id=task.id, position=0, model=MODEL, provider="openrouter",
                                    status="ok", text="", turn=2, parent_id=first.id, kind="repair")  # fmt: skip
                s.add(repair)
                s.flush()
                s.add(Execution(generation_id=repair.id, task_id=task.id, language="python",
                                test_kind=None, verdict="ran", backend="bwrap"))  # fmt: skip
        return study.id


def test_length_effects_find_where_the_model_stops_passing(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'l.db'}")
    study_id = _study(store)
    (row,) = length_effects(load_study(store, study_id), rounds=200, seed=1)
    assert row["model"] == MODEL and row["n"] == 40 and row["passed"] == 15
    assert row["odds_per_doubling"] is not None and row["odds_per_doubling"] < 1
    assert row["l50"] is not None and 600 < row["l50"] < 1100
    assert row["l50_ci_low"] is not None and row["l50_ci_low"] < row["l50"] < row["l50_ci_high"]
    text = build_report(store, study_id, tmp_path / "md", "md", rounds=50).path.read_text()
    section = text.split("### Long descriptions", 1)[1].split("###", 1)[0]
    assert f"| {MODEL} | 15 of 40 | 100-2050 |" in section
    store.dispose()
