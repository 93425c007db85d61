"""The surrogate's feature layout, owned here: a dataset's meta-features, the encoded config, and
the epoch budget the value is asked at.

Every model input of the knowledge base's surrogate is built by `SurrogateFeatures`: the rows it
is fitted on (one per KB run and budget, `recommender.learn._budgets`), the candidates `suggest`
ranks, and the rows a search's `KBPrior` predicts. Adding a meta-feature or changing the encoding
touches this class alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recommender.learn._budgets import BUDGET
from recommender.learn._metafeatures import META_FEATURE_NAMES
from recommender.space import Int, SearchSpace


@dataclass(frozen=True)
class SurrogateFeatures:
    """Meta-features (in `meta_names` order, NaN where unknown), then `space.encode` columns,
    then the budget (epochs, encoded as `max_epochs` is) where the space has an integer
    `max_epochs`.

    A candidate is asked at the budget it would train for, its own `max_epochs`; a KB run's rows
    hold the budgets its curve speaks for (`KBView.training_set`).

    Attributes:
        space: whose encoding follows the meta-features (inactive parameters encode as NaN).
        meta_names: the meta-features, in column order.
    """

    space: SearchSpace
    meta_names: tuple[str, ...] = META_FEATURE_NAMES

    @property
    def budget_index(self) -> int | None:
        """Column of `max_epochs` in `space.encode`'s matrix; None where there is no budget."""
        if not isinstance(self.space.parameters.get(BUDGET), Int):
            return None
        return self.space.encoded_names.index(BUDGET)

    @property
    def n_features(self) -> int:
        budget = 0 if self.budget_index is None else 1
        return len(self.meta_names) + len(self.space.encoded_names) + budget

    @property
    def categorical(self) -> list[int]:
        """Columns that hold categorical codes (LightGBM's `categorical_feature`)."""
        return [len(self.meta_names) + i for i in self.space.categorical_indices]

    def meta_row(self, meta: Mapping[str, float] | None) -> np.ndarray:
        """One dataset's meta-features as a row; missing ones (a black-box objective) are NaN."""
        meta = meta or {}
        return np.array([meta.get(name, np.nan) for name in self.meta_names], dtype=float)

    def rows(self, meta: Mapping[str, float] | None, encoded: np.ndarray) -> np.ndarray:
        """One dataset's meta-features beside each already encoded configuration, asked at the
        budget of its own `max_epochs`."""
        encoded = np.asarray(encoded, dtype=float).reshape(len(encoded), -1)
        return self._stack(np.tile(self.meta_row(meta), (len(encoded), 1)), encoded, None)

    def transform(
        self, meta: Mapping[str, float] | None, configs: Sequence[Mapping[str, Any]]
    ) -> np.ndarray:
        """One dataset's meta-features beside each configuration (one row per configuration)."""
        return self.rows(meta, self.space.encode(configs))

    def of_runs(self, meta: pd.DataFrame, runs: pd.DataFrame) -> np.ndarray:
        """Rows of runs: `meta` holds each run's dataset's meta-features (one row per run), and a
        `budget` column of `runs`, if there is one, the epochs each row's value was reached in."""
        meta_values = meta.reindex(columns=list(self.meta_names)).to_numpy(dtype=float)
        budget = None
        if "budget" in runs and self.budget_index is not None:
            budget = self.space.parameters[BUDGET].encode(runs["budget"])
        return self._stack(meta_values, self.space.encode(runs), budget)

    def _stack(
        self, meta: np.ndarray, encoded: np.ndarray, budget: np.ndarray | None
    ) -> np.ndarray:
        """The columns in layout order; the budget defaults to each row's own `max_epochs`."""
        if self.budget_index is None:
            return np.hstack([meta, encoded])
        if budget is None:
            budget = encoded[:, self.budget_index]
        return np.hstack([meta, encoded, np.asarray(budget, dtype=float)[:, None]])
