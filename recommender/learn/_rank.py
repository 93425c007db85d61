"""Zero-shot ranking: the top configurations the surrogate predicts for a dataset, kept diverse.

Candidates are many samples of the search space plus the best configurations already in the
knowledge base on the datasets nearest to the new one; the surrogate predicts each one's
normalised score on this dataset, each at the epoch budget of its own `max_epochs`; the top-k are
picked greedily by a lower confidence bound so that no two are near-duplicates. `suggest` shows
them; the warm start of a study tries them first.

Training length is searched like any other hyperparameter, but only over the lengths the KB's runs
on similar datasets reached (`trained_space`): the surrogate has never seen what 200 epochs do
where every run stopped at 20, and a tree model would rank it as if it were 20.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.learn._budgets import within
from recommender.learn._features import SurrogateFeatures
from recommender.learn._fit import fitted_surrogate
from recommender.learn._portfolio import DEFAULT_PORTFOLIO
from recommender.learn._view import KBView
from recommender.space import SearchSpace, is_trainable
from training import TrainConfig

if TYPE_CHECKING:
    import pandas as pd

# Candidates from the KB: the best configurations of the datasets most like the new one.
KB_CONFIGS_PER_DATASET = 10
NEAREST_DATASETS = 30
# Zero-shot picks rank by mean - RISK_AVERSION x spread (a lower confidence bound): a config that
# looks good only to some ensemble members is a worse bet than one all of them agree on.
RISK_AVERSION = 1.0


@dataclass(frozen=True)
class Suggestion:
    """One recommended configuration.

    Attributes:
        rank: 1 for the best.
        config: every TrainConfig hyperparameter (usable as `hpo-recommend train --config`).
        predicted_score: surrogate's normalised score (standard-normal scale, higher is better);
            None for the default ranking.
        uncertainty: spread of the ensemble's predictions; None for the default ranking.
        origin: where the candidate came from ("space sample", "KB: top 10 on <dataset>[ and N
            more]", "default ranking").
    """

    rank: int
    config: dict[str, Any]
    predicted_score: float | None
    uncertainty: float | None
    origin: str


def rank_configs(
    view: KBView,
    space: SearchSpace,
    features: dict[str, float],
    task: str,
    top: int,
    *,
    n_samples: int = 1000,
    seed: int = 0,
    cache_dir: Path | None = None,
    exclude: str = "",
) -> tuple[Suggestion, ...]:
    """The `top` diverse configurations the surrogate ranks best for a dataset with `features`
    (the default ranking when `view` holds no runs of `task` datasets with meta-features to
    learn from); `suggest` and the warm start of `tune` share it. KB candidates come from the
    datasets nearest to `features`, leaving out the dataset `exclude` itself. `seed` drives both
    the space samples and the surrogate's fit."""
    if view.learnable_runs(task) == 0:
        return _default_ranking(space, top)
    rng = np.random.default_rng(seed)
    near = view.nearest(features, exclude, NEAREST_DATASETS).index
    trained = _trained(view, space, near)
    candidates, origins = _candidates(view, trained, n_samples, rng, near)
    shared = view.shared_settings(space)
    candidates = [{**candidate, **shared} for candidate in candidates]
    surrogate = fitted_surrogate(view, space, cache_dir, seed=seed)
    encoded = space.encode(candidates)  # once: the surrogate's inputs and the diversity check
    X = SurrogateFeatures(space).rows(features, encoded)
    mean, std = surrogate.predict(X, return_std=True)
    return _diverse_top(candidates, origins, encoded, mean, std, space, top)


def trained_space(
    view: KBView, space: SearchSpace, features: dict[str, float], exclude: str = ""
) -> SearchSpace:
    """`space` with `max_epochs` kept to the training lengths that the KB's runs on the datasets
    nearest to `features` (all datasets without meta-features) reached, as far as the space allows
    (`KBView.trained_range`); `space` itself where they cover its range. `rank_configs` draws its
    candidates from it."""
    return _trained(view, space, view.nearest(features, exclude, NEAREST_DATASETS).index)


def _trained(view: KBView, space: SearchSpace, near: pd.Index) -> SearchSpace:
    return within(space, view.trained_range(near if len(near) else None))


def _candidates(
    view: KBView,
    space: SearchSpace,
    n_samples: int,
    rng: np.random.Generator,
    dataset_ids: Iterable[str],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Space samples plus the best KB configurations of the given datasets that fit the space.

    A configuration among the best of several datasets (the seed KB runs a shared design on
    every dataset) is one candidate; its origin names the nearest of them and counts the rest.
    """
    dataset_ids = list(dataset_ids)  # nearest first
    names = view.dataset_info["dataset_name"].reindex(dataset_ids)
    nearness = {name: i for i, name in enumerate(names)}
    sampled = space.sample(n_samples, rng)
    origins = ["space sample"] * len(sampled)
    found: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for name, config in view.top_configs(KB_CONFIGS_PER_DATASET, dataset_ids):
        projected = space.project(config)
        if space.contains(projected):
            key = json.dumps(projected, sort_keys=True, default=str)
            found.setdefault(key, (projected, []))[1].append(name)
    for projected, sources in found.values():
        sampled.append(projected)
        nearest = min(sources, key=lambda name: nearness.get(name, len(nearness)))
        more = f" and {len(sources) - 1} more" if len(sources) > 1 else ""
        origins.append(f"KB: top {KB_CONFIGS_PER_DATASET} on {nearest}{more}")
    return sampled, origins


def _diverse_top(
    candidates: list[dict[str, Any]],
    origins: list[str],
    encoded: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    space: SearchSpace,
    top: int,
    min_distance: float = 0.15,
) -> tuple[Suggestion, ...]:
    """Greedy top-k by lower confidence bound, skipping candidates too close to one picked
    (`encoded`: the candidates as `space.encode` gives them)."""
    spread = np.nanstd(encoded, axis=0)
    scaled = encoded / np.where(spread > 0, spread, 1.0)
    picked: list[int] = []
    for index in np.argsort(-(mean - RISK_AVERSION * std), kind="stable"):
        if all(_distance(scaled[index], scaled[other]) >= min_distance for other in picked):
            picked.append(int(index))
        if len(picked) == top:
            break
    return tuple(
        Suggestion(
            rank=rank,
            config=_full_config(candidates[i], space),
            predicted_score=float(mean[i]),
            uncertainty=float(std[i]),
            origin=origins[i],
        )
        for rank, i in enumerate(picked, start=1)
    )


def _full_config(config: dict[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Every `TrainConfig` hyperparameter (usable with `train --config`) where the built-in
    trainer accepts `space`; a black-box space's configuration as it is."""
    return TrainConfig.from_dict(config).to_dict() if is_trainable(space) else dict(config)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-parameter difference; an active parameter against an inactive one counts 1."""
    both = ~np.isnan(a) & ~np.isnan(b)
    one = np.isnan(a) ^ np.isnan(b)
    diff = np.minimum(np.abs(a[both] - b[both]), 1.0).sum() + one.sum()
    return float(diff / len(a))


def _default_ranking(space: SearchSpace, top: int) -> tuple[Suggestion, ...]:
    configs = [space.project(config) for config in DEFAULT_PORTFOLIO]
    return tuple(
        Suggestion(
            rank=rank,
            config=_full_config(config, space),
            predicted_score=None,
            uncertainty=None,
            origin="default ranking",
        )
        for rank, config in enumerate(configs[:top], start=1)
    )
