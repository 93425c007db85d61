"""Who proposes and who stops: search strategies (ask/observe) and pruners.

Strategies share one ask/observe interface (Optuna sampler / Syne Tune searcher style):

- `random`: samples of the space's prior.
- `portfolio`: the warm-start suggestions alone; then nothing new.
- `surrogate` (default): the warm-start suggestions, then expected improvement on the knowledge
  base's surrogate corrected by this dataset's own trials.
- `grid`: the space's grid (`grid = [...]` / `levels = N` per parameter), best-predicted cells
  first.
- `evolution`: regularized (aging) evolution whose first population is the KB's suggestions.
- `pbt`: population-based training: sub-populations of one architecture each (led by the KB's
  suggestions, then by evolution), trained together; the worst copy the best and explore.

`ask_batch` turns any of them into a batch proposer (the lead plus neighbours that train
together, for `training.train_many`). A `Prior` is what a searcher believes before any trial
(`recommender.learn.KBPrior` is the knowledge base's); a `TransferPrior` mixes it with one model
per past dataset, re-weighted by how well each ranks this dataset's own trials (`observe`).

Pruners (`BasePruner`) stop a trial from its learning curve: `LearnedPruner` ("learned", the
default: the knowledge base's `CurveModel` says how far a curve can still go; where it cannot
judge, `EnvelopePruner` ("envelope": how far the study's own earlier curves went after the same
epoch) does), `MedianPruner` ("median") and `SuccessiveHalvingPruner` ("asha"). Names become
objects only in `recommender._wiring`.
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
    from recommender.search._batch import ask_batch as ask_batch
    from recommender.search._curve_model import CurveModel as CurveModel
    from recommender.search._evolution import EvolutionSearcher as EvolutionSearcher
    from recommender.search._grid import GridSearcher as GridSearcher
    from recommender.search._grid import check_grid_size as check_grid_size
    from recommender.search._grid import count_cells as count_cells
    from recommender.search._grid import enumerate_cells as enumerate_cells
    from recommender.search._grid import grid_values as grid_values
    from recommender.search._learned_pruner import LearnedPruner as LearnedPruner
    from recommender.search._pbt import PBTExploit as PBTExploit
    from recommender.search._pbt import PBTSearcher as PBTSearcher
    from recommender.search._prior import FlatPrior as FlatPrior
    from recommender.search._prior import Prior as Prior
    from recommender.search._pruners import BasePruner as BasePruner
    from recommender.search._pruners import EnvelopePruner as EnvelopePruner
    from recommender.search._pruners import MedianPruner as MedianPruner
    from recommender.search._pruners import PruningCallback as PruningCallback
    from recommender.search._pruners import SuccessiveHalvingPruner as SuccessiveHalvingPruner
    from recommender.search._surrogate import SurrogateSearcher as SurrogateSearcher
    from recommender.search._surrogate import expected_improvement as expected_improvement
    from recommender.search._transfer import AdaptivePrior as AdaptivePrior
    from recommender.search._transfer import TransferPortfolio as TransferPortfolio
    from recommender.search._transfer import TransferPrior as TransferPrior

# Here, not in a submodule: the command line lists the strategies and the grid limit without
# loading LightGBM.
STRATEGIES = ("surrogate", "random", "portfolio", "grid", "evolution", "pbt")
PRUNERS = ("learned", "envelope", "median", "asha", "none")
#: The largest grid (in cells) the "grid" strategy accepts unless the user raises it.
DEFAULT_MAX_CELLS = 10_000

# Public name -> the module that defines it.
_MODULES = {
    "Config": "_base",
    "PortfolioSearcher": "_base",
    "RandomSearcher": "_base",
    "Searcher": "_base",
    "config_key": "_base",
    "ask_batch": "_batch",
    "CurveModel": "_curve_model",
    "LearnedPruner": "_learned_pruner",
    "EvolutionSearcher": "_evolution",
    "GridSearcher": "_grid",
    "check_grid_size": "_grid",
    "count_cells": "_grid",
    "enumerate_cells": "_grid",
    "grid_values": "_grid",
    "PBTExploit": "_pbt",
    "PBTSearcher": "_pbt",
    "FlatPrior": "_prior",
    "Prior": "_prior",
    "BasePruner": "_pruners",
    "EnvelopePruner": "_pruners",
    "MedianPruner": "_pruners",
    "PruningCallback": "_pruners",
    "SuccessiveHalvingPruner": "_pruners",
    "SurrogateSearcher": "_surrogate",
    "expected_improvement": "_surrogate",
    "AdaptivePrior": "_transfer",
    "TransferPortfolio": "_transfer",
    "TransferPrior": "_transfer",
}

__all__ = ["DEFAULT_MAX_CELLS", "PRUNERS", "STRATEGIES", *sorted(_MODULES)]
lazy_exports(__name__, _MODULES)
