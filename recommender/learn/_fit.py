"""Fit what the knowledge base learns once per KB state: the surrogate and the curve model.

A fitted model is cached in memory and on disk under a key made from the KB's content (run ids,
statuses, values, meta-features; for the curve model, the runs it learned from), the objective,
the search space, the model's settings and the library version, so repeated `suggest` and `tune`
calls on an unchanged KB load it instead of refitting. Any new run, or an upgrade that changes how
a model is fitted, changes the key.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from hpo_common.version import library_version
from knowledge_base import KnowledgeBase
from recommender._atomic import write_atomically
from recommender.learn._features import SurrogateFeatures
from recommender.learn._surrogate import Surrogate
from recommender.learn._view import KBView
from recommender.search._curve_model import MIN_CURVES, CurveModel, completed, training_rows
from recommender.space import SearchSpace

Model = TypeVar("Model")
_MEMORY: dict[str, object] = {}
CURVE_RUNS = 4000  # curves the curve model learns from at most (a seeded sample beyond it)
# What a cached model holds; a new format changes every key, so an older pickle is never loaded
# (format 2: the surrogate's members as LightGBM model text, not scikit-learn regressors; 3: the
# curve model records the longest schedule it learned, `max_epochs_`).
CACHE_FORMAT = 3


def fitted_surrogate(
    view: KBView, space: SearchSpace, cache_dir: Path | None = None, seed: int = 0
) -> Surrogate:
    """The surrogate for `view` and `space` fitted with `seed` (its bootstrap and boosting):
    from memory, from `cache_dir`, or freshly fitted."""
    key = f"surrogate-{view.signature(space)}-{_fit_key(Surrogate(seed=seed))}"

    def fit() -> Surrogate:
        X, y, groups = view.training_set(space)
        categorical = SurrogateFeatures(space).categorical
        return Surrogate(seed=seed).fit(X, y, groups, categorical=categorical)

    return _cached(key, cache_dir, fit, Surrogate)


def fitted_curve_model(
    view: KBView, kb: KnowledgeBase, cache_dir: Path | None = None, seed: int = 0
) -> CurveModel | None:
    """The curve model (see `recommender.search.LearnedPruner`) fitted on the completed curves
    of `view`'s runs, read from `kb` (the KB `view` was loaded from); None when fewer than
    `MIN_CURVES` curves are there."""
    runs = view.runs
    if runs.empty:
        return None
    done = completed(runs)
    if len(done) < MIN_CURVES:
        return None
    if len(done) > CURVE_RUNS:
        done = done.sample(CURVE_RUNS, random_state=np.random.RandomState(seed))
    done = done.sort_values("id")
    model = CurveModel(seed=seed)
    digest = hashlib.sha256("\n".join(done["id"]).encode()).hexdigest()[:20]
    key = f"curves-{digest}-{_fit_key(model)}"

    def fit() -> CurveModel | None:
        features, remaining, groups = training_rows(done, kb.curves(done["id"]))
        return model.fit(features, remaining, groups) if len(features) >= MIN_CURVES else None

    return _cached(key, cache_dir, fit, CurveModel)


def _cached(key: str, cache_dir: Path | None, fit: Callable[[], Model], kind: type) -> Model:
    """`fit()`'s model under `key`: from memory, from `cache_dir`, or freshly fitted and kept
    (a None from `fit`, nothing to learn from, is kept in memory only)."""
    if key in _MEMORY:
        return _MEMORY[key]  # type: ignore[return-value]
    path = cache_dir / f"{key}.pkl" if cache_dir is not None else None
    if path is not None and path.exists():
        try:
            with path.open("rb") as handle:
                model = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            model = None  # a stale or torn cache file is refitted, never an error
        if isinstance(model, kind):
            _MEMORY[key] = model
            return model  # type: ignore[return-value]
    model = fit()
    _MEMORY[key] = model
    if path is not None and model is not None:
        write_atomically(path, pickle.dumps(model))
    return model


def _fit_key(model: object) -> str:
    """Digest of how a model is fitted and kept: its settings (`get_params` of an estimator), the
    library version and the cache format."""
    params = model.get_params() if hasattr(model, "get_params") else vars(model)
    settings = json.dumps([params, library_version(), CACHE_FORMAT], sort_keys=True)
    return hashlib.sha256(settings.encode()).hexdigest()[:8]
