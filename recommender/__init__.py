"""What users call: CLI, Python API, meta-features, search space, surrogate, suggest, tune.

Names are imported on first use (`hpo_common.lazy`): `import recommender` loads neither torch nor
scikit-learn, so the command line starts at once and only commands that train load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo_common.lazy import lazy_exports

if TYPE_CHECKING:
    from recommender._wiring import open_study as open_study
    from recommender.api import Recommender as Recommender
    from recommender.learn import META_FEATURE_NAMES as META_FEATURE_NAMES
    from recommender.learn import MetaFeatureExtractor as MetaFeatureExtractor
    from recommender.learn import compute_meta_features as compute_meta_features
    from recommender.space import Bool as Bool
    from recommender.space import Categorical as Categorical
    from recommender.space import Condition as Condition
    from recommender.space import Distribution as Distribution
    from recommender.space import Float as Float
    from recommender.space import Int as Int
    from recommender.space import SearchSpace as SearchSpace
    from recommender.space import default_space as default_space
    from recommender.space import load_space as load_space
    from recommender.study import Study as Study
    from recommender.study import blackbox_dataset as blackbox_dataset
    from recommender.tune import TuneResult as TuneResult

# Public name -> the module that defines it.
_MODULES = {
    "Recommender": "api",
    "open_study": "_wiring",
    "Study": "study",
    "blackbox_dataset": "study",
    "TuneResult": "tune",
    "META_FEATURE_NAMES": "learn",
    "MetaFeatureExtractor": "learn",
    "compute_meta_features": "learn",
    "Bool": "space",
    "Categorical": "space",
    "Condition": "space",
    "Distribution": "space",
    "Float": "space",
    "Int": "space",
    "SearchSpace": "space",
    "default_space": "space",
    "load_space": "space",
}

__all__ = sorted(_MODULES)
lazy_exports(__name__, _MODULES)
