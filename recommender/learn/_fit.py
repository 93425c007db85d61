"""Fit the surrogate on a knowledge-base snapshot, once per KB state.

A fitted surrogate is cached on disk under a key made from the KB's content (run ids, statuses,
values, meta-features), the objective, the search space, the surrogate's settings and the library
version, so repeated `suggest` calls on an unchanged KB load it instead of refitting. Any new run,
or an upgrade that changes how the surrogate is fitted, changes the key.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

from hpo_common.version import library_version
from recommender.learn._features import SurrogateFeatures
from recommender.learn._surrogate import Surrogate
from recommender.learn._view import KBView
from recommender.space import SearchSpace

_MEMORY: dict[str, Surrogate] = {}


def fitted_surrogate(
    view: KBView, space: SearchSpace, cache_dir: Path | None = None, seed: int = 0
) -> Surrogate:
    """The surrogate for `view` and `space` fitted with `seed` (its bootstrap and boosting):
    from memory, from `cache_dir`, or freshly fitted."""
    key = f"{view.signature(space)}-{_fit_key(seed)}"
    if key in _MEMORY:
        return _MEMORY[key]
    path = cache_dir / f"surrogate-{key}.pkl" if cache_dir is not None else None
    if path is not None and path.exists():
        try:
            with path.open("rb") as handle:
                model = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            model = None  # a stale or torn cache file is refitted, never an error
        if isinstance(model, Surrogate):
            _MEMORY[key] = model
            return model
    X, y, groups = view.training_set(space)
    categorical = SurrogateFeatures(space).categorical
    model = Surrogate(seed=seed).fit(X, y, groups, categorical=categorical)
    _MEMORY[key] = model
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        with partial.open("wb") as handle:
            pickle.dump(model, handle)
        partial.replace(path)  # atomic: readers never see half a file
    return model


def _fit_key(seed: int) -> str:
    """Digest of how a surrogate is fitted: its settings and the library version."""
    settings = json.dumps([Surrogate(seed=seed).get_params(), library_version()], sort_keys=True)
    return hashlib.sha256(settings.encode()).hexdigest()[:8]
