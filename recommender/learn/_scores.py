"""Scores comparable across datasets: per-dataset ranks turned into standard-normal quantiles.

Accuracy 0.97 on one dataset and 0.61 on another say nothing about each other, so the surrogate
learns a copula-transformed score (Salinas et al. 2020): within each dataset, runs are ranked on the
objective (best = highest score), ranks become quantiles in (0, 1) and then standard-normal values.
Failed and diverged runs, and runs without a value, take the worst rank of their dataset.

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame({"dataset_id": ["a", "a", "a"], "log_loss": [0.2, 0.5, None]})
    >>> normalised_scores(runs, objective_for_task=lambda task: "log_loss").round(2).tolist()
    [0.97, 0.0, -0.97]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from training.metrics import METRIC_DIRECTIONS, default_metric

BAD_STATUSES = ("diverged", "failed")


def objective_for(task: str, requested: str | None = None) -> str:
    """The objective a dataset of `task` is scored on: the requested one where it applies."""
    if requested is not None:
        applies = (
            requested in ("r2", "rmse", "mae")
            if task == "regression"
            else requested
            not in (
                "r2",
                "rmse",
                "mae",
            )
        )
        if applies and not (requested == "roc_auc" and task != "binary"):
            return requested
    return default_metric(task)


def normalised_scores(
    runs: pd.DataFrame,
    objective_for_task: Callable[[str], str] | None = None,
) -> pd.Series:
    """Copula-normalised score of each run, higher is better, aligned with `runs.index`.

    Args:
        runs: one row per run with `dataset_id`, a metric column per objective in use, and
            optionally `status` and `task` (missing `task` means every run uses the same objective)
            and `objective`, `direction`, `value`: a dataset with no value in its task's metric
            column (a black-box study's, any objective name) is ranked on its told values.
        objective_for_task: maps a task to the metric column that scores its runs.
    """
    from scipy.special import ndtri  # the normal quantile; scipy.stats would add ~1 s

    return pd.Series(ndtri(score_levels(runs, objective_for_task)), index=runs.index)


def score_levels(
    runs: pd.DataFrame,
    objective_for_task: Callable[[str], str] | None = None,
) -> pd.Series:
    """The levels in (0, 1) whose normal quantiles are `normalised_scores` (the same
    arguments): they order runs exactly as the scores do, without scipy (a warm `suggest`
    only orders)."""
    raw, groups = _oriented_values(runs, objective_for_task)
    ranks = raw.groupby(groups).rank(method="average")
    sizes = groups.groupby(groups).transform("size")
    return (ranks - 0.5) / sizes


def scaled_scores(
    runs: pd.DataFrame,
    objective_for_task: Callable[[str], str] | None = None,
) -> pd.Series:
    """Each run's objective on its dataset's own scale: 0 for the dataset's worst run, 1 for its
    best (min-max; failed and diverged runs take 0). Unlike the copula's ranks, it keeps how
    much better a run was, which is what a regret (and a greedy portfolio) is measured in.
    The arguments are `normalised_scores`'.

    Example:
        >>> runs = pd.DataFrame({"dataset_id": ["a"] * 3, "log_loss": [0.2, 0.3, None]})
        >>> scaled_scores(runs, objective_for_task=lambda task: "log_loss").tolist()
        [1.0, 0.0, 0.0]
    """
    raw, groups = _oriented_values(runs, objective_for_task)
    finite = raw.where(np.isfinite(raw))
    low = finite.groupby(groups).transform("min")
    span = finite.groupby(groups).transform("max") - low
    scaled = ((finite - low) / span.where(span > 0)).fillna(0.0)
    return scaled.where(np.isfinite(raw), 0.0)


def _oriented_values(
    runs: pd.DataFrame, objective_for_task: Callable[[str], str] | None
) -> tuple[pd.Series, pd.Series]:
    """Each run's objective signed so that higher is better (-inf for failed, diverged and
    missing), and the group it is scored within (its dataset, and objective for told values)."""
    objective_for_task = objective_for_task or (lambda task: objective_for(task))
    tasks = runs["task"] if "task" in runs else pd.Series("binary", index=runs.index)
    raw = pd.Series(np.nan, index=runs.index, dtype=float)
    for task, index in tasks.groupby(tasks).groups.items():
        metric = objective_for_task(str(task))
        values = pd.to_numeric(runs.loc[index, metric], errors="coerce").astype(float)
        sign = 1.0 if METRIC_DIRECTIONS[metric] == "maximize" else -1.0
        raw.loc[index] = sign * values
    groups = runs["dataset_id"].astype(str)
    told = _told_values(runs, raw, groups)
    if not told.empty:
        raw[told.index] = told
        objectives = runs.loc[told.index, "objective"].astype(str)
        groups[told.index] = groups[told.index] + "/" + objectives
    if "status" in runs:
        raw[runs["status"].isin(BAD_STATUSES)] = np.nan
    raw[~np.isfinite(raw)] = -np.inf  # worst of its dataset, ties with other failures
    return raw, groups


def _told_values(runs: pd.DataFrame, raw: pd.Series, groups: pd.Series) -> pd.Series:
    """The signed `value` of runs of datasets without any value in their task's metric column
    (a black-box study told "value", "loss", ...): each dataset is then ranked on the values its
    runs were told, per objective name, in each run's own direction."""
    if not {"value", "direction", "objective"} <= set(runs):
        return pd.Series(dtype=float)
    scored = np.isfinite(raw).groupby(groups).transform("any")
    rows = runs[~scored.to_numpy()]
    sign = np.where(rows["direction"] == "minimize", -1.0, 1.0)
    return pd.to_numeric(rows["value"], errors="coerce").astype(float) * sign


def copula(scores: np.ndarray) -> np.ndarray:
    """One dataset's scores (higher is better; NaN for failed runs, which rank worst) as
    standard-normal quantiles of their ranks, the scale `normalised_scores` gives the KB."""
    raw = np.where(np.isfinite(scores), scores, -np.inf)
    ranks = pd.Series(raw).rank(method="average").to_numpy()
    from scipy.special import ndtri

    return ndtri((ranks - 0.5) / len(raw))


def study_scores(
    values: Sequence[float], direction: str, statuses: Sequence[str] | None = None
) -> np.ndarray:
    """Copula scores of one study's raw objective values (`direction`: minimize or maximize),
    for callers that hold values rather than KB metric columns: reports, the Optuna sampler.

    Example:
        >>> study_scores([0.3, 0.1, float("nan")], "minimize").round(2).tolist()
        [0.0, 0.97, -0.97]
    """
    if len(values) == 0:
        return np.empty(0)
    signed = (1.0 if direction == "maximize" else -1.0) * np.asarray(values, dtype=float)
    if statuses is not None:
        signed[np.isin(np.asarray(statuses), BAD_STATUSES)] = np.nan
    return copula(signed)
