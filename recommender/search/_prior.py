"""What a searcher believes about configurations on this dataset before any trial: a `Prior`.

`search/` holds only the interface and the flat prior; the knowledge base's prior
(`recommender.learn.KBPrior`) satisfies `Prior` structurally, so searchers never import what
the knowledge base learns.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Prior(Protocol):
    """Per-member predicted normalised scores of encoded configurations (`SearchSpace.encode`
    rows): shape (members, rows)."""

    n_members: int

    def predict_members(self, X: np.ndarray) -> np.ndarray: ...


class FlatPrior:
    """No knowledge: every configuration predicted 0 (the median normalised score)."""

    def __init__(self, n_members: int = 3) -> None:
        self.n_members = n_members

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        return np.zeros((self.n_members, len(X)))
