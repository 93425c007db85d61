"""Hyperparameter importance of one study: permutation importance of a small LightGBM model.

The model learns the study's normalised scores from its encoded configurations; shuffling one
hyperparameter's column and measuring how much the fit (R²) drops says how much the scores depend
on it. With few runs the numbers are rough, which the report says next to the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
from sklearn.inspection import permutation_importance

from recommender.reports._data import StudyData

MIN_RUNS = 4


@dataclass(frozen=True)
class Importance:
    """Mean and spread of the R² drop per hyperparameter, most important first."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    n_runs: int


def importance(data: StudyData, *, seed: int = 0, n_repeats: int = 10) -> Importance | None:
    """Permutation importance over the hyperparameters that vary in the study; None if the
    study has fewer than `MIN_RUNS` runs or none of its hyperparameters vary."""
    runs = data.runs
    if len(runs) < MIN_RUNS:
        return None
    X = data.space.encode(runs)
    varying = [
        j for j in range(X.shape[1])
        if len(np.unique(X[:, j][~np.isnan(X[:, j])])) > 1
    ]
    if not varying:
        return None
    X = X[:, varying]
    names = [data.space.names[j] for j in varying]
    y = runs["score"].to_numpy(dtype=float)
    model = lgb.LGBMRegressor(
        n_estimators=100, learning_rate=0.1, num_leaves=7, min_child_samples=2,
        min_data_in_bin=1, random_state=seed, n_jobs=1, verbose=-1,
    ).fit(X, y)
    result = permutation_importance(
        model, X, y, n_repeats=n_repeats, random_state=seed, n_jobs=1
    )
    order = np.argsort(-result.importances_mean, kind="stable")
    return Importance(
        names=tuple(names[i] for i in order),
        mean=tuple(float(result.importances_mean[i]) for i in order),
        std=tuple(float(result.importances_std[i]) for i in order),
        n_runs=len(runs),
    )
