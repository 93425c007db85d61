"""What the knowledge base believes about configurations on this dataset, before any trial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from recommender.metafeatures import META_FEATURE_NAMES
from recommender.surrogate import Surrogate


class Prior(Protocol):
    """Per-member predicted normalised scores of encoded configurations (`SearchSpace.encode`
    rows): shape (members, rows)."""

    n_members: int

    def predict_members(self, X: np.ndarray) -> np.ndarray: ...


class KBPrior:
    """The KB surrogate's first members evaluated at this dataset's meta-features.

    Args:
        surrogate: fitted on the knowledge base (`recommender.surrogate_fit.fitted_surrogate`)
            with the same search space's encoding.
        meta_features: this dataset's meta-features; missing ones (a black-box objective) are NaN,
            which the surrogate treats as "unknown dataset".
        members: how many of the surrogate's members to use. The search fits one correction per
            member on every `ask`, so it takes a few; the trials it observes steady its ranking,
            which a zero-shot `suggest` (all members) does not have.
    """

    def __init__(
        self,
        surrogate: Surrogate,
        meta_features: Mapping[str, float] | None,
        members: int = 5,
    ) -> None:
        self.models = surrogate.models_[:members]
        self.n_members = len(self.models)
        features = dict(meta_features or {})
        self._meta = np.array([features.get(n, np.nan) for n in META_FEATURE_NAMES], dtype=float)

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros((self.n_members, 0))
        # The layout of `KBView.feature_matrix`: meta-features, then the encoded configuration.
        rows = np.hstack([np.tile(self._meta, (len(X), 1)), X])
        return np.stack([model.predict(rows) for model in self.models])


class FlatPrior:
    """No knowledge: every configuration predicted 0 (the median normalised score)."""

    def __init__(self, n_members: int = 3) -> None:
        self.n_members = n_members

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        return np.zeros((self.n_members, len(X)))
