"""`train_cv`: one config trained on each of k folds, summarised by the objective's mean and std."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from hpo_common.errors import DataError
from training.config import TrainConfig
from training.data import PreparedData
from training.metrics import METRIC_DIRECTIONS, resolve_metric
from training.results import CVResult
from training.train import train


def train_cv(
    config: TrainConfig,
    folds: Sequence[PreparedData],
    *,
    device: str = "auto",
    seed: int = 0,
    metric: str | None = None,
    callback: Callable[[int, float], bool | str] | None = None,
) -> CVResult:
    """Train `config` on every fold (see `training.cv_splits`) with the same seed.

    `callback` is passed to each fold's `train` (so a progress bar sees every epoch of every fold).
    The mean and std are over folds that ended "ok"; the others stay visible in `folds`.

    Example:
        >>> cv = train_cv(TrainConfig(max_epochs=10), cv_splits(table, folds=5))  # doctest: +SKIP
        >>> cv.mean, cv.std                                                       # doctest: +SKIP
    """
    if not folds:
        raise DataError("train_cv needs at least one fold, but got none")
    objective = resolve_metric(folds[0].task, metric)
    results = tuple(
        train(config, fold, device=device, seed=seed, metric=objective, callback=callback)
        for fold in folds
    )
    values = [r.value for r in results if r.status == "ok" and math.isfinite(r.value)]
    return CVResult(
        objective=objective,
        direction=METRIC_DIRECTIONS[objective],
        mean=float(np.mean(values)) if values else math.nan,
        std=float(np.std(values)) if values else math.nan,
        folds=results,
    )
