"""The `KnowledgeBase` contract, method by method, on real DuckDB files and in memory."""

from __future__ import annotations

import math
from datetime import UTC, timedelta

import numpy as np
import pandas as pd
import pytest
from kb_factories import dataset, run

from hpo_common.errors import InputError, NotFoundError
from knowledge_base import (
    HYPERPARAMETERS,
    DatasetRecord,
    KnowledgeBase,
    RunRecord,
    default_kb_path,
    stable_run_id,
)
from training import Table, TrainConfig


@pytest.fixture(params=["file", "memory"])
def kb(request, tmp_path) -> KnowledgeBase:
    store = KnowledgeBase(tmp_path / "kb.duckdb" if request.param == "file" else ":memory:")
    store.add_dataset(dataset(0))
    return store


def test_typed_columns_are_exactly_trainconfigs_hyperparameters() -> None:
    assert HYPERPARAMETERS == TrainConfig.field_names()


def test_add_dataset_is_idempotent_by_fingerprint(kb) -> None:
    again = kb.add_dataset(DatasetRecord("fp0", "renamed", "binary", 1, 1, 2))
    assert again.name == "data0"
    assert kb.get_dataset("fp0") == again
    assert list(kb.datasets()["id"]) == ["fp0"]


def test_add_datasets_in_one_transaction_counts_new_ones(kb) -> None:
    assert kb.add_datasets([dataset(0), dataset(1), dataset(2)]) == 2
    assert kb.add_datasets([]) == 0
    assert sorted(kb.datasets()["id"]) == ["fp0", "fp1", "fp2"]


def test_dataset_from_a_training_table_keeps_fingerprint_and_shape(kb) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]})
    table = Table(frame, pd.Series([0, 1, 0], name="y"), "y", "binary", "fp-t", "tiny")
    stored = kb.add_dataset(DatasetRecord.from_table(table))
    assert (stored.id, stored.n_rows, stored.n_features, stored.n_classes) == ("fp-t", 3, 2, 2)
    assert stored.target == "y"


def test_get_unknown_dataset_names_it(kb) -> None:
    with pytest.raises(NotFoundError, match="'nope'"):
        kb.get_dataset("nope")


def test_datasets_count_their_runs(kb) -> None:
    kb.add_dataset(dataset(1))
    kb.log_runs([run("fp0"), run("fp0"), run("fp1")])
    counts = dict(zip(kb.datasets()["id"], kb.datasets()["n_runs"], strict=True))
    assert counts == {"fp0": 2, "fp1": 1}


def test_meta_features_are_wide_overwritable_and_filterable(kb) -> None:
    kb.add_dataset(dataset(1))
    kb.set_meta_features("fp0", {"n_rows": 100, "skew": 0.5})
    kb.set_meta_features("fp1", {"n_rows": 101})
    kb.set_meta_features("fp0", {"skew": 0.7})
    wide = kb.meta_features()
    assert list(wide.columns) == ["n_rows", "skew"]
    assert wide.loc["fp0", "skew"] == 0.7 and wide.loc["fp0", "n_rows"] == 100
    assert math.isnan(wide.loc["fp1", "skew"])
    assert list(kb.meta_features(["fp1"]).index) == ["fp1"]


def test_meta_features_of_unknown_dataset_are_refused(kb) -> None:
    with pytest.raises(NotFoundError):
        kb.set_meta_features("nope", {"x": 1.0})


def test_study_lifecycle(kb) -> None:
    study = kb.start_study("fp0", "surrogate", budget=10, objective="log_loss",
                           direction="minimize", space={"learning_rate": [1e-4, 1.0]})
    assert kb.get_study(study.id).status == "running"
    done = kb.finish_study(study.id)
    assert done.status == "finished" and done.finished is not None
    assert done.space == {"learning_rate": [1e-4, 1.0]}
    assert list(kb.studies("fp0")["id"]) == [study.id]
    with pytest.raises(InputError, match="running"):
        kb.finish_study(study.id, "running")
    with pytest.raises(NotFoundError):
        kb.start_study("nope", "random")


def test_log_run_round_trips_every_field_and_is_idempotent(kb) -> None:
    study = kb.start_study("fp0", "random")
    record = run("fp0", 0.25, epochs=4, study_id=study.id, stop_reason="converged",
                 config={"optimizer": "sgd", "learning_rate": 0.1, "nesterov": True,
                         "momentum": 0.9, "width": 64, "my_extra": [1, 2]})
    assert kb.log_run(record) is True
    assert kb.log_run(record) is False
    assert kb.get_run(record.id) == record
    row = kb.runs().iloc[0]
    assert (row["optimizer"], row["width"]) == ("sgd", 64)
    assert row["config_extra"] == '{"my_extra": [1, 2]}'
    assert row["stop_reason"] == "converged"


def test_a_batch_with_an_unknown_dataset_stores_nothing(kb) -> None:
    with pytest.raises(NotFoundError, match="fp9"):
        kb.log_runs([run("fp0"), run("fp9")])
    with pytest.raises(NotFoundError, match="study"):
        kb.log_runs([run("fp0", study_id="no-such-study")])
    assert kb.stats()["runs"] == 0


def test_log_runs_counts_only_new_runs(kb) -> None:
    first = [run("fp0", i / 10, run_id=f"r{i}") for i in range(5)]
    assert kb.log_runs(first) == 5
    assert kb.log_runs(first[:2] + [run("fp0", run_id="r9"), run("fp0", run_id="r9")]) == 1
    assert kb.stats()["runs"] == 6
    assert kb.log_runs([]) == 0


def test_runs_filters_columns_and_limit(kb) -> None:
    kb.add_dataset(dataset(1, "regression"))
    kb.log_runs([
        run("fp0", 0.1, run_id="a"),
        run("fp0", math.nan, status="failed", error="boom", run_id="b"),
        run("fp1", 0.8, objective="r2", direction="maximize", metrics={"r2": 0.8},
            source="log", run_id="c"),
    ])
    assert list(kb.runs(dataset_id="fp0")["id"]) == ["a", "b"]
    assert list(kb.runs(status=["failed", "pruned"])["id"]) == ["b"]
    assert list(kb.runs(source="log", objective="r2")["id"]) == ["c"]
    assert len(kb.runs(limit=2)) == 2
    assert list(kb.runs(columns=["id", "learning_rate"]).columns) == ["id", "learning_rate"]
    with pytest.raises(InputError, match="unknown run column"):
        kb.runs(columns=["id", "nope"])


def test_run_rows_are_the_runs_without_pandas(kb) -> None:
    kb.log_runs([run("fp0", 0.1, run_id="a"), run("fp0", math.nan, status="failed", run_id="b")])
    frame, rows = kb.runs(), kb.run_rows()
    assert [row["id"] for row in rows] == list(frame["id"]) == ["a", "b"]
    assert rows[0]["value"] == 0.1 and math.isnan(rows[1]["value"])
    created = rows[0]["created"]
    assert created.utcoffset() == timedelta(0) and created == frame["created"][0]
    assert created.tzinfo is UTC
    assert kb.run_rows(status="failed", columns=["id"], limit=1) == [{"id": "b"}]
    with pytest.raises(InputError, match="unknown run column"):
        kb.run_rows(columns=["nope"])


def test_numpy_values_are_typed_like_python_ones() -> None:
    config = {"batch_size": np.int64(64), "dropout": np.float32(0.1), "batch_norm": np.bool_(True)}
    assert run("fp0", config=config).config == config


def test_curves_are_sorted_per_run(kb) -> None:
    kb.log_runs([run("fp0", epochs=3, run_id="x"), run("fp0", epochs=2, run_id="y")])
    curves = kb.curves(["y", "x"])
    assert list(zip(curves["run_id"], curves["epoch"], strict=True)) == [
        ("x", 1), ("x", 2), ("x", 3), ("y", 1), ("y", 2)
    ]


def test_best_runs_respect_each_objectives_direction(kb) -> None:
    kb.add_dataset(dataset(1, "regression"))
    kb.log_runs([
        run("fp0", 0.3, run_id="a"), run("fp0", 0.1, run_id="b"),
        run("fp0", math.nan, status="failed", run_id="c"),
        run("fp0", 0.01, status="pruned", run_id="d"),
        run("fp1", 0.2, objective="r2", direction="maximize", run_id="e"),
        run("fp1", 0.9, objective="r2", direction="maximize", run_id="f"),
    ])
    assert list(kb.best_runs()["id"]) == ["b", "f"]
    assert list(kb.best_runs("r2", k=2)["id"]) == ["f", "e"]
    assert list(kb.best_runs(dataset_ids=["fp0"], k=5)["id"]) == ["b", "a"]
    with pytest.raises(InputError):
        kb.best_runs(k=0)


def test_stats_count_everything(kb) -> None:
    kb.log_runs([run("fp0", run_id="a"), run("fp0", status="pruned", run_id="b")])
    stats = kb.stats()
    assert (stats["datasets"], stats["runs"], stats["curves"]) == (1, 2, 6)
    assert stats["runs_by_status"] == {"ok": 1, "pruned": 1}
    assert stats["schema_version"] == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "done"}, "status must be one of ok, pruned"),
        ({"source": "web"}, "source must be one of"),
        ({"direction": "up"}, "direction must be one of"),
        ({"stop_reason": "bored"}, "stop_reason must be one of max_epochs, patience"),
        ({"metrics": {"f1": 0.5}}, "unknown metric"),
        ({"config": {"learning_rate": "fast"}}, "learning_rate must be a number"),
        ({"config": {"batch_size": 1.5}}, "batch_size must be an integer"),
        ({"config": {"dropout": True}}, "dropout must be a number"),
        ({"config": {"dropout": np.bool_(True)}}, "dropout must be a number"),
        ({"config": {"batch_size": np.float64(64)}}, "batch_size must be an integer"),
        ({"config": {"batch_norm": 1}}, "batch_norm must be true or false"),
    ],
)
def test_invalid_run_records_are_refused(change, message) -> None:
    with pytest.raises(InputError, match=message):
        run("fp0", **change)


def test_stable_run_id_depends_on_content_only() -> None:
    a = stable_run_id("fp0", {"learning_rate": 0.1, "width": 8}, value=0.5, seed=1)
    assert a == stable_run_id("fp0", {"width": 8, "learning_rate": 0.1}, seed=1, value=0.5)
    assert a != stable_run_id("fp0", {"learning_rate": 0.1, "width": 8}, value=0.5, seed=2)
    assert RunRecord("fp0", {}, "log_loss", "minimize", 0.1).id != \
        RunRecord("fp0", {}, "log_loss", "minimize", 0.1).id


def test_default_path_env_var_then_xdg_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HPO_RECOMMEND_KB", str(tmp_path / "mine.duckdb"))
    assert default_kb_path() == tmp_path / "mine.duckdb"
    monkeypatch.delenv("HPO_RECOMMEND_KB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_kb_path()
    assert path == tmp_path / "xdg" / "hpo-recommend" / "kb.duckdb" and path.parent.is_dir()
    assert KnowledgeBase().path == path and path.exists()


def test_reads_in_one_block_share_one_connection_and_hold_the_lock(tmp_path, monkeypatch) -> None:
    import threading

    import duckdb

    from hpo_common.errors import KnowledgeBaseError

    path = tmp_path / "kb.duckdb"
    store = KnowledgeBase(path)
    store.add_dataset(dataset(0))
    store.log_run(run())
    opened: list[str] = []
    real_connect = duckdb.connect

    def counting_connect(database, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        opened.append(str(database))
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting_connect)
    waited: list[Exception] = []

    def other_thread() -> None:  # another thread must wait for the block to end
        try:
            KnowledgeBase(path, lock_timeout=0.2).stats()
        except KnowledgeBaseError as exc:
            waited.append(exc)

    with store.reading():
        runs, datasets, meta = store.runs(), store.datasets(), store.meta_features()
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert opened == [str(path)]
    assert len(runs) == 1 and list(datasets["id"]) == ["fp0"] and meta.empty
    assert len(waited) == 1 and "stayed locked" in str(waited[0])
    assert store.stats()["runs"] == 1  # and calls after the block open their own again
    assert len(opened) == 2
