"""The knowledge base's prior for a search: the KB surrogate at this dataset's meta-features.

It satisfies `recommender.search.Prior` (per-member predictions of encoded configurations).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recommender.learn._features import SurrogateFeatures
from recommender.learn._surrogate import Surrogate


class KBPrior:
    """The KB surrogate's first members evaluated at this dataset's meta-features.

    Args:
        surrogate: fitted on the knowledge base (`recommender.learn.fitted_surrogate`)
            with the same search space's encoding.
        features: the surrogate's input layout (`SurrogateFeatures` of that space).
        meta_features: this dataset's meta-features; missing ones (a black-box objective) are NaN,
            which the surrogate treats as "unknown dataset".
        members: how many of the surrogate's members to use. The search fits one correction per
            member on every `ask`, so it takes a few; the trials it observes steady its ranking,
            which a zero-shot `suggest` (all members) does not have.
    """

    def __init__(
        self,
        surrogate: Surrogate,
        features: SurrogateFeatures,
        meta_features: Mapping[str, float] | None,
        members: int = 5,
    ) -> None:
        self.surrogate = surrogate
        self.features = features
        self.meta_features = dict(meta_features or {})
        self.n_members = min(members, surrogate.n_models)

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros((self.n_members, 0))
        rows = self.features.rows(self.meta_features, X)
        return self.surrogate.predict_members(rows, self.n_members)
