"""Search strategies behind one ask/observe interface (Optuna sampler / Syne Tune searcher style).

- `random`: samples of the space's prior.
- `portfolio`: the warm-start suggestions alone; then nothing new.
- `surrogate` (default): the warm-start suggestions, then expected improvement on the knowledge
  base's surrogate corrected by this dataset's own trials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo_common.lazy import lazy_exports

if TYPE_CHECKING:
    from recommender.search._base import Config as Config
    from recommender.search._base import PortfolioSearcher as PortfolioSearcher
    from recommender.search._base import RandomSearcher as RandomSearcher
    from recommender.search._base import Searcher as Searcher
    from recommender.search._base import config_key as config_key
    from recommender.search._prior import FlatPrior as FlatPrior
    from recommender.search._prior import KBPrior as KBPrior
    from recommender.search._prior import Prior as Prior
    from recommender.search._surrogate import SurrogateSearcher as SurrogateSearcher
    from recommender.search._surrogate import expected_improvement as expected_improvement

# Here, not in a submodule: the command line lists the strategies without loading LightGBM.
STRATEGIES = ("surrogate", "random", "portfolio")

# Public name -> the module that defines it.
_MODULES = {
    "Config": "_base",
    "PortfolioSearcher": "_base",
    "RandomSearcher": "_base",
    "Searcher": "_base",
    "config_key": "_base",
    "FlatPrior": "_prior",
    "KBPrior": "_prior",
    "Prior": "_prior",
    "SurrogateSearcher": "_surrogate",
    "expected_improvement": "_surrogate",
}

__all__ = ["STRATEGIES", *sorted(_MODULES)]
lazy_exports(__name__, _MODULES)
