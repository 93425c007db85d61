"""Search strategies behind one ask/observe interface (Optuna sampler / Syne Tune searcher style).

- `random`: samples of the space's prior.
- `portfolio`: the warm-start suggestions alone; then nothing new.
- `surrogate` (default): the warm-start suggestions, then expected improvement on the knowledge
  base's surrogate corrected by this dataset's own trials.
- `grid`: the space's grid (`grid = [...]` / `levels = N` per parameter), best-predicted cells
  first.
- `evolution`: regularized (aging) evolution whose first population is the KB's suggestions.

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
from recommender.search._evolution import EvolutionSearcher
from recommender.search._grid import (
    DEFAULT_MAX_CELLS,
    GridSearcher,
    check_grid_size,
    count_cells,
    enumerate_cells,
    grid_values,
)
from recommender.search._prior import FlatPrior, KBPrior, Prior
from recommender.search._surrogate import SurrogateSearcher, expected_improvement

STRATEGIES = ("surrogate", "random", "portfolio", "grid", "evolution")

__all__ = [
    "DEFAULT_MAX_CELLS",
    "STRATEGIES",
    "Config",
    "EvolutionSearcher",
    "FlatPrior",
    "GridSearcher",
    "KBPrior",
    "PortfolioSearcher",
    "Prior",
    "RandomSearcher",
    "Searcher",
    "SurrogateSearcher",
    "ask_batch",
    "check_grid_size",
    "config_key",
    "count_cells",
    "enumerate_cells",
    "expected_improvement",
    "grid_values",
]
