"""A zero-shot portfolio across past datasets: the warm start of a study without meta-features.

Without meta-features nothing says which past dataset the new one resembles, so the best bet is a
set of configurations that together do well on as many of them as possible: greedy "best so far
over past sources" selection (Wistuba et al. 2015, Feurer et al. 2015's portfolios). Candidates are
the configurations the sources ran best, moved into the new space; a candidate's performance on a
source is what that source observed for it, on the source's 0-1 scale (`SourceModels.performance`;
the source's model fills in a configuration it never ran). Each step adds the candidate that most
raises the weighted mean over sources of the best performance chosen so far, so the second pick
covers the sources the first one does badly on. The weights are uniform before any trial; a
search re-weights them on its own trials (`recommender.search.TransferPortfolio`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recommender.learn._sources import SourceModels, fitted_sources
from recommender.learn._view import KBView
from recommender.space import SearchSpace


def portfolio_candidates(sources: SourceModels, space: SearchSpace) -> list[dict[str, Any]]:
    """The sources' best configurations moved into `space`, each once (empty when no source
    varied a parameter of `space`)."""
    candidates: list[dict[str, Any]] = []
    seen: set[str] = set()
    for configs in sources.configs_:
        for config in configs:
            projected = space.project(config)
            key = repr(sorted(projected.items()))
            if key not in seen and space.contains(projected):
                seen.add(key)
                candidates.append(projected)
    return candidates


def greedy_gains(performance: np.ndarray, weights: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Per candidate, the weighted mean over sources of how much it raises the best so far.

    Args:
        performance: (sources, candidates) on each source's 0-1 scale.
        weights: (sources,) how much each source counts.
        best: (sources,) the best performance already chosen (0 before any).
    """
    return weights @ (np.maximum(performance, best[:, None]) - best[:, None])


def greedy_portfolio(
    view: KBView, space: SearchSpace, k: int, cache_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Up to `k` configurations of `space` that were good across `view`'s datasets, in the order
    picked (empty when no source varied a parameter of `space`).

    Example:
        >>> greedy_portfolio(load_view(kb), default_space(), 5)  # doctest: +SKIP
    """
    sources = fitted_sources(view, space, cache_dir)
    candidates = portfolio_candidates(sources, space)
    if k <= 0 or not candidates:
        return []
    performance = sources.performance(space.encode(candidates))
    weights = np.full(sources.n_sources, 1.0 / sources.n_sources)
    chosen, _ = greedy_order(performance, weights, k)
    return [candidates[i] for i in chosen]


def greedy_order(
    performance: np.ndarray, weights: np.ndarray, k: int
) -> tuple[list[int], np.ndarray]:
    """The first `k` greedy picks (candidate indices, in the order picked) and each pick's
    marginal gain (non-increasing: the best so far is submodular; 0 once every weighted
    source's best is covered, after which picks are in candidate order).

    Args:
        performance: (sources, candidates) on each source's 0-1 scale.
        weights: (sources,) how much each source counts.
        k: picks wanted (at most the candidates).
    """
    best = np.zeros(performance.shape[0])
    chosen: list[int] = []
    gains: list[float] = []
    for _ in range(min(k, performance.shape[1])):
        gain = greedy_gains(performance, weights, best)
        gain[chosen] = -np.inf
        pick = int(np.argmax(gain))
        chosen.append(pick)
        gains.append(float(gain[pick]))
        best = np.maximum(best, performance[:, pick])
    return chosen, np.array(gains)
