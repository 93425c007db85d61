"""What users call: CLI, Python API, meta-features, search space, surrogate, suggest, tune."""

from __future__ import annotations

from recommender.api import Recommender
from recommender.metafeatures import (
    META_FEATURE_NAMES,
    MetaFeatureExtractor,
    compute_meta_features,
)
from recommender.space import (
    Bool,
    Categorical,
    Condition,
    Distribution,
    Float,
    Int,
    SearchSpace,
    default_space,
    load_space,
)
from recommender.study import Study
from recommender.tune import TuneResult

__all__: list[str] = [
    "Recommender",
    "Study",
    "TuneResult",
    "META_FEATURE_NAMES",
    "MetaFeatureExtractor",
    "compute_meta_features",
    "Bool",
    "Categorical",
    "Condition",
    "Distribution",
    "Float",
    "Int",
    "SearchSpace",
    "default_space",
    "load_space",
]
