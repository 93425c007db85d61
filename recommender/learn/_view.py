"""A read-only snapshot of the knowledge base shaped for learning: runs with their dataset's task
and meta-features, normalised scores, and the feature matrices the surrogate reads.

Loading happens once per `suggest` or study (one short connection); everything after works on
DataFrames, so no connection is held while models fit or train. Only a surrogate's fit reads more:
the learning curves of the runs it expands to several epoch budgets (`_budgets`), through one more
short connection, so a `suggest` that finds its surrogate cached never reads a curve.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from knowledge_base import SCHEDULE_KEY, KnowledgeBase
from recommender.learn._budgets import (
    BUDGET,
    CurveReader,
    budget_rows,
    budgets_of,
    expandable,
    trained_range,
)
from recommender.learn._features import SurrogateFeatures
from recommender.learn._metafeatures import META_FEATURE_NAMES
from recommender.learn._scores import (
    normalised_scores,
    objective_for,
    scaled_scores,
    score_levels,
)
from recommender.space import SearchSpace
from training import TrainConfig
from training.metrics import METRIC_DIRECTIONS

CONFIG_COLUMNS = TrainConfig.field_names()
# What learning needs of each run: identity, outcome, every metric and the configuration.
RUN_COLUMNS = (
    "id",
    "dataset_id",
    "status",
    "source",
    "objective",
    "direction",
    "value",
    "epochs_run",
    "stop_reason",
    *METRIC_DIRECTIONS,
    *CONFIG_COLUMNS,
    "config_extra",
)


# Columns of a view's runs that are not parameters (every other column is one).
_NOT_PARAMETERS = frozenset(RUN_COLUMNS) | {"dataset_name", "task"}


@dataclass(frozen=True)
class SimilarDataset:
    """A dataset in the knowledge base close to the new one, with its best run as evidence."""

    dataset_id: str
    name: str
    distance: float
    best_value: float | None
    objective: str
    best_config: dict[str, Any]


@dataclass(frozen=True)
class KBView:
    """Runs (one row each, with `task` and `dataset_name`) and wide meta-features of a KB, and
    where their learning curves are read from (`KnowledgeBase.curves`; None: runs only)."""

    runs: pd.DataFrame
    meta: pd.DataFrame  # index: dataset_id, columns: META_FEATURE_NAMES
    objective: str | None = None
    curves: CurveReader | None = field(default=None, compare=False, repr=False)

    @cached_property
    def scores(self) -> pd.Series:
        """Copula-normalised score per run, on its final value (higher is better)."""
        if self.runs.empty:
            return pd.Series(dtype=float)
        return normalised_scores(self.runs, self._metric_for)

    @cached_property
    def scaled(self) -> pd.Series:
        """Per run, its objective on its dataset's 0 (worst) to 1 (best) scale."""
        if self.runs.empty:
            return pd.Series(dtype=float)
        return scaled_scores(self.runs, self._metric_for)

    @cached_property
    def learnable(self) -> pd.Series:
        """Per run: whether its dataset has meta-features, i.e. the surrogate can learn from it."""
        if self.runs.empty:
            return pd.Series(dtype=bool)
        return self.runs["dataset_id"].isin(self.meta.index)

    @cached_property
    def dataset_info(self) -> pd.DataFrame:
        """`dataset_name` and `task` of each dataset with runs (index `dataset_id`)."""
        if self.runs.empty:
            return pd.DataFrame(columns=["dataset_name", "task"])
        return self.runs.drop_duplicates("dataset_id").set_index("dataset_id")[
            ["dataset_name", "task"]
        ]

    def without(self, *dataset_ids: str) -> KBView:
        """This snapshot with these datasets left out (held-out evaluation)."""
        return KBView(
            runs=self.runs[~self.runs["dataset_id"].isin(dataset_ids)].reset_index(drop=True),
            meta=self.meta.drop(index=list(dataset_ids), errors="ignore"),
            objective=self.objective,
            curves=self.curves,
        )

    def signature(self, space: SearchSpace) -> str:
        """Content key of what the surrogate learns from: runs (their curves come with their ids),
        whether curves are read, scores' objective, the space and the budgets it expands to."""
        digest = hashlib.sha256()
        key = [self.objective, space.to_dict(), self.curves is not None, budgets_of(space)]
        digest.update(json.dumps(key, sort_keys=True).encode())
        if not self.runs.empty:
            cols = [c for c in ("id", "status", "value", "stop_reason") if c in self.runs]
            digest.update(pd.util.hash_pandas_object(self.runs[cols], index=False).values.tobytes())
            digest.update(pd.util.hash_pandas_object(self.meta, index=True).values.tobytes())
        return digest.hexdigest()[:20]

    def learnable_runs(self, task: str | None = None) -> int:
        """Runs the surrogate can learn from (their dataset has meta-features), of `task` if set."""
        if self.runs.empty:
            return 0
        if task is None:
            return int(self.learnable.sum())
        return int((self.learnable & (self.runs["task"] == task)).sum())

    def shared_settings(self, space: SearchSpace, min_datasets: int = 5) -> dict[str, Any]:
        """Parameters of `space` that every learnable run shares, with that one value.

        The surrogate cannot rank values of a parameter that never varied in the KB, so
        suggestions keep the value the evidence was gathered at. Only a value shared across at
        least `min_datasets` datasets counts (a design choice, not a small KB), and only
        parameters that are neither conditional nor a condition's parent, so fixing them never
        changes which others are active. `max_epochs` is never one: it is learned as a budget,
        and kept to the lengths the KB has seen by `trained_range`.
        """
        if self.runs.empty:
            return {}
        runs = self.runs[self.learnable]
        if runs["dataset_id"].nunique() < min_datasets:
            return {}
        parents = {condition.parent for condition in space.conditions.values()}
        shared: dict[str, Any] = {}
        for name, dist in space.parameters.items():
            if name in space.conditions or name in parents or name not in runs or name == BUDGET:
                continue
            values = runs[name].unique()
            if len(values) != 1 or pd.isna(values[0]):
                continue
            value = values[0].item() if hasattr(values[0], "item") else values[0]
            if dist.contains(value):
                shared[name] = value
        return shared

    def training_set(self, space: SearchSpace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Surrogate inputs (`SurrogateFeatures` rows), normalised scores and dataset ids of the
        learnable runs, each run at every budget its curve speaks for (`_budgets`); a dataset's
        rows are normalised together, at all budgets."""
        runs = self.runs[self.learnable.to_numpy()]
        budgets = budgets_of(space)
        rows = budget_rows(runs, self._curves_of(runs, budgets), budgets, self._metric_for)
        X = SurrogateFeatures(space).of_runs(self.meta.reindex(rows["dataset_id"]), rows)
        y = normalised_scores(rows, self._metric_for).to_numpy()
        return X, y, rows["dataset_id"].to_numpy()

    def trained_range(self, dataset_ids: Iterable[str] | None = None) -> tuple[int, int] | None:
        """The `max_epochs` the learnable runs of `dataset_ids` (default: all) give evidence for
        (`_budgets.trained_range`); the surrogate's ranking of other training lengths is a
        guess."""
        if self.runs.empty:
            return None
        runs = self.runs[self.learnable]
        return trained_range(runs, runs["dataset_id"] if dataset_ids is None else dataset_ids)

    def _metric_for(self, task: str) -> str:
        return objective_for(task, self.objective)

    def _curves_of(self, runs: pd.DataFrame, budgets: tuple[int, ...]) -> pd.DataFrame:
        """Curves of the runs that give rows below their reach (none without a reader)."""
        ids = runs.loc[expandable(runs, budgets, self._metric_for), "id"]
        if self.curves is None or ids.empty:
            return pd.DataFrame(columns=["run_id", "epoch", "val_metric"])
        return self.curves(list(ids))

    def top_configs(
        self, per_dataset: int, dataset_ids: Iterable[str] | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """The best `per_dataset` configurations of each dataset (or of `dataset_ids` only)."""
        if self.runs.empty:
            return
        # the copula's levels order runs as their scores do, without loading scipy
        levels = score_levels(self.runs, self._metric_for)
        order = levels.groupby(self.runs["dataset_id"]).rank(ascending=False, method="first")
        chosen = self.runs[(order <= per_dataset).to_numpy()]
        if dataset_ids is not None:
            chosen = chosen[chosen["dataset_id"].isin(list(dataset_ids))]
        for row in chosen.to_dict("records"):
            yield str(row["dataset_name"]), _config_of(row)

    def best_runs(self, dataset_id: str, metric: str, k: int = 3) -> list[dict[str, Any]]:
        """The `k` best finished runs of one dataset on `metric` (empty if it is not in the KB)."""
        if self.runs.empty:
            return []
        mine = self.runs[(self.runs["dataset_id"] == dataset_id) & (self.runs["status"] == "ok")]
        mine = mine[mine[metric].notna()]
        ascending = METRIC_DIRECTIONS[metric] == "minimize"
        best = mine.sort_values(metric, ascending=ascending).head(k)
        return [
            {
                "run_id": row["id"],
                metric: float(row[metric]),
                "config": _config_of(row),
                "source": row.get("source"),
            }
            for row in best.to_dict("records")
        ]

    def nearest(self, features: dict[str, float], exclude: str, k: int) -> pd.Series:
        """Distances of the `k` datasets with runs nearest to `features` (standardised
        meta-features); a dataset registered without runs (a build in progress, a study that
        failed before its first trial) has no evidence to offer.

        A value beyond the range the KB's datasets span counts as that range's edge, as it does
        for the surrogate's trees: a table ten times larger than any in the KB is otherwise so
        far from all of them in `n_rows` that its other features no longer decide which are
        nearest."""
        others = self.meta[self.meta.index.isin(self.dataset_info.index)]
        others = others.drop(index=exclude, errors="ignore")
        if others.empty or not features:  # e.g. a black-box study without meta-features
            return pd.Series(dtype=float)
        mean, std = others.mean(), others.std(ddof=0).replace(0, 1).fillna(1)
        target = pd.Series(features, dtype=float).reindex(others.columns)
        target = (target.clip(others.min(), others.max()) - mean) / std
        distance = (((others - mean) / std - target) ** 2).fillna(0).mean(axis=1) ** 0.5
        return distance.nsmallest(k)

    def similar_datasets(
        self, features: dict[str, float], exclude: str, metric: str, k: int = 3
    ) -> Iterator[SimilarDataset]:
        """The `k` KB datasets nearest in standardised meta-feature space, with their best run."""
        names, tasks = self.dataset_info["dataset_name"], self.dataset_info["task"]
        for dataset_id, dist in self.nearest(features, exclude, k).items():
            task = str(tasks.get(dataset_id, ""))
            their_metric = objective_for(task, metric) if task else metric
            best = self.best_runs(str(dataset_id), their_metric, k=1)
            yield SimilarDataset(
                dataset_id=str(dataset_id),
                name=str(names.get(dataset_id, dataset_id)),
                distance=float(dist),
                best_value=best[0][their_metric] if best else None,
                objective=their_metric,
                best_config=best[0]["config"] if best else {},
            )


def load_view(kb: KnowledgeBase, objective: str | None = None) -> KBView:
    """Read every run and meta-feature of `kb` into a `KBView`."""
    with kb.reading():  # one connection for the three reads
        runs = kb.runs(columns=RUN_COLUMNS)
        datasets = kb.datasets()
        meta = kb.meta_features()
    runs = _with_extra_parameters(runs)
    if not runs.empty:
        info = datasets.set_index("id")[["name", "task"]].rename(columns={"name": "dataset_name"})
        runs = runs.join(info, on="dataset_id").reset_index(drop=True)
    meta = meta.reindex(columns=list(META_FEATURE_NAMES)).astype(float)
    return KBView(runs=runs, meta=meta, objective=objective, curves=kb.curves)


def _with_extra_parameters(runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` with each parameter of the JSON `config_extra` column (a black-box study's own
    parameters) as a column of its own, so a space encodes them like the typed ones (a PBT
    member's schedule, `SCHEDULE_KEY`, is not a parameter)."""
    extra = runs.pop("config_extra") if "config_extra" in runs else pd.Series(dtype=object)
    told = extra.dropna()
    if told.empty:
        return runs
    wide = pd.DataFrame.from_records([json.loads(text) for text in told], index=told.index)
    wide = wide.drop(columns=[c for c in wide if c in runs or c == SCHEDULE_KEY])
    return runs.join(wide.reindex(runs.index)) if not wide.empty else runs


def _config_of(row: dict[str, Any]) -> dict[str, Any]:
    config = {}
    for name in [*CONFIG_COLUMNS, *(k for k in row if k not in _NOT_PARAMETERS)]:
        value = row.get(name)
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            config[name] = value.item() if hasattr(value, "item") else value
    return config
