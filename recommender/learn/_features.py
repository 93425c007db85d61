"""The surrogate's feature layout, owned here: a dataset's meta-features, then the encoded config.

Every model input of the knowledge base's surrogate is built by `SurrogateFeatures`: the rows it
is fitted on (one per KB run), the candidates `suggest` ranks, and the rows a search's `KBPrior`
predicts. Adding a meta-feature or changing the encoding touches this class alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recommender.learn._metafeatures import META_FEATURE_NAMES
from recommender.space import SearchSpace


@dataclass(frozen=True)
class SurrogateFeatures:
    """Meta-features (in `meta_names` order, NaN where unknown) then `space.encode` columns.

    Attributes:
        space: whose encoding follows the meta-features (inactive parameters encode as NaN).
        meta_names: the meta-features, in column order.
    """

    space: SearchSpace
    meta_names: tuple[str, ...] = META_FEATURE_NAMES

    @property
    def n_features(self) -> int:
        return len(self.meta_names) + len(self.space.encoded_names)

    @property
    def categorical(self) -> list[int]:
        """Columns that hold categorical codes (LightGBM's `categorical_feature`)."""
        return [len(self.meta_names) + i for i in self.space.categorical_indices]

    def meta_row(self, meta: Mapping[str, float] | None) -> np.ndarray:
        """One dataset's meta-features as a row; missing ones (a black-box objective) are NaN."""
        meta = meta or {}
        return np.array([meta.get(name, np.nan) for name in self.meta_names], dtype=float)

    def rows(self, meta: Mapping[str, float] | None, encoded: np.ndarray) -> np.ndarray:
        """One dataset's meta-features beside each already encoded configuration."""
        encoded = np.asarray(encoded, dtype=float).reshape(len(encoded), -1)
        return np.hstack([np.tile(self.meta_row(meta), (len(encoded), 1)), encoded])

    def transform(
        self, meta: Mapping[str, float] | None, configs: Sequence[Mapping[str, Any]]
    ) -> np.ndarray:
        """One dataset's meta-features beside each configuration (one row per configuration)."""
        return self.rows(meta, self.space.encode(configs))

    def of_runs(self, meta: pd.DataFrame, runs: pd.DataFrame) -> np.ndarray:
        """Rows of runs: `meta` holds each run's dataset's meta-features (one row per run)."""
        meta_values = meta.reindex(columns=list(self.meta_names)).to_numpy(dtype=float)
        return np.hstack([meta_values, self.space.encode(runs)])
