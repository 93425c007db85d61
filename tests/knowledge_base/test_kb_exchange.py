"""Parquet export/import and merging: identical runs, and no duplicates on repetition."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from kb_factories import dataset, run

from hpo_common.errors import InputError, NotFoundError, SchemaVersionError
from knowledge_base import KnowledgeBase

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kb_v1.duckdb"


@pytest.fixture
def filled(tmp_path) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / "source.duckdb")
    kb.add_dataset(dataset(0))
    kb.add_dataset(dataset(1, "regression"))
    kb.set_meta_features("fp0", {"n_rows": 100.0})
    study = kb.start_study("fp0", "random", budget=3, space={"width": [16, 64]})
    kb.log_runs([run("fp0", i / 10, study_id=study.id, config={"width": 16 + i, "x": i})
                 for i in range(3)])
    kb.log_run(run("fp1", 0.7, objective="r2", direction="maximize", metrics={"r2": 0.7}))
    return kb


def _same(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> None:
    pd.testing.assert_frame_equal(
        a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    )


def test_export_then_import_into_an_empty_kb_gives_identical_data(filled, tmp_path) -> None:
    counts = filled.export_parquet(tmp_path / "export")
    assert counts == {"datasets": 2, "meta_features": 1, "studies": 1, "runs": 4, "curves": 12}
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert manifest["schema_version"] == filled.schema_version

    empty = KnowledgeBase(tmp_path / "copy.duckdb")
    assert empty.import_parquet(tmp_path / "export") == counts
    _same(filled.runs(), empty.runs(), ["id"])
    ids = filled.runs()["id"]
    _same(filled.curves(ids), empty.curves(ids), ["run_id", "epoch"])
    _same(filled.datasets(), empty.datasets(), ["id"])
    _same(filled.studies(), empty.studies(), ["id"])
    pd.testing.assert_frame_equal(filled.meta_features(), empty.meta_features())

    assert sum(empty.import_parquet(tmp_path / "export").values()) == 0
    assert empty.stats()["runs"] == 4


def test_merge_is_idempotent_and_reads_older_files_without_changing_them(filled, tmp_path) -> None:
    target = KnowledgeBase(tmp_path / "target.duckdb")
    assert target.merge(filled.path)["runs"] == 4
    assert sum(target.merge(filled.path).values()) == 0
    _same(filled.runs(), target.runs(), ["id"])

    old = tmp_path / "old.duckdb"
    shutil.copy(FIXTURE, old)
    before = old.read_bytes()
    assert target.merge(old)["runs"] == 3
    assert old.read_bytes() == before
    assert target.stats()["runs"] == 7


def test_merge_and_import_refuse_bad_sources(filled, tmp_path) -> None:
    with pytest.raises(InputError, match="into itself"):
        filled.merge(filled.path)
    with pytest.raises(NotFoundError):
        filled.merge(tmp_path / "absent.duckdb")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds none of"):
        filled.import_parquet(tmp_path / "empty")
    with pytest.raises(InputError, match="not a folder"):
        filled.import_parquet(tmp_path / "absent")


def test_import_refuses_an_export_from_a_newer_version(filled, tmp_path) -> None:
    folder = tmp_path / "export"
    filled.export_parquet(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 99}))
    with pytest.raises(SchemaVersionError, match="newer"):
        KnowledgeBase(":memory:").import_parquet(folder)


def test_import_of_runs_without_their_dataset_stores_nothing(filled, tmp_path) -> None:
    folder = tmp_path / "export"
    filled.export_parquet(folder)
    (folder / "datasets.parquet").unlink()
    (folder / "studies.parquet").unlink()
    (folder / "meta_features.parquet").unlink()
    fresh = KnowledgeBase(":memory:")
    fresh.add_dataset(dataset(0))
    with pytest.raises(NotFoundError, match="fp1"):
        fresh.import_parquet(folder)
    assert fresh.stats()["runs"] == 0
