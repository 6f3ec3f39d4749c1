"""A controlled study's design travels with its export, and an export written before the design
columns and tables existed still imports (as an open study)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from codearena.catalog import Catalog
from codearena.exports import export_study, import_export
from codearena.exports.tables import ADDED_COLUMNS
from codearena.store import Store
from codearena.store.platform_models import DesignAssignment, DesignTask, Study
from codearena.studies.participants import JoinInput, join
from codearena.studies.study import StudySpec, TaskFileItem, create_study

TASKS = [
    TaskFileItem(key="t1", prompt="Sum two numbers", tests={"kind": "io", "examples": [["1 2\n", "3\n"]]}),
    TaskFileItem(key="t2", prompt="Say hello", category="basics", language="python"),
]  # fmt: skip


def _design_rows(
    store: Store, study_id: str
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with store.session() as s:
        tasks = [
            (t.key, t.position, t.prompt, t.category, t.language, t.tests)
            for t in s.scalars(
                select(DesignTask)
                .where(DesignTask.study_id == study_id)
                .order_by(DesignTask.position)
            )
        ]
        plans = [
            (a.slot, a.condition, a.items)
            for a in s.scalars(
                select(DesignAssignment)
                .where(DesignAssignment.study_id == study_id)
                .order_by(DesignAssignment.slot)
            )
        ]
    return tasks, plans


def test_design_round_trips_and_older_exports_import_as_open(
    tmp_path: Path, catalog: Catalog
) -> None:
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    models = ["openrouter:fake/one", "openrouter:fake/two", "openrouter:fake/three"]
    spec = StudySpec(name="controlled", models=models, mode="blind", design="between",
                     design_tasks=TASKS, seed=77)  # fmt: skip
    study = create_study(source, catalog, spec)
    for name in ("ann", "bob"):
        join(source, study, JoinInput(pseudonym=name))
    out = tmp_path / "export"
    export_study(source, study.id, out, "jsonl")
    target = Store(f"sqlite:///{tmp_path / 'b.db'}")
    assert import_export(target, out) == study.id
    with target.session() as s:
        copy = s.get(Study, study.id)
        assert copy is not None
        assert (copy.design, copy.design_seed, copy.pairing) == ("between", 77, "uniform")
    assert _design_rows(target, study.id) == _design_rows(source, study.id)
    assert len(_design_rows(target, study.id)[1]) == 2

    # the same export as a codearena before the design columns and files wrote it
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["tables"] = [
        t for t in manifest["tables"] if t["name"] not in ("design_tasks", "design_assignments")
    ]
    for table in manifest["tables"]:
        added = {name for name, _ in ADDED_COLUMNS.get(table["name"], ())}
        if not added:
            continue
        table["columns"] = [c for c in table["columns"] if c["name"] not in added]
        path = out / table["file"]
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text(
            "".join(json.dumps({k: v for k, v in r.items() if k not in added}) + "\n" for r in rows)
        )
    for name in ("design_tasks", "design_assignments"):
        (out / f"{name}.jsonl").unlink()
    (out / "manifest.json").write_text(json.dumps(manifest))
    older = Store(f"sqlite:///{tmp_path / 'c.db'}")
    assert import_export(older, out) == study.id
    with older.session() as s:
        copy = s.get(Study, study.id)
        assert copy is not None
        assert (copy.design, copy.design_seed, copy.pairing) == ("open", None, "uniform")
    assert _design_rows(older, study.id) == ([], [])
    for store in (source, target, older):
        store.dispose()


def test_the_report_states_the_design_its_seed_and_the_assigned(
    tmp_path: Path, catalog: Catalog
) -> None:
    from codearena.reports import build_report

    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    models = ["openrouter:fake/one", "openrouter:fake/two"]
    spec = StudySpec(name="crossed", models=models, mode="blind", design="crossover",
                     design_tasks=TASKS, seed=5, tasks_per_participant=1)  # fmt: skip
    study = create_study(store, catalog, spec)
    for name in ("ann", "bob", "cid"):
        join(store, study, JoinInput(pseudonym=name))
    text = build_report(store, study.id, tmp_path / "md", "md", rounds=50).path.read_text()
    assert "The study used a crossover design: every participant did 1 of the 2 tasks" in text
    assert "holds only approximately" in text
    assert "3 participants were assigned, by join order, with seed 5" in text
    open_spec = StudySpec(name="open", models=models, mode="blind", pairing="adaptive")
    adaptive = create_study(store, catalog, open_spec)
    text = build_report(store, adaptive.id, tmp_path / "md2", "md", rounds=50).path.read_text()
    assert "Blind pairs were drawn adaptively" in text and "crossover" not in text
    store.dispose()
