"""What the knowledge base learns: meta-features, scores of runs, the surrogate, rankings, priors.

- meta-features: `MetaFeatureExtractor`, `compute_meta_features`, `META_FEATURE_NAMES`;
- the KB as learning data: `KBView` (a snapshot of runs and meta-features), `load_view`;
- scores: `normalised_scores`, `copula`, `study_scores`, `objective_for` (runs made comparable
  across datasets and metrics);
- the surrogate: `Surrogate` (an ensemble of LightGBM regressors), `SurrogateFeatures` (its
  input layout, owned there), `fitted_surrogate` (fit once per KB snapshot and seed, cached);
  `fitted_curve_model`: the learned pruner's model of how far a learning curve still goes, fitted
  on the KB's curves (cached the same way);
- zero-shot ranking: `rank_configs`, `Suggestion`, `DEFAULT_PORTFOLIO` (the ranking of an empty
  KB; its first two, `MODERN_RECIPE` and `LONG_RECIPE`, the seed build also runs everywhere),
  `trained_space` (the training lengths the KB can rank for a dataset: each run is learned from
  at several epoch budgets, `_budgets`);
- `KBPrior`: the surrogate at one dataset's meta-features, the prior of a search;
- transfer: `SourceModels` (one model per past dataset), `fitted_sources` (cached per KB state),
  `greedy_portfolio` (configurations good across past datasets: the zero-shot warm start of a
  study without meta-features), `portfolio_candidates`, `greedy_gains` and `greedy_order` (its
  candidates, its step, which a search re-weights on its own trials, and its picks in order).

Names load on first use (`hpo_common.lazy`): importing the package loads neither scikit-learn
nor LightGBM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo_common.lazy import lazy_exports

if TYPE_CHECKING:
    from recommender.learn._features import SurrogateFeatures as SurrogateFeatures
    from recommender.learn._fit import fitted_curve_model as fitted_curve_model
    from recommender.learn._fit import fitted_surrogate as fitted_surrogate
    from recommender.learn._greedy import greedy_gains as greedy_gains
    from recommender.learn._greedy import greedy_order as greedy_order
    from recommender.learn._greedy import greedy_portfolio as greedy_portfolio
    from recommender.learn._greedy import portfolio_candidates as portfolio_candidates
    from recommender.learn._metafeatures import GROUPS as GROUPS
    from recommender.learn._metafeatures import META_FEATURE_NAMES as META_FEATURE_NAMES
    from recommender.learn._metafeatures import MetaFeatureExtractor as MetaFeatureExtractor
    from recommender.learn._metafeatures import compute_meta_features as compute_meta_features
    from recommender.learn._portfolio import DEFAULT_PORTFOLIO as DEFAULT_PORTFOLIO
    from recommender.learn._portfolio import LONG_RECIPE as LONG_RECIPE
    from recommender.learn._portfolio import MODERN_RECIPE as MODERN_RECIPE
    from recommender.learn._prior import KBPrior as KBPrior
    from recommender.learn._rank import RISK_AVERSION as RISK_AVERSION
    from recommender.learn._rank import Suggestion as Suggestion
    from recommender.learn._rank import rank_configs as rank_configs
    from recommender.learn._rank import trained_space as trained_space
    from recommender.learn._scores import BAD_STATUSES as BAD_STATUSES
    from recommender.learn._scores import copula as copula
    from recommender.learn._scores import normalised_scores as normalised_scores
    from recommender.learn._scores import objective_for as objective_for
    from recommender.learn._scores import study_scores as study_scores
    from recommender.learn._sources import SourceModels as SourceModels
    from recommender.learn._sources import fitted_sources as fitted_sources
    from recommender.learn._surrogate import Surrogate as Surrogate
    from recommender.learn._view import KBView as KBView
    from recommender.learn._view import SimilarDataset as SimilarDataset
    from recommender.learn._view import load_view as load_view

# Public name -> the module that defines it.
_MODULES = {
    "SurrogateFeatures": "_features",
    "fitted_curve_model": "_fit",
    "fitted_surrogate": "_fit",
    "GROUPS": "_metafeatures",
    "META_FEATURE_NAMES": "_metafeatures",
    "MetaFeatureExtractor": "_metafeatures",
    "compute_meta_features": "_metafeatures",
    "greedy_gains": "_greedy",
    "greedy_order": "_greedy",
    "greedy_portfolio": "_greedy",
    "portfolio_candidates": "_greedy",
    "DEFAULT_PORTFOLIO": "_portfolio",
    "LONG_RECIPE": "_portfolio",
    "MODERN_RECIPE": "_portfolio",
    "KBPrior": "_prior",
    "RISK_AVERSION": "_rank",
    "Suggestion": "_rank",
    "rank_configs": "_rank",
    "trained_space": "_rank",
    "BAD_STATUSES": "_scores",
    "copula": "_scores",
    "normalised_scores": "_scores",
    "objective_for": "_scores",
    "study_scores": "_scores",
    "SourceModels": "_sources",
    "fitted_sources": "_sources",
    "Surrogate": "_surrogate",
    "KBView": "_view",
    "SimilarDataset": "_view",
    "load_view": "_view",
}

__all__ = sorted(_MODULES)
lazy_exports(__name__, _MODULES)
