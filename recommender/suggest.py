"""Zero-shot recommendations: rank candidate configurations for a new dataset with the surrogate.

Candidates are many samples of the search space plus the best configurations already in the
knowledge base; the surrogate predicts each one's normalised score on this dataset; the top-k are
picked greedily so that no two are near-duplicates. Evidence comes with them: the most similar
datasets in the knowledge base (by meta-features) and their best runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase
from recommender.kb_view import KBView, SimilarDataset, load_view
from recommender.metafeatures import compute_meta_features
from recommender.portfolio import DEFAULT_PORTFOLIO
from recommender.scores import objective_for
from recommender.space import SearchSpace, check_trainable
from recommender.surrogate_fit import fitted_surrogate
from training import Table, TrainConfig

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


@dataclass(frozen=True)
class SuggestResult:
    """What `suggest` returns: the suggestions, the evidence, and notes on what was decided."""

    dataset_id: str
    dataset_name: str
    task: str
    objective: str
    suggestions: tuple[Suggestion, ...]
    similar_datasets: tuple[SimilarDataset, ...] = ()
    known_best_runs: tuple[dict[str, Any], ...] = ()
    meta_features: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's `--json`)."""
        import dataclasses

        return dataclasses.asdict(self)


def suggest(
    table: Table,
    kb: KnowledgeBase | KBView,
    space: SearchSpace,
    *,
    top: int = 5,
    objective: str | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    meta_features: dict[str, float] | None = None,
    cache_dir: Path | None = None,
) -> SuggestResult:
    """Recommend `top` diverse configurations for `table`, learned from every run in `kb`.

    `kb` may also be a `KBView` snapshot (e.g. a KB with one dataset left out, for evaluation).

    Example:
        >>> kb = KnowledgeBase("kb.duckdb")  # doctest: +SKIP
        >>> result = suggest(load_table("data.csv"), kb, default_space())  # doctest: +SKIP
        >>> TrainConfig.from_dict(result.suggestions[0].config)  # doctest: +SKIP
    """
    if top < 1:
        raise InputError(f"top must be >= 1, but got {top}")
    check_trainable(space)
    metric = objective_for(table.task, objective)
    features = meta_features or compute_meta_features(table)
    view = kb if isinstance(kb, KBView) else load_view(kb, objective)
    notes: list[str] = []
    known = view.best_runs(table.fingerprint, metric)
    if view.learnable_runs(table.task) == 0:
        notes.append(
            f"the knowledge base has no runs of {table.task} datasets to learn from: "
            "showing the default ranking (recommender.portfolio)"
        )
        similar: tuple[SimilarDataset, ...] = ()
    else:
        similar = tuple(view.similar_datasets(features, table.fingerprint, metric, k=3))
        for name, value in view.shared_settings(space).items():
            notes.append(
                f"every run the suggestions are learned from has {name}={value}: they keep it, "
                "since the knowledge base cannot rank other values"
            )
    suggestions = rank_configs(
        view,
        space,
        features,
        table.task,
        top,
        n_samples=n_samples,
        seed=seed,
        cache_dir=cache_dir,
        exclude=table.fingerprint,
    )
    return SuggestResult(
        dataset_id=table.fingerprint,
        dataset_name=table.name,
        task=table.task,
        objective=metric,
        suggestions=suggestions,
        similar_datasets=similar,
        known_best_runs=tuple(known),
        meta_features=features,
        notes=tuple(table.notes) + tuple(notes),
    )


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
    candidates, origins = _candidates(view, space, n_samples, rng, near)
    shared = view.shared_settings(space)
    candidates = [{**candidate, **shared} for candidate in candidates]
    surrogate = fitted_surrogate(view, space, cache_dir, seed=seed)
    mean, std = surrogate.predict(view.feature_matrix(features, candidates, space))
    return _diverse_top(candidates, origins, mean, std, space, top)


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
    mean: np.ndarray,
    std: np.ndarray,
    space: SearchSpace,
    top: int,
    min_distance: float = 0.15,
) -> tuple[Suggestion, ...]:
    """Greedy top-k by lower confidence bound, skipping candidates too close to one picked."""
    encoded = space.encode(candidates)
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
            config=TrainConfig.from_dict(candidates[i]).to_dict(),
            predicted_score=float(mean[i]),
            uncertainty=float(std[i]),
            origin=origins[i],
        )
        for rank, i in enumerate(picked, start=1)
    )


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
            config=TrainConfig.from_dict(config).to_dict(),
            predicted_score=None,
            uncertainty=None,
            origin="default ranking",
        )
        for rank, config in enumerate(configs[:top], start=1)
    )
