"""Typed records of what the knowledge base stores; DataFrames appear only at its boundary."""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hpo_common.errors import InputError
from hpo_common.version import library_version
from knowledge_base._schema import (
    DIRECTIONS,
    HYPERPARAMETER_TYPES,
    METRICS,
    SOURCES,
    STATUSES,
    STOP_REASONS,
    TASKS,
)

# numpy's integer and float scalars register as numbers.Integral and numbers.Real.
_PY_TYPES: dict[str, tuple[type, str]] = {
    "DOUBLE": (numbers.Real, "a number"),
    "INTEGER": (numbers.Integral, "an integer"),
    "BOOLEAN": (bool, "true or false"),
    "VARCHAR": (str, "a string"),
}


def _is_bool(value: Any) -> bool:
    """A Python or numpy bool. numpy is not imported for this: a value can only be a numpy bool
    if numpy is loaded already (the knowledge base needs no numpy to list runs)."""
    numpy = sys.modules.get("numpy")
    return isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_))


def utc_now() -> datetime:
    """The current time, timezone-aware, as every `created` column stores it."""
    return datetime.now(UTC)


def new_run_id() -> str:
    """A fresh random id for a run trained now (tune)."""
    return uuid.uuid4().hex


def stable_run_id(dataset_id: str, config: Mapping[str, Any], **fields: Any) -> str:
    """An id derived from a run's content, so importing the same run twice stores it once.

    Example:
        >>> stable_run_id("ds1", {"learning_rate": 0.1}, value=0.9, seed=0) == \\
        ...     stable_run_id("ds1", {"learning_rate": 0.1}, seed=0, value=0.9)
        True
    """
    payload = {"dataset_id": dataset_id, "config": dict(config), **fields}
    text = json.dumps(payload, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _check_choice(what: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{what} must be one of {', '.join(choices)}, but got {value!r}")


@dataclass(frozen=True)
class CurvePoint:
    """One epoch of a run's learning curve (the fields of training's `EpochStats`)."""

    epoch: int
    train_loss: float
    val_loss: float
    val_metric: float
    lr: float


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset known to the knowledge base; `id` is its content fingerprint."""

    id: str
    name: str
    task: str
    n_rows: int
    n_features: int
    n_classes: int = 0
    target: str | None = None
    created: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if not self.id:
            raise InputError("dataset id must be a non-empty fingerprint, but got ''")
        _check_choice("dataset task", self.task, TASKS)
        for name in ("n_rows", "n_features", "n_classes"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 0:
                raise InputError(f"dataset {name} must be an integer >= 0, but got {value!r}")

    @classmethod
    def from_table(cls, table: Any) -> DatasetRecord:
        """Describe a `training.Table` (read by attribute, so this package needs no torch)."""
        return cls(
            id=table.fingerprint,
            name=table.name,
            task=table.task,
            n_rows=int(table.n_rows),
            n_features=int(table.n_features),
            n_classes=int(table.n_classes),
            target=table.target,
        )


@dataclass(frozen=True)
class StudyRecord:
    """A search on one dataset (a `tune` call); its runs point to it by `study_id`."""

    id: str
    dataset_id: str
    strategy: str
    budget: int | None = None
    objective: str | None = None
    direction: str | None = None
    space: Mapping[str, Any] | None = None
    started: datetime = field(default_factory=utc_now)
    finished: datetime | None = None
    status: str = "running"


@dataclass(frozen=True)
class RunRecord:
    """One training run: its configuration, outcome, metrics and learning curve.

    Field names mirror `training.TrainResult`; `config` holds the hyperparameters by the names of
    `training.TrainConfig` (stored as typed columns) plus any others (stored as JSON).
    `value` is the objective at the best epoch, NaN when no epoch finished.
    """

    dataset_id: str
    config: Mapping[str, Any]
    objective: str
    direction: str
    value: float
    status: str = "ok"
    metrics: Mapping[str, float] = field(default_factory=dict)
    best_epoch: int = 0
    epochs_run: int = 0
    curve: tuple[CurvePoint, ...] = ()
    wall_seconds: float | None = None
    device: str | None = None
    seed: int | None = None
    error: str | None = None
    stop_reason: str | None = None
    study_id: str | None = None
    source: str = "tune"
    library_version: str = field(default_factory=library_version)
    created: datetime = field(default_factory=utc_now)
    id: str = field(default_factory=new_run_id)

    def __post_init__(self) -> None:
        if not self.dataset_id:
            raise InputError(f"run {self.id}: dataset_id must be non-empty")
        _check_choice(f"run {self.id}: status", self.status, STATUSES)
        _check_choice(f"run {self.id}: source", self.source, SOURCES)
        _check_choice(f"run {self.id}: direction", self.direction, DIRECTIONS)
        if self.stop_reason is not None:
            _check_choice(f"run {self.id}: stop_reason", self.stop_reason, STOP_REASONS)
        unknown = set(self.metrics) - set(METRICS)
        if unknown:
            raise InputError(
                f"run {self.id}: unknown metric(s) {', '.join(sorted(unknown))}; "
                f"valid names are: {', '.join(METRICS)}"
            )
        for name, value in self.config.items():
            kind = HYPERPARAMETER_TYPES.get(name)
            if kind is None or value is None:
                continue
            wanted_type, wanted = _PY_TYPES[kind]
            is_bool = _is_bool(value)
            if is_bool != (kind == "BOOLEAN") or not (is_bool or isinstance(value, wanted_type)):
                raise InputError(f"run {self.id}: {name} must be {wanted}, but got {value!r}")
        value = float("nan") if self.value is None else float(self.value)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "curve", tuple(self.curve))

    @classmethod
    def from_result(
        cls,
        result: Any,
        *,
        dataset_id: str,
        study_id: str | None = None,
        source: str = "tune",
        run_id: str | None = None,
    ) -> RunRecord:
        """Record a `training.TrainResult` (read by attribute, so this package needs no torch)."""
        curve = tuple(
            CurvePoint(p.epoch, p.train_loss, p.val_loss, p.val_metric, p.lr) for p in result.curve
        )
        metrics = {k: float(v) for k, v in result.metrics.items() if k in METRICS}
        return cls(
            dataset_id=dataset_id,
            config=result.config.to_dict(),
            objective=result.objective,
            direction=result.direction,
            value=result.value,
            status=result.status,
            metrics=metrics,
            best_epoch=result.best_epoch,
            epochs_run=result.epochs_run,
            curve=curve,
            wall_seconds=result.wall_seconds,
            device=result.device,
            seed=result.seed,
            error=result.error,
            stop_reason=result.stop_reason,
            study_id=study_id,
            source=source,
            id=run_id or new_run_id(),
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any], curve: tuple[CurvePoint, ...] = ()) -> RunRecord:
        """Rebuild a record from a `runs` row (as DuckDB returns it) and its curve."""
        config = {hp: row[hp] for hp in HYPERPARAMETER_TYPES if row.get(hp) is not None}
        config.update(json.loads(row["config_extra"]) if row.get("config_extra") else {})
        metrics = {m: row[m] for m in METRICS if row.get(m) is not None and not math.isnan(row[m])}
        return cls(
            dataset_id=row["dataset_id"],
            config=config,
            objective=row["objective"],
            direction=row["direction"],
            value=row["value"],
            status=row["status"],
            metrics=metrics,
            best_epoch=row["best_epoch"],
            epochs_run=row["epochs_run"],
            curve=curve,
            wall_seconds=row["wall_seconds"],
            device=row["device"],
            seed=row["seed"],
            error=row["error"],
            stop_reason=row.get("stop_reason"),
            study_id=row["study_id"],
            source=row["source"],
            library_version=row["library_version"],
            created=row["created"],
            id=row["id"],
        )
