"""Records to Arrow tables, so a batch goes into DuckDB in one columnar insert, not row by row."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from knowledge_base._records import DatasetRecord, RunRecord
from knowledge_base._schema import HYPERPARAMETER_TYPES, HYPERPARAMETERS, METRICS, RUN_COLUMNS

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
}
_TIMESTAMP = pa.timestamp("us", tz="UTC")
_TYPED = frozenset(HYPERPARAMETERS)
_RUN_TYPES: dict[str, pa.DataType] = {
    **{name: pa.string() for name in RUN_COLUMNS},
    **{name: _ARROW_TYPES[kind] for name, kind in HYPERPARAMETER_TYPES.items()},
    **{name: pa.float64() for name in ("value", "wall_seconds", *METRICS)},
    "best_epoch": pa.int32(),
    "epochs_run": pa.int32(),
    "seed": pa.int64(),
    "created": _TIMESTAMP,
}


def _extra_json(config: Mapping[str, Any]) -> str | None:
    if config.keys() <= _TYPED:
        return None
    extra = {k: v for k, v in config.items() if k not in _TYPED}
    return json.dumps(extra, sort_keys=True, default=str)


def _run_row(r: RunRecord) -> tuple:
    """One record as a tuple in `RUN_COLUMNS` order (one pass per record is the fast path)."""
    return (
        r.id, r.dataset_id, r.study_id, *map(r.config.get, HYPERPARAMETERS),
        _extra_json(r.config), r.status, r.objective, r.direction, r.value,
        *map(r.metrics.get, METRICS), r.best_epoch, r.epochs_run, r.wall_seconds, r.device,
        r.seed, r.source, r.library_version, r.created, r.error, r.stop_reason,
    )


def runs_table(records: Sequence[RunRecord]) -> pa.Table:
    """The `runs` rows of `records`, with the column types of the table."""
    columns = zip(*map(_run_row, records), strict=True)
    return pa.table(
        {
            name: pa.array(values, _RUN_TYPES[name])
            for name, values in zip(RUN_COLUMNS, columns, strict=True)
        }
    )


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
