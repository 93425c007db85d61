"""Records to Arrow tables, so a batch goes into DuckDB in one columnar insert, not row by row."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from knowledge_base._records import DatasetRecord, RunRecord
from knowledge_base._schema import HYPERPARAMETER_TYPES, METRICS

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
}
_TIMESTAMP = pa.timestamp("us", tz="UTC")


def runs_table(records: Sequence[RunRecord]) -> pa.Table:
    """The `runs` rows of `records`, with the column types of the table."""

    def column(attribute: str) -> list:
        return [getattr(r, attribute) for r in records]

    columns: dict[str, pa.Array] = {
        "id": pa.array(column("id"), pa.string()),
        "dataset_id": pa.array(column("dataset_id"), pa.string()),
        "study_id": pa.array(column("study_id"), pa.string()),
    }
    for name, kind in HYPERPARAMETER_TYPES.items():
        columns[name] = pa.array([r.config.get(name) for r in records], _ARROW_TYPES[kind])
    extras = [r.config_extra for r in records]
    columns["config_extra"] = pa.array(
        [json.dumps(e, sort_keys=True, default=str) if e else None for e in extras], pa.string()
    )
    for name in ("status", "objective", "direction"):
        columns[name] = pa.array(column(name), pa.string())
    columns["value"] = pa.array(column("value"), pa.float64())
    for name in METRICS:
        columns[name] = pa.array([r.metrics.get(name) for r in records], pa.float64())
    columns["best_epoch"] = pa.array(column("best_epoch"), pa.int32())
    columns["epochs_run"] = pa.array(column("epochs_run"), pa.int32())
    columns["wall_seconds"] = pa.array(column("wall_seconds"), pa.float64())
    columns["device"] = pa.array(column("device"), pa.string())
    columns["seed"] = pa.array(column("seed"), pa.int64())
    columns["source"] = pa.array(column("source"), pa.string())
    columns["library_version"] = pa.array(column("library_version"), pa.string())
    columns["created"] = pa.array(column("created"), _TIMESTAMP)
    columns["error"] = pa.array(column("error"), pa.string())
    return pa.table(columns)


def curves_table(records: Sequence[RunRecord]) -> pa.Table:
    """The `curves` rows of every record's learning curve."""
    run_ids = [r.id for r in records for _ in r.curve]
    points = [p for r in records for p in r.curve]
    return pa.table(
        {
            "run_id": pa.array(run_ids, pa.string()),
            "epoch": pa.array([p.epoch for p in points], pa.int32()),
            "train_loss": pa.array([p.train_loss for p in points], pa.float64()),
            "val_loss": pa.array([p.val_loss for p in points], pa.float64()),
            "val_metric": pa.array([p.val_metric for p in points], pa.float64()),
            "lr": pa.array([p.lr for p in points], pa.float64()),
        }
    )


def datasets_table(records: Sequence[DatasetRecord]) -> pa.Table:
    """The `datasets` rows of `records`."""
    return pa.table(
        {
            "id": pa.array([r.id for r in records], pa.string()),
            "name": pa.array([r.name for r in records], pa.string()),
            "task": pa.array([r.task for r in records], pa.string()),
            "n_rows": pa.array([r.n_rows for r in records], pa.int64()),
            "n_features": pa.array([r.n_features for r in records], pa.int32()),
            "n_classes": pa.array([r.n_classes for r in records], pa.int32()),
            "target": pa.array([r.target for r in records], pa.string()),
            "created": pa.array([r.created for r in records], _TIMESTAMP),
        }
    )
