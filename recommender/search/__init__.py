"""Search strategies behind one ask/observe interface (Optuna sampler / Syne Tune searcher style).

- `random`: samples of the space's prior.
- `portfolio`: the warm-start suggestions alone; then nothing new.
- `surrogate` (default): the warm-start suggestions, then expected improvement on the knowledge
  base's surrogate corrected by this dataset's own trials.

`ask_batch` turns any of them into a batch proposer (the lead plus neighbours that train
together, for `training.train_many`).
"""

from __future__ import annotations

from recommender.search._base import (
    Config,
    PortfolioSearcher,
    RandomSearcher,
    Searcher,
    config_key,
)
from recommender.search._batch import ask_batch
from recommender.search._prior import FlatPrior, KBPrior, Prior
from recommender.search._surrogate import SurrogateSearcher, expected_improvement

STRATEGIES = ("surrogate", "random", "portfolio")

__all__ = [
    "STRATEGIES",
    "Config",
    "FlatPrior",
    "KBPrior",
    "PortfolioSearcher",
    "Prior",
    "RandomSearcher",
    "Searcher",
    "SurrogateSearcher",
    "ask_batch",
    "config_key",
    "expected_improvement",
]
