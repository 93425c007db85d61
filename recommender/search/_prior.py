"""What the knowledge base believes about configurations on this dataset, before any trial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from recommender.kb_view import KBView
from recommender.space import SearchSpace
from recommender.surrogate import Surrogate


class Prior(Protocol):
    """Per-member predicted normalised scores of configurations: shape (members, configs)."""

    n_members: int

    def predict_members(self, configs: list[dict[str, Any]]) -> np.ndarray: ...


class KBPrior:
    """The KB surrogate's members evaluated at this dataset's meta-features.

    Args:
        surrogate: fitted on the knowledge base (`recommender.surrogate_fit.fitted_surrogate`).
        view: the KB snapshot (only its feature layout is used).
        space: the search space the configurations come from.
        meta_features: this dataset's meta-features; missing ones (a black-box objective) are NaN,
            which the surrogate treats as "unknown dataset".
    """

    def __init__(
        self, surrogate: Surrogate, view: KBView, space: SearchSpace,
        meta_features: Mapping[str, float] | None,
    ) -> None:
        self.surrogate = surrogate
        self.view = view
        self.space = space
        self.meta_features = dict(meta_features or {})
        self.n_members = len(surrogate.models_)

    def predict_members(self, configs: list[dict[str, Any]]) -> np.ndarray:
        if not configs:
            return np.zeros((self.n_members, 0))
        X = self.view.feature_matrix(self.meta_features, configs, self.space)
        return np.stack([model.predict(X) for model in self.surrogate.models_])


class FlatPrior:
    """No knowledge: every configuration predicted 0 (the median normalised score)."""

    def __init__(self, n_members: int = 3) -> None:
        self.n_members = n_members

    def predict_members(self, configs: list[dict[str, Any]]) -> np.ndarray:
        return np.zeros((self.n_members, len(configs)))
