"""A KB export with one dataset held out by name: the leave-one-dataset-out KB the benchmarks
evaluate `suggest` and `tune` against must hold nothing of that dataset, and everything else."""

from __future__ import annotations

from pathlib import Path

from benchmarks._seed_kb import held_out_kb
from knowledge_base import KnowledgeBase
from recommender._kb import open_kb


def test_held_out_kb_drops_the_named_dataset_with_its_runs_and_curves(tmp_path: Path) -> None:
    export = tmp_path / "export"
    open_kb(tmp_path / "seed.duckdb").export_parquet(export)  # the first seed (conftest.py)
    seed = KnowledgeBase(tmp_path / "seed.duckdb")
    datasets = seed.datasets()
    name = str(datasets["name"].iloc[0])
    gone = set(datasets.loc[datasets["name"] == name, "id"])

    kb = KnowledgeBase(held_out_kb(export, name, tmp_path / "held_out" / "kb.duckdb"))
    assert name not in set(kb.datasets()["name"])
    runs = kb.runs()
    assert gone.isdisjoint(runs["dataset_id"]) and gone.isdisjoint(kb.meta_features().index)
    assert len(kb.meta_features()) == len(seed.meta_features().drop(index=list(gone)))
    assert len(runs) == int((~seed.runs()["dataset_id"].isin(gone)).sum())
    assert len(kb.curves(runs["id"].head(50))) == len(seed.curves(runs["id"].head(50))) > 0
