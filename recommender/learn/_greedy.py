"""A zero-shot portfolio across past datasets: the warm start of a study without meta-features.

Without meta-features nothing says which past dataset the new one resembles, so the best bet is a
set of configurations that together do well on as many of them as possible: greedy "best so far
over past sources" selection (Wistuba et al. 2015, Feurer et al. 2015's portfolios). Candidates are
each source's best runs in the new space; each source's model (`SourceModels`) scores every
candidate on that source; each step adds the candidate that most raises the mean over sources of
the best score chosen so far, so the second pick covers the sources the first one does badly on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recommender.learn._sources import fitted_sources
from recommender.learn._view import KBView
from recommender.space import SearchSpace


def greedy_portfolio(
    view: KBView, space: SearchSpace, k: int, cache_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Up to `k` configurations of `space` that were good across `view`'s datasets, in the order
    picked (empty when no source varied a parameter of `space`).

    Example:
        >>> greedy_portfolio(load_view(kb), default_space(), 5)  # doctest: +SKIP
    """
    sources = fitted_sources(view, space, cache_dir)
    candidates: list[dict[str, Any]] = []
    seen: set[str] = set()
    for configs in sources.configs_:
        for config in configs:
            projected = space.project(config)
            key = repr(sorted(projected.items()))
            if key not in seen and space.contains(projected):
                seen.add(key)
                candidates.append(projected)
    if k <= 0 or not candidates:
        return []
    performance = sources.predict(space.encode(candidates))  # (sources, candidates)
    best = np.full(sources.n_sources, -np.inf)
    chosen: list[int] = []
    for _ in range(min(k, len(candidates))):
        gain = np.maximum(best[:, None], performance).mean(axis=0)
        gain[chosen] = -np.inf
        pick = int(np.argmax(gain))
        chosen.append(pick)
        best = np.maximum(best, performance[:, pick])
    return [candidates[i] for i in chosen]
